"""`tianbao merge`: unit reports -> one district report, with completeness and provenance.

The district report has the schema of a unit report (kind "district"), so it can be
published, or merged again one level up (a city merges its districts the same way). Its
input values are cell-wise sums of the units that count; totals are recomputed and the
form's rules re-run on the sums. Every expected roster unit and every input file ends as
exactly one line of the completeness list (`Entry`), which also becomes `Report.sources`.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tianbao.errors import FormMismatch, ReportLoadError, UserError
from tianbao.form import Form
from tianbao.io.inputs import collect_inputs
from tianbao.io.names import shown_name
from tianbao.io.reports import parse_report
from tianbao.io.roster import Roster, RosterUnit, load_roster
from tianbao.io.values import VALUES_CSV, VALUES_PARQUET
from tianbao.report import Finding, Report, SourceEntry, Unit, stamp
from tianbao.reviews import carry_reviews, overridden_note
from tianbao.rules.check import check_report, year_link_findings
from tianbao.rules.vector import recheck_many
from tianbao.stages.batch import import_many
from tianbao.stages.intake import ImportOutcome
from tianbao.stages.previous import load_previous
from tianbao.stages.sums import sum_reports
from tianbao.workbook.limits import DEFAULT_LIMITS, Limits

STATUS_MISSING = "未报送"
STATUS_INVALID = "校验未通过"
STATUS_UNFILLED = "未填写"  # returned with the numbers as distributed, not confirmed
STATUS_WARNINGS = "有警告"
STATUS_PASSED = "已通过"
STATUS_DUPLICATE = "重复报送"
STATUS_OFF_ROSTER = "不在名单中"
STATUS_UNREADABLE = "无法读取"
# Roster units that still owe a valid report: the 催报名单.
OWING = (STATUS_MISSING, STATUS_INVALID, STATUS_UNFILLED)
STATUS_ORDER = (
    STATUS_PASSED, STATUS_WARNINGS, STATUS_INVALID, STATUS_UNFILLED, STATUS_MISSING, STATUS_DUPLICATE,
    STATUS_OFF_ROSTER, STATUS_UNREADABLE,
)

DISTRICT_JSON = "district.json"
SUMMARY_XLSX = "summary.xlsx"
DETAIL_XLSX = "detail.xlsx"  # the per-unit drill-down (stages.detail)
# The files a merge writes: a rerun into the input folder never reads them back.
OUTPUTS = (DISTRICT_JSON, SUMMARY_XLSX, DETAIL_XLSX, VALUES_CSV, VALUES_PARQUET)


@dataclass
class MergeOptions:
    year: int | None = None
    unit_name: str | None = None
    unit_code: str | None = None
    unit_level: str | None = None
    parent: str | None = None
    include_invalid: bool = False
    latest: bool = False
    previous: Path | None = None
    limits: Limits = DEFAULT_LIMITS


@dataclass
class Submission:
    """One input file: its report (None when unusable) and every finding on it."""

    source: Path
    sha256: str
    report: Report | None
    findings: list[Finding] = field(default_factory=list)
    problem: str = ""

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.blocking)

    @property
    def warnings(self) -> int:
        """Warnings, and errors a reviewer overrode (they count, but are not clean)."""
        return sum(1 for f in self.findings if not f.blocking)

    @property
    def name(self) -> str:
        """The file name as shown (printable even when it is not UTF-8)."""
        return shown_name(self.source.name)

    @property
    def imported_at(self) -> str | None:
        return self.report.provenance.imported_at if self.report else None

    def add_findings(self, findings: Iterable[Finding]) -> None:
        """Add findings not already present (a re-check repeats what the import found)."""
        seen = {(f.rule, f.severity, f.sheet, f.cell) for f in self.findings}
        for finding in findings:
            key = (finding.rule, finding.severity, finding.sheet, finding.cell)
            if key not in seen:
                seen.add(key)
                self.findings.append(finding)


@dataclass
class Entry:
    """One line of the completeness list: an expected unit, or an input file that did not count."""

    code: str
    name: str
    status: str
    submission: Submission | None = None
    summed: bool = False
    note: str = ""

    @property
    def owing(self) -> bool:
        return self.status in OWING

    @property
    def report(self) -> Report | None:
        return self.submission.report if self.submission else None

    def source_entry(self) -> SourceEntry:
        sub = self.submission
        return SourceEntry(
            unit_code=self.code,
            unit_name=self.name,
            status=self.status,
            source_file=sub.name if sub else None,
            sha256=sub.sha256 if sub else None,
            imported_at=sub.imported_at if sub else None,
            summed=self.summed,
        )


@dataclass
class MergeResult:
    form: Form
    district: Report
    entries: list[Entry]
    previous_checked: bool = False

    @property
    def summed(self) -> list[Entry]:
        return [e for e in self.entries if e.summed]

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e.status == status)


# ---------------------------------------------------------------------------------------
# Inputs


def read_submissions(paths: list[Path], form: Form, roster: Roster, year: int | None,
                     limits: Limits) -> list[Submission]:
    """Every input in order: a report JSON is loaded here; any other file is imported through the
    same time- and memory-limited worker pool as `tianbao import` (an unreadable file becomes a
    listed Submission). Only a report of another form or version raises: stop the merge."""
    others = [p for p in paths if p.suffix.lower() != ".json"]
    imported = {outcome.source: outcome for outcome, _json in import_many(others, form, roster=roster, year=year,
                                                                          limits=limits)}
    submissions = []
    # Ten thousand reports are millions of small objects that all live to the end: the cyclic
    # collector would rescan them again and again while they load (a third of the time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        for path in paths:
            submissions.append(_submission(path, imported.get(path), form))
    finally:
        if collecting:
            gc.enable()
    return submissions


def _submission(path: Path, outcome: ImportOutcome | None, form: Form) -> Submission:
    if outcome is None:
        return read_report_file(path, form)
    if outcome.report is None:
        errors = [f.message for f in outcome.findings if f.is_error]
        problem = errors[0] if errors else "工作簿无法导入"
        return Submission(path, outcome.sha256, None, list(outcome.findings), problem)
    return Submission(path, outcome.sha256, outcome.report, list(outcome.findings))


def read_report_file(path: Path, form: Form) -> Submission:
    """A report JSON; one of another form or version raises FormMismatch as a UserError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Submission(path, "", None, problem=f"{shown_name(path.name)}：无法读取文件（{exc.strerror}）")
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        report = parse_report(data, shown_name(path.name), form)  # the bytes hashed, not a second read
    except FormMismatch as exc:
        raise UserError(f"{exc}。请移除这个文件，或用 --form 指定它的表单") from exc
    except ReportLoadError as exc:
        return Submission(path, sha256, None, problem=str(exc))
    return Submission(path, sha256, report, list(report.findings))


