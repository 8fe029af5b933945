"""Many files in: `tianbao import` and `check` over a batch, each file under the time limit.

`import_many` reads files in worker processes (`stages.pool`), each cut off after
`limits.max_seconds`, and yields outcomes in input order; `read_limited` does the same for
one file (annotate); `import_batch` writes one JSON per accepted report as soon as its turn
comes, settles duplicates and sets stale JSON aside (`stages.settle`), then writes
findings.csv/.xlsx, holding a cross-platform lock on the output folder. Its workers render
and write each report's JSON under a temporary name in the output folder; the parent only
flushes it to disk (in threads, whose waits overlap) and renames it into place, in input
order, so that its own share of the work stays small and two workers keep two cores busy. In a collection
(`BatchHooks.record`), the ledger keeps every file of a unit as a version instead.

The module is longer than ~400 lines because the batch's order, duplicate, stale-JSON and
kill-safety rules and the findings files they feed are read together.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePath
from typing import Any

from tianbao.errors import UserError
from tianbao.findings import SEVERITY_FILLS, check_names, emit
from tianbao.form import Form, resolve_form
from tianbao.io.atomic import settle, stage, write_atomic
from tianbao.io.names import safe_filename, shown_name
from tianbao.io.roster import Roster
from tianbao.io.tables import csv_text, xlsx_listing
from tianbao.report import Report
from tianbao.reviews import LABELS, review_label, severity_label
from tianbao.stages.intake import ImportOutcome, import_file, import_read
from tianbao.stages.pool import Failed, TimedPool
from tianbao.stages.settle import Earlier, History, UnitKey, earlier_report, newer, settle_duplicates, unit_key
from tianbao.workbook.limits import DEFAULT_LIMITS, Limits
from tianbao.workbook.read import ReadOptions, ReadResult

FINDINGS_CSV = "findings.csv"
FINDINGS_XLSX = "findings.xlsx"
# Held while an import writes into a folder: a second import into it waits its turn.
LOCK_FILE = ".tianbao-import.lock"
# What write_atomic leaves behind when a process is killed mid-write.
_LEFTOVER = re.compile(r"^\..+\.(json|csv|xlsx)\.[A-Za-z0-9_]+\.tmp$")


@dataclass
class BatchHooks:
    """amend(outcome) -> True when it changed the findings (then the JSON is rendered again);
    record(outcome, its JSON or None) -> the report JSON it wrote, taking over writing,
    duplicates and stale JSON (a collection keeps every file of a unit as a version)."""

    amend: Callable[[ImportOutcome], bool] | None = None
    record: Callable[[ImportOutcome, str | None], Path | None] | None = None


@dataclass
class BatchResult:
    outcomes: list[ImportOutcome]
    written: dict[Path, Path] = field(default_factory=dict)  # source -> JSON
    # Report JSONs an earlier import left that no longer hold, moved into the history folder.
    set_aside: list[Path] = field(default_factory=list)
    # Return workbooks sent back unchanged: read, then left out (no JSON, no finding, no version).
    skipped: list[ImportOutcome] = field(default_factory=list)

    @property
    def accepted(self) -> list[ImportOutcome]:
        return [o for o in self.outcomes if not o.rejected]

    @property
    def rejected(self) -> list[ImportOutcome]:
        return [o for o in self.outcomes if o.rejected]


_WORKER: dict[str, Form] = {}
# An outcome and, when accepted, its report JSON: the text, or (with `stage_in`) the
# temporary file the worker wrote it to, to be renamed into place or removed.
Imported = tuple[ImportOutcome, str | Path | None]


def _worker_form(source: str) -> Form:
    """The form in a pool process: inherited when forked, loaded once when spawned."""
    form = _WORKER.get(source)
    if form is None:
        form = _WORKER[source] = resolve_form(source)
    return form


def _import_one(item: tuple[Path, str], form: Form, options: dict[str, object], stage_in: Path | None) -> Imported:
    path, name = item
    outcome = import_file(path, form, name=name, **options)  # type: ignore[arg-type]
    if outcome.report is None or outcome.rejected or outcome.unchanged_return:
        return outcome, None
    text = outcome.report.to_json()
    # Not flushed here: the parent's threads wait for the disk while this worker reads on.
    return outcome, (stage(stage_in, "report.json", text, durable=False) if stage_in is not None else text)


def _worker_import(source: str, options: dict[str, object], stage_in: Path | None, item: tuple[Path, str]) -> Imported:
    """One file in a pool process; its JSON is rendered (and with `stage_in` written) there too, in parallel."""
    return _import_one(item, _worker_form(source), options, stage_in)


def import_many(
    paths: list[Path], form: Form, *, roster: Roster | None = None, year: int | None = None, strict: bool = False,
    convert: bool = False, jobs: int = 1, limits: Limits = DEFAULT_LIMITS, names: dict[Path, str] | None = None,
    unit_name: str | None = None, stage_in: Path | None = None,
) -> Iterator[Imported]:
    """(outcome, report JSON or None) for every file, in input order; `names` says how each
    file is shown (default: its name). With `stage_in` (a folder) each accepted report's
    JSON is written there under a temporary name (`io.atomic.stage`) and that file is given.

    Each file is read in a worker process and cut off after `limits.max_seconds` (a file
    that hangs or exhausts its worker is reported and the batch goes on); with max_seconds
    0 the files are read in this process, one after another."""
    options = {"roster": roster, "year": year, "strict": strict, "convert": convert, "limits": limits,
               "unit_name": unit_name}
    items = [(path, (names or {}).get(path) or shown_name(path.name)) for path in dict.fromkeys(paths)]
    if limits.max_seconds <= 0:
        for item in items:
            yield _import_one(item, form, options, stage_in)
        return
    _WORKER[form.source] = form  # forked workers inherit the loaded form
    pool = TimedPool(partial(_worker_import, form.source, options, stage_in), jobs, limits.max_seconds)
    done: dict[tuple[Path, str], Imported] = {}
    following = 0
    for item, result in pool.run(items):
        done[item] = (_failed(item, result, limits), None) if isinstance(result, Failed) else result
        while following < len(items) and items[following] in done:
            yield done.pop(items[following])
            following += 1


def _worker_read(source: str, options: ReadOptions, convert: bool, limits: Limits,
                 path: Path) -> tuple[ImportOutcome, ReadResult | None]:
    return import_read(path, _worker_form(source), options, convert, limits)


def read_limited(path: Path, form: Form, options: ReadOptions, convert: bool,
                 limits: Limits) -> tuple[ImportOutcome, ReadResult | None]:
    """`import_read` of one file in a worker process, under the same limits as a batch."""
    if limits.max_seconds <= 0:
        return import_read(path, form, options, convert, limits)
    _WORKER[form.source] = form
    pool = TimedPool(partial(_worker_read, form.source, options, convert, limits), 1, limits.max_seconds)
    [(_path, result)] = list(pool.run([path]))  # one item in, one result out
    return (_failed((path, shown_name(path.name)), result, limits), None) if isinstance(result, Failed) else result


def _failed(item: tuple[Path, str], failure: Failed, limits: Limits) -> ImportOutcome:
    path, name = item
    if failure.reason == "timeout":
        seconds = f"{limits.max_seconds:g}"
        finding = emit("file.timeout", expected=f"不超过 {seconds} 秒（max_seconds）", found=f"超过 {seconds} 秒",
                       seconds=seconds)
    else:
        finding = emit("file.unreadable", "worker")
    try:
        sha = hashlib.sha256(path.read_bytes()).hexdigest() if path.stat().st_size <= limits.max_file_bytes else ""
    except OSError:
        sha = ""
    return ImportOutcome(path, None, [finding], sha, name)


def import_batch(
    paths: list[Path], form: Form, outdir: Path, *, roster: Roster | None = None, year: int | None = None,
    strict: bool = False, convert: bool = False, jobs: int = 1, limits: Limits = DEFAULT_LIMITS,
    names: dict[Path, str] | None = None, latest: bool = False,
    on_done: Callable[[ImportOutcome], None] | None = None, on_wait: Callable[[], None] | None = None,
    unit_name: str | None = None, hooks: BatchHooks | None = None,
) -> BatchResult:
    """Import every file; write one JSON per accepted report plus findings.csv/.xlsx.

    The folder then holds the latest import of these inputs: a report JSON an earlier import
    left for one of them (the same file, or the same unit) that this import does not write
    again is moved into 历史/<time>/, and so is one this import replaces with another file's.
    Two files for one unit are both refused; with `latest` the one saved last is taken. A
    return workbook sent back unchanged is left out (`BatchResult.skipped`).

    Safe to kill and run again: each JSON is written atomically as soon as its file and every
    file before it are read (so names are decided in input order, as in an uninterrupted
    run); what no longer holds is set aside, and findings.csv/.xlsx written, last. Imports
    into the same folder take turns: `on_wait` is called when another one holds the folder.
    `hooks` (the collection ledger, or last year's checks) may add findings to each outcome
    before it is judged, and take over recording each file."""
    paths = list(dict.fromkeys(paths))
    try:
        return _Batch(form, outdir, latest, hooks or BatchHooks()).run(
            paths, names or {}, {"roster": roster, "year": year, "strict": strict, "convert": convert, "jobs": jobs,
                                 "limits": limits, "unit_name": unit_name}, on_done, on_wait)
    except OSError as exc:  # reading inputs never raises: this is the output folder
        raise UserError(f"无法写入输出文件夹 {shown_name(str(outdir))}（{exc.strerror or exc}）") from exc


class _Batch:
    """One import into one output folder, holding its lock."""

    def __init__(self, form: Form, outdir: Path, latest: bool, hooks: BatchHooks) -> None:
        self.form, self.outdir, self.latest, self.hooks = form, outdir, latest, hooks
        self.history = History(outdir)
        self.result = BatchResult([], set_aside=self.history.moved)
        self.wrote: set[Path] = set()
        self.earlier: dict[Path, Earlier] = {}

    def run(self, paths: list[Path], names: dict[Path, str], options: dict[str, Any],
            on_done: Callable[[ImportOutcome], None] | None, on_wait: Callable[[], None] | None) -> BatchResult:
        self.outdir.mkdir(parents=True, exist_ok=True)
        with _folder_lock(self.outdir, on_wait), ThreadPoolExecutor(max_workers=8) as writers:
            _remove_leftovers(self.outdir)
            self.earlier = {path: found for path in sorted(self.outdir.glob("*.json"))
                            if (found := earlier_report(path)) is not None}
            chosen: dict[UnitKey, ImportOutcome] = {}  # the file each unit's JSON now holds
            claims: dict[UnitKey, list[ImportOutcome]] = {}
            targets: dict[UnitKey, Path] = {}
            used: set[str] = set()
            pending: dict[Path, Future[None]] = {}
            # A collection's ledger writes its own versions; otherwise the workers write each JSON.
            stage_in = self.outdir if self.hooks.record is None else None
            for outcome, rendered in import_many(paths, self.form, names=names, stage_in=stage_in, **options):
                staged = rendered if isinstance(rendered, Path) else None
                text = rendered if isinstance(rendered, str) else None
                if outcome.unchanged_return:
                    self.result.skipped.append(outcome)
                    if on_done:
                        on_done(outcome)
                    continue
                self.result.outcomes.append(outcome)
                report = outcome.report
                if self.hooks.amend is not None and self.hooks.amend(outcome):
                    text = None  # findings changed: render the JSON again
                    _discard(staged)
                    staged = None
                if self.hooks.record is not None:  # a collection: the ledger keeps the unit's versions
                    recorded = self.hooks.record(outcome, text)
                    if recorded is not None:
                        self.result.written[outcome.source] = recorded
                elif not outcome.rejected and report is not None:
                    key = unit_key(report)
                    claims.setdefault(key, []).append(outcome)
                    if key not in targets:
                        targets[key] = self.outdir / _unique(report_filename(report, outcome.name), used)
                    if key not in chosen or (self.latest and newer(outcome, chosen[key])):
                        chosen[key] = outcome
                        target = targets[key]
                        if target in pending:  # the same file: one write after the other
                            pending[target].result()
                        # Each file is flushed to disk before its rename; threads let those waits overlap.
                        pending[target] = writers.submit(self._write, target, staged or text or report.to_json(),
                                                         outcome.sha256)
                        staged = None
                _discard(staged)  # not taken: refused, or another file holds the unit
                if on_done:
                    on_done(outcome)
            for write in pending.values():
                write.result()
            for key, group in claims.items():
                kept = settle_duplicates(group, self.latest)
                if kept is not None:
                    self.result.written[kept.source] = targets[key]
                    if len(group) > 1 and kept.report is not None:  # its JSON now notes the others
                        write_atomic(targets[key], kept.report.to_json())
            if self.hooks.record is None:
                self._set_aside_stale()
            write_atomic(self.outdir / FINDINGS_CSV, findings_csv(self.result, self.form))
            write_atomic(self.outdir / FINDINGS_XLSX, findings_xlsx(self.result, self.form))
            _remove_leftovers(self.outdir)  # what a worker killed while writing left behind
        return self.result

    def _write(self, target: Path, content: str | Path, sha256: str) -> None:
        """Write a report JSON (its text, or the file a worker staged); one an earlier import
        left there from another file goes to history."""
        before = self.earlier.get(target)
        if before is not None and before.sha256 != sha256 and target.exists():
            self.history.set_aside(target)
        if isinstance(content, Path):
            settle(content, target)
        else:
            write_atomic(target, content)
        self.wrote.add(target)

    def _set_aside_stale(self) -> None:
        """Earlier report JSONs of this import's inputs (same file or same unit) that it did
        not write again: that file or unit is refused now, so its old numbers must not stay."""
        written = set(self.result.written.values())
        names = {o.name for o in self.result.outcomes}
        units = {unit_key(o.report) for o in self.result.outcomes if o.report is not None}
        for path in sorted(self.outdir.glob("*.json")):
            if path in written:
                continue
            before = self.earlier.get(path)
            if before is None and path in self.wrote:  # written by this import, then refused as a duplicate
                path.unlink()
            elif before is not None and (before.source_file in names or before.key in units):
                self.history.set_aside(path)


@contextmanager
def _folder_lock(folder: Path, on_wait: Callable[[], None] | None) -> Iterator[None]:
    """An exclusive lock on `folder` for one import; released by the OS if the process dies."""
    path = folder / LOCK_FILE
    while True:
        handle = path.open("a+b")
        if not _lock(handle, wait=False):
            if on_wait:
                on_wait()
                on_wait = None
            _lock(handle, wait=True)
        try:  # the holder before us may have removed the file: then lock the new one
            if os.path.samestat(os.fstat(handle.fileno()), os.stat(path)):
                break
        except FileNotFoundError:
            pass
        handle.close()
    try:
        yield
    finally:
        if os.name != "nt":  # an open file cannot be removed on Windows; it stays, harmless
            path.unlink(missing_ok=True)
        handle.close()


def _lock(handle: io.BufferedRandom, wait: bool) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        while True:
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
                return True
            except OSError:
                if not wait:
                    return False
                time.sleep(0.2)
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        return True
    except BlockingIOError:
        return False


def _discard(staged: Path | None) -> None:
    if staged is not None:
        staged.unlink(missing_ok=True)


def _remove_leftovers(folder: Path) -> None:
    """Temp files of an import that was killed mid-write (only while holding the lock)."""
    for path in folder.iterdir():
        if _LEFTOVER.match(path.name) and path.is_file():
            path.unlink(missing_ok=True)


def report_filename(report: Report, source: str) -> str:
    """The JSON's file name: unit code, name and year (else the stem of `source`, as shown)."""
    parts = [p for p in (report.unit.code, report.unit.name) if p] or [PurePath(source).stem]
    name = "_".join([*parts, str(report.year)]) if report.year else "_".join(parts)
    return safe_filename(name).strip(" .") + ".json"


def _unique(name: str, used: set[str]) -> str:
    stem, candidate, number = name.removesuffix(".json"), name, 2
    while candidate in used:
        candidate = f"{stem}_{number}.json"
        number += 1
    used.add(candidate)
    return candidate


# ---------------------------------------------------------------------------------------
# Findings files

FINDING_HEADER = ["文件", "导入结果", "严重程度", "规则", "规则名称", "工作表", "单元格", "应为", "实为", "说明",
                  "审核处理", "审核说明"]
# The reviewer's choice, read back by `tianbao review`.
REVIEW_COLUMN = FINDING_HEADER.index("审核处理")
# Widths (Excel characters) that fill a landscape A4 page: the listings print unscaled.
FINDING_WIDTHS = [14, 11, 8, 8, 12, 8, 7, 8, 8, 33, 8, 12]
FILE_HEADER = ["文件", "导入结果", "单位代码", "单位名称", "年度", "错误数", "警告数", "输出文件", "SHA-256"]
FILE_WIDTHS = [18, 10, 10, 18, 6, 6, 6, 24, 27]


def status(outcome: ImportOutcome) -> str:
    if outcome.rejected:
        return "退回"
    if any(f.blocking for f in outcome.findings):
        return "接收（已发布的年报，有错误）"
    return "接收（有警告）" if outcome.findings else "接收"  # warnings, or errors a reviewer overrode


def _finding_rows(result: BatchResult, names: dict[str, str]) -> list[list[str]]:
    rows = []
    for outcome in result.outcomes:
        for f in outcome.findings:
            rows.append([outcome.name, status(outcome), severity_label(f), f.rule, names.get(f.rule, ""),
                         f.sheet or "", f.cell or "", f.expected or "", f.found or "", f.message,
                         review_label(f), f.review.reason if f.review else ""])
    return rows


def _file_rows(result: BatchResult) -> list[list[str | int]]:
    rows: list[list[str | int]] = []
    for outcome in result.outcomes:
        report = outcome.report
        written = result.written.get(outcome.source)
        rows.append([
            outcome.name, status(outcome),
            report.unit.code if report else "", report.unit.name if report else "",
            report.year if report and report.year else "", sum(1 for f in outcome.findings if f.is_error),
            outcome.warnings, shown_name(written.name) if written else "", outcome.sha256,
        ])
    return rows


# Each severity label of findings.xlsx with the fill of its severity.
SEVERITY_LABEL_FILLS = {"错误": SEVERITY_FILLS["error"], "错误（已覆盖）": SEVERITY_FILLS["error"],
                        "警告": SEVERITY_FILLS["warning"]}


def findings_csv(result: BatchResult, form: Form) -> str:
    return csv_text(FINDING_HEADER, _finding_rows(result, check_names(form)))  # type: ignore[arg-type]


def findings_xlsx(result: BatchResult, form: Form) -> bytes:
    rows = _finding_rows(result, check_names(form))
    return xlsx_listing([
        ("问题清单", FINDING_HEADER, rows, FINDING_WIDTHS),  # type: ignore[list-item]
        ("文件清单", FILE_HEADER, _file_rows(result), FILE_WIDTHS),
    ], choices={"问题清单": (REVIEW_COLUMN, list(LABELS.values()))},
        colours={"问题清单": (FINDING_HEADER.index("严重程度"), SEVERITY_LABEL_FILLS)})
