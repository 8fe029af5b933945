"""Reviewer decisions: read from findings.xlsx (审核处理, 审核说明) or given on the command line,
stored in the ledger, and applied at once to each unit's latest version."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tianbao.collection.decisions import STALE_RULE, apply_decisions, check_decision
from tianbao.collection.folder import IMPORTED, Collection
from tianbao.collection.ledger import ACCEPTED, REOPENED, Ledger, now
from tianbao.collection.recorder import publish_latest, record_version
from tianbao.errors import ReportLoadError, UserError
from tianbao.io.atomic import write_atomic
from tianbao.io.reports import load_report
from tianbao.report import Finding, Report
from tianbao.reviews import BY_LABEL, LABELS, place
from tianbao.stages.batch import report_filename
from tianbao.stages.intake import ImportOutcome


@dataclass(frozen=True)
class Proposed:
    unit: str
    rule: str
    place: str
    found: str
    decision: str
    reason: str
    is_error: bool
    where: str  # for messages: "findings.xlsx 第 5 行" or the command line


@dataclass
class ReviewResult:
    recorded: int = 0
    unchanged: int = 0
    problems: list[str] | None = None
    units: set[str] | None = None


def read_findings_workbook(path: Path) -> list[Proposed]:
    """The rows of 问题清单 where the reviewer chose a 审核处理."""
    import openpyxl

    if not path.is_file():
        raise UserError(f"找不到问题清单文件：{path}")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise UserError(f"{path.name}：无法读取问题清单（{type(exc).__name__}）") from exc
    try:
        if "问题清单" not in book.sheetnames or "文件清单" not in book.sheetnames:
            raise UserError(f"{path.name} 不是 tianbao import 生成的问题清单（缺少“问题清单”或“文件清单”工作表）")
        files = _rows(book["文件清单"])
        findings = _rows(book["问题清单"])
    finally:
        book.close()
    if not findings or "审核处理" not in findings[0]:
        raise UserError(f"{path.name} 没有“审核处理”一列：请用新版 tianbao import 重新生成问题清单")
    units = {row.get("文件", ""): row.get("单位代码", "") for row in files[1:]}
    proposed = []
    for number, row in enumerate(findings[1:], start=2):
        label = row.get("审核处理", "").strip()
        if not label:
            continue
        decision = BY_LABEL.get(label)
        where = f"{path.name} 第 {number} 行"
        if decision is None:
            raise UserError(f"{where}：审核处理“{label}”无法识别，应为 {'、'.join(LABELS.values())}")
        sheet, cell = row.get("工作表", ""), row.get("单元格", "")
        spot = f"{sheet}!{cell}" if sheet and cell else sheet
        proposed.append(Proposed(units.get(row.get("文件", ""), ""), row.get("规则", ""), spot, row.get("实为", ""),
                                 decision, row.get("审核说明", "").strip(), row.get("严重程度", "").startswith("错误"),
                                 where))
    return proposed


def _rows(sheet: object) -> list[dict[str, str]]:
    rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]  # type: ignore[attr-defined]
    if not rows:
        return []
    header = rows[0]
    return [dict(zip(header, header, strict=False))] + [dict(zip(header, row, strict=False)) for row in rows[1:]]


def latest_finding(ledger: Ledger, root: Path, unit: str, rule: str, spot: str) -> Finding:
    """The finding a command-line decision is about, in the unit's latest version."""
    versions = ledger.versions(unit)
    if not versions:
        raise UserError(f"收集台账中没有单位 {unit} 的报送文件")
    report = _load(root, versions[-1].report_json)
    for finding in report.findings:
        if finding.rule == rule and place(finding) == spot:
            return finding
    raise UserError(f"单位 {unit} 最新一版（第 {versions[-1].number} 版）中"
                    f"没有规则 {rule} 在 {spot or '整个文件'} 的问题")


def _load(root: Path, relative: str) -> Report:
    if not relative:
        raise UserError("这一版没有可读取的报告（文件无法读取），不能对它作审核决定")
    try:
        return load_report(root / relative)
    except ReportLoadError as exc:
        raise UserError(str(exc)) from exc


def record_decisions(collection: Collection, proposed: list[Proposed]) -> ReviewResult:
    """Store valid decisions (one transaction each) and re-judge the latest version of every unit touched."""
    result = ReviewResult(problems=[], units=set())
    with collection.ledger() as ledger:
        known = {(d.unit, d.rule, d.place, d.found): d for d in ledger.decisions()}
        for item in proposed:
            problem = check_decision(item.decision, item.is_error, item.reason)
            if not item.unit:
                problem = "找不到这一行对应的单位（文件无法读取）"
            if problem:
                result.problems.append(f"{item.where}：{problem}")  # type: ignore[union-attr]
                continue
            old = known.get((item.unit, item.rule, item.place, item.found))
            if old is not None and (old.decision, old.reason) == (item.decision, item.reason):
                result.unchanged += 1
                continue
            with ledger.transaction() as db:
                db.execute("INSERT OR REPLACE INTO decisions (unit, rule, place, found, decision, reason, decided_at) "
                           "VALUES (?,?,?,?,?,?,?)",
                           (item.unit, item.rule, item.place, item.found, item.decision, item.reason, now()))
                ledger.add_event(db, "decision", item.unit, detail={
                    "rule": item.rule, "place": item.place, "found": item.found, "decision": item.decision,
                    "reason": item.reason, "by": item.where})
            result.recorded += 1
            result.units.add(item.unit)  # type: ignore[union-attr]
        for unit in sorted(result.units):  # type: ignore[arg-type]
            rejudge(collection, ledger, unit)
    return result


def rejudge(collection: Collection, ledger: Ledger, unit: str) -> None:
    """Apply the unit's decisions to its latest version now, without waiting for a re-import."""
    versions = ledger.versions(unit)
    if not versions or not versions[-1].report_json:
        return
    latest = versions[-1]
    path = collection.root / latest.report_json
    report = _load(collection.root, latest.report_json)
    findings = [f for f in report.findings if f.rule != STALE_RULE]
    for finding in findings:
        finding.review = None
    apply_decisions(findings, ledger.decisions(unit))
    report.findings = findings
    write_atomic(path, report.to_json())
    outcome = ImportOutcome(Path(latest.source_file), report, findings, latest.sha256, latest.source_file)
    record_version(ledger, outcome, unit, latest.report_json)
    publish_latest(collection, ledger, unit, report)


def reopen(collection: Collection, unit: str, reason: str, by: str = "命令行") -> int:
    """The unit's accepted report goes back to the unit; returns the version reopened. `by`
    says who did it (the command line, or the portal's clerk and address) for the ledger."""
    if not reason.strip():
        raise UserError("重新打开已接收的报告必须用 --reason 写明原因")
    with collection.ledger() as ledger:
        accepted = ledger.accepted().get(unit)
        if accepted is None:
            raise UserError(f"单位 {unit} 没有已接收的报告，无需重新打开")
        with ledger.transaction() as db:
            db.execute("UPDATE versions SET state = ? WHERE unit = ? AND state = ?", (REOPENED, unit, ACCEPTED))
            ledger.add_event(db, "reopened", unit, accepted.source_file, accepted.sha256,
                             {"version": accepted.number, "reason": reason, "by": by})
        report = _load(collection.root, accepted.report_json)
        (collection.folder(IMPORTED) / report_filename(report, accepted.source_file)).unlink(missing_ok=True)
    return accepted.number

