"""Reports to precheck, whatever they arrive as: report JSON, returned workbooks, or
published documents (.txt/.html/.docx), read with the existing import and document readers.

A document is also kept as its blocks, for the checks that look at its layout (parts in
order, titles as statutory) and its closing date (the publication date). A file that
cannot be read becomes a listed refusal; it never stops the batch.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tianbao.document.publish.document import parse_date
from tianbao.document.read import read_document_bytes, sniff_document
from tianbao.document.read.extract import Block, Paragraph, extract_blocks
from tianbao.errors import ReportLoadError, UserError
from tianbao.form import Form
from tianbao.io.reports import load_report
from tianbao.report import Finding, Report
from tianbao.rules.check import recompute
from tianbao.stages.intake import import_file
from tianbao.stages.precheck.catalogue import PrecheckFinding, make
from tianbao.stages.precheck.config import load_config
from tianbao.workbook.limits import DEFAULT_LIMITS, Limits
from tianbao.workbook.sniff import sniff

DOCUMENT_KINDS = ("docx", "html", "text", "unknown")


@dataclass
class Subject:
    """One report to precheck, with what its source tells beyond the report model."""

    report: Report
    source: str
    kind: str  # json | workbook | document
    reader_findings: list[Finding] = field(default_factory=list)
    blocks: list[Block] | None = None
    published: dt.date | None = None
    published_from: str = ""  # where the publication date comes from

    @property
    def key(self) -> tuple[str, str]:
        return unit_key(self.report)


def unit_key(report: Report) -> tuple[str, str]:
    return (report.unit.code, "") if report.unit.code else ("", report.unit.name)


def load_subject(path: Path, form: Form, limits: Limits = DEFAULT_LIMITS) -> Subject | PrecheckFinding:
    """The report of one file, or the refusal finding saying why it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _refused(path, f"无法读取（{exc.strerror or exc}）")
    if path.suffix.lower() == ".json":
        try:
            report = load_report(path, form)
        except ReportLoadError as exc:
            return _refused(path, str(exc))
        recompute(form, report.tables)  # never trust totals stored with the values
        return Subject(report, path.name, "json", list(report.findings))
    kind = sniff(data)
    document = sniff_document(data) if kind in DOCUMENT_KINDS else None
    if document is not None:
        report, findings = read_document_bytes(data, path.name, form)
        if report is None:
            return _refused(path, findings[0].message if findings else "不是年度报告")
        blocks = extract_blocks(data, document)
        published = closing_date(blocks)
        return Subject(report, path.name, "document", findings, blocks, published,
                       "文档落款日期" if published else "")
    outcome = import_file(path, form, limits=limits)
    if outcome.report is None:
        return _refused(path, outcome.findings[0].message if outcome.findings else "不是填报工作簿")
    return Subject(outcome.report, path.name, "workbook", outcome.findings)


def _refused(path: Path, reason: str) -> PrecheckFinding:
    finding = make("input.unreadable", reason=reason)
    finding.unit = path.name
    return finding


def closing_date(blocks: list[Block]) -> dt.date | None:
    """The last line that is only a date: the date a published report is signed and issued."""
    pattern = re.compile(load_config().date_line)
    for block in reversed(blocks):
        if not isinstance(block, Paragraph):
            continue
        match = pattern.match(block.text.replace("\u3000", " "))
        if match:
            try:
                return dt.date(int(match.group("y")), int(match.group("m")), int(match.group("d")))
            except ValueError:
                return None
    return None


@dataclass
class Loaded:
    subjects: list[Subject]
    refusals: list[PrecheckFinding]
    year: int | None


def load_batch(paths: list[Path], form: Form, year: int | None, limits: Limits = DEFAULT_LIMITS) -> Loaded:
    """This year's reports: one per unit, in input order; other years and duplicates listed."""
    loaded: list[Subject] = []
    refusals: list[PrecheckFinding] = []
    for path in paths:
        found = load_subject(path, form, limits)
        if isinstance(found, PrecheckFinding):
            refusals.append(found)
        else:
            loaded.append(found)
    if year is None and loaded:
        year = Counter(s.report.year for s in loaded).most_common(1)[0][0]
    subjects: list[Subject] = []
    first: dict[tuple[str, str], Subject] = {}
    for subject in loaded:
        if subject.report.year != year:
            refusals.append(_about(subject, make("input.year", found=subject.report.year, year=year)))
            continue
        if subject.key in first:
            refusals.append(_about(subject, make("input.duplicate", first=first[subject.key].source)))
            continue
        first[subject.key] = subject
        subjects.append(subject)
    return Loaded(subjects, refusals, year)


def _about(subject: Subject, finding: PrecheckFinding) -> PrecheckFinding:
    finding.unit, finding.unit_code = subject.report.unit.name, subject.report.unit.code
    finding.quote = subject.source
    return finding


class PreviousReports:
    """Last year's reports, found by unit code or, for reports without one, by name."""

    def __init__(self, reports: list[Report]) -> None:
        self.by_code = {r.unit.code: r for r in reports if r.unit.code}
        self.by_name = {r.unit.name: r for r in reports}

    def find(self, report: Report) -> Report | None:
        found = self.by_code.get(report.unit.code) if report.unit.code else None
        found = found or self.by_name.get(report.unit.name)
        return found if found is not None and found.year == report.year - 1 else None

    def __len__(self) -> int:
        return len(self.by_name)


def load_previous(paths: list[Path], form: Form, limits: Limits = DEFAULT_LIMITS) -> PreviousReports:
    reports = []
    for path in paths:
        found = load_subject(path, form, limits)
        if isinstance(found, Subject):
            reports.append(found.report)
    if not reports:
        raise UserError("--previous 中没有可以读取的上年度报告（报告 JSON、工作簿或已发布的年报）")
    return PreviousReports(reports)


def publish_dates(option: str | None) -> tuple[dt.date | None, dict[str, dt.date]]:
    """--publish-date: one date for every report, or a CSV of 单位代码/单位名称 and 发布日期."""
    if option is None:
        return None, {}
    single = parse_date(option)
    if single is not None:
        return single, {}
    path = Path(option)
    if not path.is_file():
        raise UserError(f"--publish-date 应为日期（例如 2026-01-20）或 CSV 文件：{option}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"无法读取发布日期文件 {path.name}（需为 UTF-8 的 CSV）：{exc}") from exc
    dates: dict[str, dt.date] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if len(row) < 2 or not row[0].strip():
            continue
        day = parse_date(row[-1])
        if day is None:
            if number == 1:
                continue  # the header
            raise UserError(f"发布日期文件 {path.name} 第 {number} 行的日期无法识别：{row[-1]}")
        for name in row[:-1]:
            if name.strip():
                dates[name.strip()] = day
    return None, dates


def apply_publish_dates(subjects: list[Subject], option: str | None) -> None:
    single, dates = publish_dates(option)
    for subject in subjects:
        unit = subject.report.unit
        given = single or dates.get(unit.code) or dates.get(unit.name)
        if given is not None:
            subject.published, subject.published_from = given, "--publish-date"
