"""What an import does in a collection: add last year's checks, apply the reviewer's
decisions, keep every file as a version of its unit's report, and record it in the ledger.

For each file, in this order (so a kill at any moment leaves things consistent and a rerun
completes them): the version's JSON is written to 导入/历史/, then the ledger records it in one
transaction, then the unit's latest accepted version is copied to 导入/.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tianbao.collection.decisions import STALE_RULE, apply_decisions
from tianbao.collection.folder import IMPORTED, Collection
from tianbao.collection.ledger import ACCEPTED, REJECTED, REOPENED, UNREADABLE, Decision, Ledger
from tianbao.form import Form
from tianbao.io.atomic import write_atomic
from tianbao.report import Report
from tianbao.reviews import place
from tianbao.rules.check import year_link_findings
from tianbao.stages.batch import report_filename
from tianbao.stages.intake import ImportOutcome
from tianbao.stages.previous import Previous


def previous_amender(form: Form, previous: Previous) -> Callable[[ImportOutcome], bool]:
    """Adds the form's cross-year findings (its `year_links` rules) against last year's report of the unit."""

    def amend(outcome: ImportOutcome) -> bool:
        report = outcome.report
        if report is None:
            return False
        before = previous.find(report.unit.code, report.unit.name)
        if before is None:
            return False
        found = year_link_findings(form, before, report)
        outcome.findings.extend(found)  # the report's findings are this same list
        return bool(found)

    return amend


def state_of(outcome: ImportOutcome) -> str:
    if outcome.report is None:
        return UNREADABLE
    return REJECTED if outcome.rejected else ACCEPTED


def finding_summary(outcome: ImportOutcome) -> list[dict[str, object]]:
    return [{"rule": f.rule, "severity": f.severity, "place": place(f), "found": f.found or "",
             "review": f.review.decision if f.review else ""} for f in outcome.findings]


class CollectionImport:
    """The hooks `import_batch` calls for a collection (see importer.BatchHooks)."""

    def __init__(self, collection: Collection, form: Form, previous: Previous | None) -> None:
        self.collection = collection
        self.form = form
        self.ledger = collection.ledger()
        self.decisions: dict[str, list[Decision]] = {}
        for decision in self.ledger.decisions():
            self.decisions.setdefault(decision.unit, []).append(decision)
        self.previous = previous_amender(form, previous) if previous is not None else None

    def close(self) -> None:
        self.ledger.close()

    def amend(self, outcome: ImportOutcome) -> bool:
        changed = self.previous(outcome) if self.previous is not None else False
        report = outcome.report
        if report is not None and report.unit.code in self.decisions:
            applied = apply_decisions(outcome.findings, self.decisions[report.unit.code])
            changed = changed or bool(applied.applied or applied.stale)
        return changed

    def record(self, outcome: ImportOutcome, text: str | None) -> Path | None:
        report = outcome.report
        unit = report.unit.code if report is not None else ""
        relative = ""
        if report is not None:
            known = self.ledger.version(unit, outcome.sha256)
            if known is not None and known.received_at:
                # A version keeps the time it first arrived: versions are rebuilt in that order.
                report.provenance.imported_at = known.received_at
                text = None
            stem = report_filename(report, outcome.name).removesuffix(".json")
            history = self.collection.history / f"{stem}_{outcome.sha256[:12]}.json"
            write_atomic(history, text or report.to_json())
            relative = history.relative_to(self.collection.root).as_posix()
        record_version(self.ledger, outcome, unit, relative)
        written = publish_latest(self.collection, self.ledger, unit, report)
        return written[0] if written is not None and written[1] == outcome.sha256 else None


def publish_latest(collection: Collection, ledger: Ledger, unit: str, report: Report | None) -> tuple[Path, str] | None:
    """导入/<unit>.json is the unit's latest accepted version (what a plain merge of 导入/ sums);
    returns it with the SHA-256 of the file that version came from."""
    latest = ledger.accepted().get(unit) if unit else None
    if latest is None or report is None:
        return None
    source = collection.root / latest.report_json
    target = collection.folder(IMPORTED) / report_filename(report, latest.source_file)
    write_atomic(target, source.read_bytes())
    return target, latest.sha256


def record_version(ledger: Ledger, outcome: ImportOutcome, unit: str, report_json: str) -> None:
    """One transaction: the version (new, or the same file read again) and its events."""
    state = state_of(outcome)
    errors = sum(1 for f in outcome.findings if f.is_error)
    warnings = sum(1 for f in outcome.findings if not f.is_error)
    open_errors = sum(1 for f in outcome.findings if f.blocking)
    open_warnings = sum(1 for f in outcome.findings if not f.is_error and f.review is None)
    stale = sum(1 for f in outcome.findings if f.rule == STALE_RULE)
    counts = (errors, warnings, open_errors, open_warnings, stale)
    with ledger.transaction() as db:
        row = db.execute("SELECT number, state FROM versions WHERE unit = ? AND sha256 = ?",
                         (unit, outcome.sha256)).fetchone()
        detail: dict[str, object] = {"errors": errors, "warnings": warnings, "open_errors": open_errors,
                                     "open_warnings": open_warnings, "findings": finding_summary(outcome)}
        if row is None:
            number = db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM versions WHERE unit = ?",
                                (unit,)).fetchone()[0]
            db.execute(
                "INSERT INTO versions (unit, number, sha256, source_file, received_at, state, errors, warnings, "
                "open_errors, open_warnings, stale, report_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (unit, number, outcome.sha256, outcome.name,
                 outcome.report.provenance.imported_at or "" if outcome.report else "", state, *counts, report_json),
            )
            ledger.add_event(db, "received", unit, outcome.name, outcome.sha256,
                             {"version": number, "outcome": state, **detail})
            if state == ACCEPTED:
                ledger.add_event(db, "accepted", unit, outcome.name, outcome.sha256, {"version": number})
            return
        number, before = row
        after = before if before == REOPENED else state  # a reopened version stays reopened
        db.execute("UPDATE versions SET state = ?, errors = ?, warnings = ?, open_errors = ?, open_warnings = ?, "
                   "stale = ?, report_json = ? WHERE unit = ? AND sha256 = ?",
                   (after, *counts, report_json, unit, outcome.sha256))
        if after != before:
            ledger.add_event(db, "rechecked", unit, outcome.name, outcome.sha256,
                             {"version": number, "outcome": after, "before": before, **detail})
            if after == ACCEPTED:
                ledger.add_event(db, "accepted", unit, outcome.name, outcome.sha256, {"version": number})