def _names(paths: list[Path], limit: int = 5) -> str:
    shown = "、".join(shown_name(p.name) for p in paths[:limit])
    return shown + (f" 等 {len(paths)} 个文件" if len(paths) > limit else "")


def settle_year(submissions: list[Submission], year: int | None) -> int:
    """The merge year: --year, or the one year all readable reports share."""
    by_year: dict[int, list[Path]] = {}
    for sub in submissions:
        if sub.report is not None:
            by_year.setdefault(sub.report.year, []).append(sub.source)
    if year is not None:
        others = {y: paths for y, paths in by_year.items() if y != year}
        if others:
            listed = "；".join(f"{_names(paths)}（{y} 年）" for y, paths in sorted(others.items()))
            raise UserError(f"以下报告不是 {year} 年度的：{listed}。请移除这些文件后重新汇总")
        return year
    if not by_year:
        raise UserError("没有可以读取的报告，无法确定年度；请用 --year 指定报告年度")
    if len(by_year) > 1:
        listed = "；".join(f"{y} 年：{_names(paths)}" for y, paths in sorted(by_year.items()))
        raise UserError(f"输入报告的年度不一致（{listed}）。请移除其他年度的报告，或用 --year 指定年度")
    return next(iter(by_year))


# ---------------------------------------------------------------------------------------
# Completeness


