"""Uploads through the import pipeline: the same reading, checks, limits and ledger records
as `tianbao import` in a collection.

One thread imports the uploads, in batches: whatever arrived while the last batch ran goes
through the worker pool (time limit per file, a worker killed with its file) together, so
workers start once per batch and not once per file when fifty units upload at once. The files
are read in parallel with anything else; their recording waits for the server's write lock
(`Portal.writing`), which the clerk's actions take too. A request waits for its upload's result.

An upload is stored before it is read, under a name the server chooses, in the collection's
网上报送/<unit>/ (beside 收回/, which holds what reached the clerk otherwise: `tianbao import
收回/` does not read these again). A workbook of another unit is kept there too but refused,
and not recorded as that unit's version: a link lets a unit report for itself only. A return
workbook sent back unchanged is kept and not recorded as a version either, as `tianbao import`
skips it (a `skipped` event).
"""

from __future__ import annotations

import queue
import secrets
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePath

from tianbao.collection.folder import RETURNED, Collection
from tianbao.collection.ledger import Version
from tianbao.collection.recorder import CollectionImport, state_of
from tianbao.collection.workflow import SKIPPED_RULE
from tianbao.form import Form
from tianbao.io.atomic import write_atomic
from tianbao.io.names import shown_path
from tianbao.report import Finding
from tianbao.reviews import place
from tianbao.stages.batch import Imported, import_many
from tianbao.stages.intake import ImportOutcome
from tianbao.stages.previous import Previous
from tianbao.workbook.limits import Limits

UPLOADS = "网上报送"
# What `tianbao import` can read (by content, after this first gate): workbooks, and published
# reports. Anything else is refused at the door and never stored.
ACCEPTED_SUFFIXES = (".xlsx", ".xls", ".et", ".ods", ".fods", ".docx", ".pdf", ".txt", ".md", ".html", ".htm")
FOREIGN = "foreign"  # an upload's outcome when the workbook is another unit's
SKIPPED = "skipped"  # an upload's outcome when it is a return workbook sent back unchanged


@dataclass(frozen=True)
class Upload:
    unit: str
    data: bytes
    suffix: str
    by: dict[str, str]  # who and from where, for the ledger


@dataclass(frozen=True)
class Received:
    """An upload read and recorded: its outcome and the ledger event that tells it."""

    outcome: ImportOutcome
    event: int


def source_file(collection: Collection, version: Version) -> Path | None:
    """The file a version was read from: uploaded here, or put in 收回/ and imported there."""
    for folder in (collection.root, collection.folder(RETURNED)):
        path = folder / version.source_file
        if version.source_file and path.is_file():
            return path
    return None


def finding_rows(findings: list[Finding], names: dict[str, str]) -> list[dict[str, object]]:
    """What a unit needs to act on each finding, as kept in the upload's ledger event."""
    return [{"severity": f.severity, "rule": f.rule, "name": names.get(f.rule, f.rule), "place": place(f),
             "expected": f.expected or "", "found": f.found or "", "message": f.message,
             "review": f.review.decision if f.review else "", "blocking": f.blocking} for f in findings]


class ImportDesk:
    def __init__(self, collection: Collection, form: Form, limits: Limits, writing: threading.Lock, *,
                 jobs: int = 2, previous: Previous | None = None) -> None:
        from tianbao.findings import check_names

        self.collection, self.form, self.limits, self.jobs, self.previous = collection, form, limits, jobs, previous
        self.writing = writing  # held while a batch is recorded: the server's one writer at a time
        self.names = check_names(form)
        self.roster = collection.roster(form)
        self.year = collection.year
        self.waiting: queue.Queue[tuple[Upload, Future[Received]] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._serve, name="tianbao-import-desk", daemon=True)
        self.thread.start()

    def submit(self, upload: Upload) -> Future[Received]:
        future: Future[Received] = Future()
        self.waiting.put((upload, future))
        return future

    def close(self) -> None:
        self.waiting.put(None)
        self.thread.join()

    def _serve(self) -> None:
        while True:
            first = self.waiting.get()
            if first is None:
                return
            batch = [first]
            while True:
                try:
                    following = self.waiting.get_nowait()
                except queue.Empty:
                    break
                if following is None:
                    self.waiting.put(None)  # stop after this batch
                    break
                batch.append(following)
            try:
                self._import(batch)
            except BaseException as exc:  # every waiting request gets the failure, the desk goes on
                for _upload, future in batch:
                    if not future.done():
                        future.set_exception(exc)

    def _store(self, upload: Upload) -> tuple[Path, str]:
        """The upload as a file under a name the server chose; nothing of the request's names."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        relative = PurePath(UPLOADS, upload.unit, f"{stamp}-{secrets.token_hex(3)}{upload.suffix}")
        path = self.collection.root / relative
        write_atomic(path, upload.data)
        return path, shown_path(Path(relative))

    def _import(self, batch: list[tuple[Upload, Future[Received]]]) -> None:
        stored = [self._store(upload) for upload, _future in batch]
        outcomes = list(import_many([path for path, _name in stored], self.form, roster=self.roster, year=self.year,
                                    limits=self.limits, names=dict(stored), jobs=min(self.jobs, len(batch))))
        with self.writing:  # the decisions the recorder applies are those of now, kept until it is done
            self._record(batch, outcomes)

    def _record(self, batch: list[tuple[Upload, Future[Received]]], outcomes: list[Imported]) -> None:
        recorder = CollectionImport(self.collection, self.form, self.previous)
        try:
            for (upload, future), (outcome, text) in zip(batch, outcomes, strict=True):
                claimed = outcome.report.unit.code if outcome.report is not None else upload.unit
                version = None
                if claimed != upload.unit:
                    state = FOREIGN
                elif outcome.unchanged_return:
                    state = SKIPPED
                else:
                    if recorder.amend(outcome):
                        text = None  # findings changed: render the JSON again
                    recorder.record(outcome, text if isinstance(text, str) else None)
                    state = state_of(outcome)
                    known = recorder.ledger.version(upload.unit, outcome.sha256) if outcome.report else None
                    version = known.number if known is not None else None
                with recorder.ledger.transaction() as db:
                    if state == SKIPPED:
                        recorder.ledger.add_event(db, "skipped", upload.unit, outcome.name, outcome.sha256,
                                                  {"rule": SKIPPED_RULE, **upload.by})
                    recorder.ledger.add_event(db, "uploaded", upload.unit, outcome.name, outcome.sha256, {
                        **upload.by, "outcome": state, "version": version, "other_unit": "" if claimed ==
                        upload.unit else claimed, "findings": finding_rows(outcome.findings, self.names)})
                    event = int(db.execute("SELECT last_insert_rowid()").fetchone()[0])
                future.set_result(Received(outcome, event))
        finally:
            recorder.close()
