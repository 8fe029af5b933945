"""What the portal's pages show and do, without the web: a unit's versions, findings and
decisions, its return workbook, and the district merge with its preview. Each action is the
command line's own (`tianbao annotate`, `review`, `merge`, `publish`), recorded in the ledger
with who did it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tianbao.collection.folder import MERGED, PUBLISHED, RETURN_WORKBOOKS, Collection
from tianbao.collection.ledger import Decision, Event, Ledger, Version
from tianbao.collection.status import UnitStatus, collection_status
from tianbao.errors import ReportLoadError, UserError
from tianbao.form import Form
from tianbao.io.reports import load_report
from tianbao.io.roster import RosterUnit
from tianbao.portal.desk import source_file
from tianbao.report import Finding
from tianbao.reviews import LABELS, place, severity_label
from tianbao.workbook.limits import Limits

DISTRICT_JSON = "district.json"
PREVIEW = "全区年报预览.html"
STATE_LABELS = {"accepted": "已接收", "rejected": "退回修改", "reopened": "已重新打开", "unreadable": "无法读取",
                "foreign": "不是本单位的工作簿", "skipped": "未修改的退回工作簿，未作为新的一版"}

EVENT_LABELS = {
    "created": "建立收集文件夹", "distributed": "下发填报表", "received": "收到报送文件", "accepted": "接收",
    "rechecked": "重新判定", "decision": "审核决定", "reopened": "重新打开", "returned": "生成退回工作簿",
    "skipped": "跳过未修改的退回工作簿", "merged": "汇总", "published": "发布", "link_issued": "发放网上报送链接",
    "uploaded": "网上报送", "downloaded": "下载填报表", "portal_login": "审核人员登录",
    "portal_login_failed": "登录失败", "portal_password": "设置审核密码", "portal_download": "下载催报名单",
}


@dataclass(frozen=True)
class FindingLine:
    """One finding as a page shows it."""

    rule: str
    name: str
    severity: str  # 错误, 错误（已覆盖）, 警告
    is_error: bool
    place: str
    expected: str
    found: str
    message: str
    review: str  # the reviewer's decision, as labelled
    reason: str


def finding_lines(findings: list[Finding], names: dict[str, str]) -> list[FindingLine]:
    return [FindingLine(f.rule, names.get(f.rule, f.rule), severity_label(f), f.is_error, place(f), f.expected or "",
                        f.found or "", f.message, LABELS[f.review.decision] if f.review else "",
                        f.review.reason if f.review else "") for f in findings]


def event_lines(rows: list[dict[str, object]]) -> list[FindingLine]:
    """The findings an upload's ledger event kept (for a file that gave no report)."""
    return [FindingLine(str(r["rule"]), str(r["name"]), "错误" if r["severity"] == "error" else "警告",
                        r["severity"] == "error", str(r["place"]), str(r["expected"]), str(r["found"]),
                        str(r["message"]), "", "") for r in rows]


@dataclass
class UnitView:
    unit: RosterUnit
    status: UnitStatus
    versions: list[Version]
    latest: list[FindingLine]  # findings of the latest version
    decisions: list[Decision]
    events: list[Event]
    uploads: list[Event] = field(default_factory=list)
    damaged: bool = False  # the latest version's findings cannot be read (its JSON is damaged or gone)


def unit_view(collection: Collection, form: Form, ledger: Ledger, code: str, names: dict[str, str]) -> UnitView:
    roster = collection.roster(form)
    unit = roster.by_code().get(code)
    if unit is None:
        raise UserError(f"名单中没有单位 {code}")
    status = next(line for line in collection_status(ledger, roster).units if line.unit.code == code)
    versions = ledger.versions(code)
    found = version_findings(collection, versions[-1]) if versions else []
    events = ledger.events(unit=code)
    uploads = [e for e in events if e.kind == "uploaded"]
    return UnitView(unit, status, versions, finding_lines(found or [], names), ledger.decisions(code), events,
                    uploads, damaged=found is None)


def version_findings(collection: Collection, version: Version) -> list[Finding] | None:
    """The version's findings; None when its JSON cannot be read, which a page must say rather
    than show as a version without findings. A file that gave no report has none."""
    if not version.report_json:
        return []
    try:
        return load_report(collection.root / version.report_json).findings
    except ReportLoadError:
        return None


def return_workbook(collection: Collection, form: Form, version: Version, limits: Limits, by: dict[str, str]) -> Path:
    """The return workbook of a version (`tianbao annotate` of the file it came from), made
    once and kept in 退回/."""
    from tianbao.collection.workflow import record_event
    from tianbao.stages.annotate import annotate

    source = source_file(collection, version)
    if source is None or not version.report_json:
        raise UserError("这一版的原文件不在收集文件夹中，或无法读取，不能生成退回修改用的工作簿")
    target = collection.folder(RETURN_WORKBOOKS) / f"退回_{version.unit}_第{version.number}版_{version.sha256[:8]}.xlsx"
    if not target.is_file():
        annotate(source, form, target, roster=collection.roster(form), year=collection.year, limits=limits)
        record_event(collection, "returned", version.unit, target,
                     {"source_file": version.source_file, "source_sha256": version.sha256, **by})
    return target


@dataclass(frozen=True)
class MergeSummary:
    summed: int
    counts: dict[str, int]
    owing: list[tuple[str, str, str]]  # code, name, status
    problems: int


def run_merge(collection: Collection, form: Form, unit_name: str, unit_code: str, limits: Limits,
              by: dict[str, str]) -> MergeSummary:
    """`tianbao merge` in the collection, then the district report as HTML for the preview."""
    from tianbao.collection import workflow
    from tianbao.document.publish import publish
    from tianbao.stages.merge import MergeOptions, merge
    from tianbao.stages.summary import write_outputs

    target = collection.folder(MERGED)
    options = MergeOptions(year=collection.year, unit_name=unit_name or None, unit_code=unit_code or None,
                           limits=limits)
    result = merge(form, workflow.merge_inputs(collection), collection.roster_path, options, target)
    written = write_outputs(result, target)
    workflow.record_event(collection, "merged", file=written[0], detail={"summed": len(result.summed), **by})
    publish(target / DISTRICT_JSON, collection.folder(PUBLISHED) / PREVIEW, force=True)
    counts: dict[str, int] = {}
    for entry in result.entries:
        counts[entry.status] = counts.get(entry.status, 0) + 1
    owing = [(e.code, e.name, e.status) for e in result.entries if e.owing]
    return MergeSummary(len(result.summed), counts, owing, len(result.district.findings))


def preview_path(collection: Collection) -> Path | None:
    path = collection.folder(PUBLISHED) / PREVIEW
    return path if path.is_file() else None