def expected_units(roster: Roster, parent: str | None) -> list[RosterUnit]:
    """The units this merge expects: the whole roster, or the children of --parent."""
    if parent is None:
        return list(roster.units)
    children = [u for u in roster.units if u.parent == parent]
    if not children:
        raise UserError(f"单位名单中没有上级单位代码为“{parent}”的单位（请检查名单的 parent / 上级单位 列）")
    return children


def _instant(text: str | None) -> datetime:
    """Import time for choosing the newest duplicate; missing or unreadable counts as oldest."""
    try:
        moment = datetime.fromisoformat(text) if text else datetime.min
    except ValueError:
        moment = datetime.min
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


UNFILLED_RULE = "file.untouched"


def _status(sub: Submission) -> str:
    if any(f.rule == UNFILLED_RULE for f in sub.findings):
        return STATUS_UNFILLED
    if sub.errors:
        return STATUS_INVALID
    return STATUS_WARNINGS if sub.warnings else STATUS_PASSED


def _note(sub: Submission, errors: bool) -> str:
    """The first error (or warning) message, after how many errors a reviewer overrode and why."""
    messages = [f.message for f in sub.findings if f.blocking == errors and f.is_error == errors]
    first = messages[0] + (f"（另有 {len(messages) - 1} 项）" if len(messages) > 1 else "") if messages else ""
    return "；".join(text for text in (overridden_note(sub.findings), first) if text)


def completeness(
    submissions: list[Submission], expected: list[RosterUnit], options: MergeOptions
) -> list[Entry]:
    """Entries in roster order (each followed by its superseded duplicates), then off-roster
    reports, then unreadable files. Submissions carry all their findings by now."""
    parent = options.parent
    by_code = {u.code: u for u in expected}
    by_name = {u.name: u for u in reversed(expected)}  # the first line wins, as in Roster.find
    claims: dict[str, list[Submission]] = {u.code: [] for u in expected}
    off_roster: list[Entry] = []
    unreadable: list[Entry] = []
    for sub in submissions:
        if sub.report is None:
            unreadable.append(Entry("", "", STATUS_UNREADABLE, sub, note=sub.problem))
            continue
        # Roster.find's rule (code when the report has one, else exact name), with dicts: 10,000 units.
        code, name = sub.report.unit.code, sub.report.unit.name
        unit = by_code.get(code) if code else by_name.get(name)
        if unit is None:
            note = f"不属于上级单位“{parent}”" if parent else "单位代码和名称都不在单位名单中"
            off_roster.append(Entry(sub.report.unit.code, sub.report.unit.name, STATUS_OFF_ROSTER, sub, note=note))
            continue
        claims[unit.code].append(sub)
    doubled = {code: subs for code, subs in claims.items() if len(subs) > 1}
    if doubled and not options.latest:
        names = {u.code: u.name for u in expected}
        listed = "；".join(
            f"{names[code]}（{code}）：{_names([s.source for s in subs])}" for code, subs in doubled.items()
        )
        raise UserError(
            f"以下单位报送了不止一份报告：{listed}。请删除多余的文件，或加上 --latest 只采用导入时间最新的一份"
        )
    entries: list[Entry] = []
    for unit in expected:
        subs = sorted(claims[unit.code], key=lambda s: (_instant(s.imported_at), s.name), reverse=True)
        if not subs:
            entries.append(Entry(unit.code, unit.name, STATUS_MISSING))
            continue
        status = _status(subs[0])
        note = _note(subs[0], errors=status in (STATUS_INVALID, STATUS_UNFILLED))
        summed = status not in (STATUS_INVALID, STATUS_UNFILLED) or options.include_invalid
        entries.append(Entry(unit.code, unit.name, status, subs[0], summed, note))
        for older in subs[1:]:
            note = f"已采用导入时间较新的 {subs[0].name}"
            entries.append(Entry(unit.code, unit.name, STATUS_DUPLICATE, older, note=note))
    return entries + off_roster + unreadable


