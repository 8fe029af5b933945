"""Rebuild the ledger's versions from the report JSON it points to (导入/历史/).

Decisions recorded in the JSON (each finding's `review`) are restored too; a reopened
version stays reopened (the reopen events are kept). Distribution, return and reopen events
are not touched.
"""

from __future__ import annotations

from pathlib import Path

from tianbao.collection.folder import Collection
from tianbao.collection.ledger import ACCEPTED, REOPENED
from tianbao.collection.recorder import publish_latest, record_version
from tianbao.errors import ReportLoadError
from tianbao.form import Form
from tianbao.io.reports import load_report
from tianbao.report import Report
from tianbao.reviews import key
from tianbao.stages.intake import ImportOutcome

REBUILT_KINDS = ("received", "accepted", "rechecked")


def rebuild_versions(collection: Collection, form: Form) -> int:
    reports: list[tuple[str, str, Path, Report]] = []
    for path in sorted(collection.history.glob("*.json")):
        try:
            report = load_report(path, form)
        except ReportLoadError:
            continue
        provenance = report.provenance
        if provenance.sha256:
            # First arrival, then the returned file's name (files arriving in the same second).
            reports.append((provenance.imported_at or "", provenance.source_file or path.name, path, report))
    reports.sort(key=lambda item: (item[0], item[1]))
    with collection.ledger() as ledger:
        reopened = {(e.unit, e.sha256) for e in ledger.events(kind="reopened")}
        with ledger.transaction() as db:
            db.execute("DELETE FROM versions")
            db.executemany("DELETE FROM events WHERE kind = ?", [(kind,) for kind in REBUILT_KINDS])
            for _at, _name, _path, report in reports:
                for finding in report.findings:
                    if finding.review is not None:
                        rule, spot, found = key(finding)
                        db.execute("INSERT OR IGNORE INTO decisions (unit, rule, place, found, decision, reason, "
                                   "decided_at) VALUES (?,?,?,?,?,?,?)",
                                   (report.unit.code, rule, spot, found, finding.review.decision,
                                    finding.review.reason, finding.review.decided_at or ""))
        for _at, _name, path, report in reports:
            source = Path(report.provenance.source_file or path.name)
            outcome = ImportOutcome(source, report, report.findings, report.provenance.sha256 or "", source.as_posix())
            relative = path.relative_to(collection.root).as_posix()
            record_version(ledger, outcome, report.unit.code, relative)
            if (report.unit.code, outcome.sha256) in reopened:
                with ledger.transaction() as db:
                    db.execute("UPDATE versions SET state = ? WHERE unit = ? AND sha256 = ? AND state = ?",
                               (REOPENED, report.unit.code, outcome.sha256, ACCEPTED))
        for unit in {report.unit.code for *_, report in reports}:
            publish_latest(collection, ledger, unit, next(r for *_, r in reports if r.unit.code == unit))
    return len(reports)