# ---------------------------------------------------------------------------------------
# The district


def district_unit(roster: Roster, options: MergeOptions) -> Unit:
    """--unit-name/--unit-code/--unit-level, defaulting to the --parent unit's roster line."""
    parent = roster.by_code().get(options.parent) if options.parent else None
    name = options.unit_name or (parent.name if parent else "")
    if not name:
        raise UserError("请用 --unit-name 指定汇总单位的名称，例如 --unit-name 某某区")
    return Unit(
        code=options.unit_code if options.unit_code is not None else (parent.code if parent else ""),
        name=name,
        level=options.unit_level if options.unit_level is not None else (parent.level if parent else ""),
    )


# ---------------------------------------------------------------------------------------
# The merge


def merge(
    form: Form, inputs: Iterable[Path], roster_path: Path, options: MergeOptions, outdir: Path | None = None
) -> MergeResult:
    roster = load_roster(roster_path)
    expected = expected_units(roster, options.parent)
    unit = district_unit(roster, options)
    skip = [outdir / name for name in OUTPUTS] if outdir else []
    files = collect_inputs(inputs, skip, nothing_found="没有找到要汇总的报告文件（.json 报告或 .xlsx 工作簿）")
    submissions = read_submissions(files, form, roster, options.year, options.limits)
    with settled_heap():
        return _merge_loaded(form, submissions, expected, unit, options)


@contextmanager
def settled_heap() -> Iterator[None]:
    """Ten thousand loaded reports live to the end: keep the cyclic collector from rescanning
    them each time the merge (or the writing of its files) allocates; undone afterwards."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _merge_loaded(form: Form, submissions: list[Submission], expected: list[RosterUnit],
                  unit: Unit, options: MergeOptions) -> MergeResult:
    year = settle_year(submissions, options.year)
    previous = load_previous(form, options.previous, year) if options.previous else None
    rule_ids = {rule.id for rule in form.spec.rules}
    readable = [sub for sub in submissions if sub.report is not None]
    # Never trust stored totals or verdicts: recompute and re-run the rules (all reports at
    # once; a report that breaks a rule is checked again alone for its findings). Findings the
    # rules cannot reproduce from the values (how the workbook was filled) are kept.
    failing = recheck_many(form, [sub.report for sub in readable if sub.report is not None])
    for sub, fails in zip(readable, failing, strict=True):
        if sub.report is None:  # readable ones only
            continue
        reviewed = [f for f in sub.findings if f.review is not None]
        sub.findings = [f for f in sub.findings if f.rule not in rule_ids]
        if fails:
            sub.add_findings(check_report(form, sub.report))
        before = previous.find(sub.report.unit.code, sub.report.unit.name) if previous else None
        if before is not None:
            sub.add_findings(year_link_findings(form, before, sub.report))
        carry_reviews(reviewed, sub.findings)  # a reviewer's decision survives the re-run
    entries = completeness(submissions, expected, options)
    district = sum_reports(form, [e.report for e in entries if e.summed and e.report], unit, year)
    district.findings = check_report(form, district)
    if previous is not None:
        before_total = previous.total or sum_reports(
            form, [r for u in expected if (r := previous.find(u.code, u.name)) is not None], unit, year - 1
        )
        district.findings += year_link_findings(form, before_total, district)
    district.provenance = stamp("merge")
    district.sources = [e.source_entry() for e in entries]
    return MergeResult(form, district, entries, previous_checked=previous is not None)
