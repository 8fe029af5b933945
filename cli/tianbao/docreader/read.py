"""Published report (bytes) -> Report + findings: the steps of the document reader in order."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tianbao import __version__
from tianbao.docreader.extract import Block, ExtractError, Paragraph, extract_blocks, sniff_document
from tianbao.docreader.legacy import Legacy, detect_legacy
from tianbao.docreader.narrative import narrative_findings, read_generated_sentences
from tianbao.docreader.parts import (
    Parts,
    Title,
    document_sections,
    find_title,
    part_lines,
    period_year,
    split_parts,
    split_subparts,
    strip_signature,
    title_in_sentences,
)
from tianbao.docreader.tables import TableOptions, TableResult, read_table
from tianbao.formdef import FieldsSection, Form, FormDefinitionError, TableSection
from tianbao.model import Finding, Provenance, Report, Unit, empty_report
from tianbao.roster import Roster
from tianbao.rules import check_report, recompute, stated_total_findings


def _error(rule: str, message: str, **where: str | None) -> Finding:
    return Finding(rule=rule, severity="error", message=message, **where)


def _warning(rule: str, message: str, **where: str | None) -> Finding:
    return Finding(rule=rule, severity="warning", message=message, **where)


@dataclass(frozen=True)
class Hints:
    """What the user says about documents that do not state it (`--unit-name`, `--year`)."""

    unit_name: str | None = None
    year: int | None = None


def read_document(path: Path, form: Form, hints: Hints | None = None) -> tuple[Report | None, list[Finding]]:
    """Read a published report (.txt, .html/.htm, .docx, .pdf by content); never raises for a bad file.

    An unusable document gives (None, [an error finding saying why])."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [_error("document.unreadable", f"无法读取文件 {path.name}（{exc.strerror or exc}）。")]
    return read_document_bytes(data, path.name, form, hints)


def read_document_bytes(data: bytes, name: str, form: Form,
                        hints: Hints | None = None) -> tuple[Report | None, list[Finding]]:
    kind = sniff_document(data)
    if kind is None:
        return None, [_error("document.kind", f"{name} 不是可以读取的年报文档：只能读取文本（.txt）、网页（.html）、"
                             "Word（.docx）和 PDF 格式的政府信息公开工作年度报告。")]
    try:
        blocks = extract_blocks(data, kind)
        report, findings = _read_blocks(form, blocks, name, hints or Hints())
    except (ExtractError, FormDefinitionError) as exc:
        return None, [_error("document.unreadable", f"{name}：{exc}")]
    except Exception as exc:  # third-party parsers raise anything on a damaged file; never stop a batch
        return None, [_error("document.unreadable",
                             f"{name} 无法读取（{type(exc).__name__}），文件可能已损坏。请重新保存后再试。")]
    if report is not None:
        report.provenance = Provenance(
            source_kind="document", source_file=name, sha256=hashlib.sha256(data).hexdigest(),
            imported_at=datetime.now().astimezone().isoformat(timespec="seconds"), tool_version=__version__,
        )
        report.findings = findings
    return report, findings


def _identify(form: Form, parts: Parts, lines: list[str], name: str, hints: Hints) -> Title | Finding:
    """Unit name and year: the title (year first or last, over one or two lines), else the
    introduction sentence naming the report, else the file name; what is still missing comes
    from the statistics period and from the user's hints."""
    before = [b.text for b in parts.preamble if isinstance(b, Paragraph)]
    first_part = next(iter(parts.blocks.values()), [])
    intro = before + [b.text for b in first_part[:5] if isinstance(b, Paragraph)]
    title = (find_title(form, before) or find_title(form, lines) or title_in_sentences(form, intro)
             or find_title(form, [Path(name).stem]))
    unit = (title.unit_name if title else None) or hints.unit_name
    year = (title.year if title else None) or period_year(intro) or hints.year
    if unit and year:
        return Title(unit, year)
    example = form.spec.document_title.format(unit_name="××局", year=2024)
    lacking = "和".join(w for w, v in (("单位名称", unit), ("年度", year)) if not v)
    return _error("document.title", f"{name} 中找不到报告标题（例如“{example}”），无法确定{lacking}。"
                  f"请把文件改名为报告标题（如“{example}.txt”），或在导入、检查时用 --unit-name 单位名称"
                  " 和 --year 年度 指定。")


def _read_blocks(form: Form, blocks: list[Block], name: str, hints: Hints) -> tuple[Report | None, list[Finding]]:
    lines = [b.text for b in blocks if isinstance(b, Paragraph)]
    parts = split_parts(form, blocks)
    title = _identify(form, parts, lines, name, hints)
    if isinstance(title, Finding):
        return None, [title]
    sections = document_sections(form)
    if len(parts.missing) == len(sections):
        return None, [_error("document.parts", f"{name} 中找不到报告的任何一个部分（例如“{sections[0].title}”），"
                             "不像是一份政府信息公开工作年度报告。")]
    findings = _missing_part_findings(form, parts)
    all_text = "\n".join(lines + [c or "" for b in blocks if not isinstance(b, Paragraph) for r in b.rows for c in r])
    legacy = detect_legacy(form, all_text)
    if legacy is not None:
        findings += legacy.findings
    report = empty_report(form, Unit(name=title.unit_name), title.year)
    narrative = part_lines(parts.preamble)
    last_part = next(reversed(parts.blocks), None)
    for section in sections:
        if isinstance(section, FieldsSection):
            section_lines = part_lines(parts.blocks.get(section.id, []))
            if section.id == last_part:
                section_lines = strip_signature(section_lines, title.unit_name)
            narrative += section_lines
            findings += _read_fields(section, section_lines, report)
    results = {table.id: _read_table(form, table, parts, legacy) for table in form.tables}
    for result in results.values():
        findings += result.findings
    stated = {table_id: result.values for table_id, result in results.items()}
    unsure = {table_id for table_id, result in results.items() if result.unsure}
    totals = _stated_totals(form, results)
    tables = {t: {r: dict(cols) for r, cols in rows.items()} for t, rows in stated.items()}
    recompute(form, tables)
    for (table_id, row_id, column_id) in form.computed_cells:
        if table_id in unsure and (row_id, column_id) not in results[table_id].unstated:
            # The reader missed something here: the printed total is more trustworthy than a sum.
            tables[table_id][row_id][column_id] = stated[table_id][row_id][column_id]
    report.tables = tables
    findings += _reading_doubts(form, unsure, totals + check_report(form, report))
    findings += narrative_findings(form, report, narrative)
    return report, findings


def _missing_part_findings(form: Form, parts: Parts) -> list[Finding]:
    findings = []
    for section_id in parts.missing:
        section = form.section(section_id)
        if isinstance(section, TableSection):
            continue  # reported by the table reader when the table itself cannot be found
        findings.append(_warning("document.part", f"文档中找不到“{section.title}”部分，这一部分的文字按空白处理。",
                                 sheet=section.sheet))
    return findings


def _read_fields(section: FieldsSection, lines: list[str], report: Report) -> list[Finding]:
    """A narrative part: generated sentences back into their fields, the text into text fields."""
    lines, values = read_generated_sentences(section, lines)
    target = report.fields.setdefault(section.id, {})
    target.update(values)
    headed = [f for f in section.fields if f.document_role == "heading"]
    plain = [f for f in section.fields if f.document_role == "text"]
    findings = []
    before = lines
    if headed:
        found, before = split_subparts(headed, lines)
        for field in headed:
            if field.id in found:
                target[field.id] = "\n".join(found[field.id]) or None
        if not found and lines:
            target[headed[0].id] = "\n".join(lines)
            findings.append(_warning("document.subparts",
                                     f"“{section.title}”中找不到小标题（如“{headed[0].label}”），全部文字已放在“{headed[0].label}”中。",
                                     sheet=section.sheet))
            before = []
        elif before:
            first = next(f for f in headed if f.id in found)
            target[first.id] = "\n".join([*before, target[first.id] or ""]).strip() or None
            before = []
    if plain and before:
        target[plain[0].id] = "\n".join(before)
    return findings


def _read_table(form: Form, table: TableSection, parts: Parts, legacy: Legacy | None) -> TableResult:
    options = legacy.options.get(table.id) if legacy else None
    blocks = parts.blocks.get(table.id)
    findings: list[Finding] = []
    if blocks is None:
        # The heading is missing: the table then sits in the part before it.
        blocks = parts.blocks.get(parts.merged_into.get(table.id, ""), [])
        findings.append(_warning("document.part", f"文档中找不到“{table.title}”的标题，已在前一部分中查找这张表。",
                                 sheet=table.sheet))
    result = read_table(form, table, blocks, options or TableOptions())
    if table.id in parts.missing and result.rows_found == 0:
        # Without its heading, a table is only trusted when its rows' labels are found.
        return read_table(form, table, [], options or TableOptions())
    result.findings = findings + result.findings
    return result


def _stated_totals(form: Form, results: dict[str, TableResult]) -> list[Finding]:
    """Totals printed in the document must equal the sums (blank totals are not compared, nor
    the totals of a row whose cells could not be placed)."""
    given = {t: {r: dict(cols) for r, cols in result.values.items()} for t, result in results.items()}
    recomputed = {t: {r: dict(cols) for r, cols in rows.items()} for t, rows in given.items()}
    recompute(form, recomputed)
    for table_id, result in results.items():
        for row_id, column_id in result.unstated:
            given[table_id][row_id][column_id] = recomputed[table_id][row_id][column_id]
    findings = stated_total_findings(form, given, "error")
    unplaced = {(form.table(t).sheet, form.table_cell(form.table(t), r, c).a1)
                for t, result in results.items() for r in result.unsure_rows for c in result.values[r]}
    return [f for f in findings if (f.sheet, f.cell) not in unplaced]


_READING_DOUBT = "这张表有读取不确定的地方（见本表的其他提示），这一差异可能是读取问题，请核对原文。"


def _reading_doubts(form: Form, unsure: set[str], findings: list[Finding]) -> list[Finding]:
    """A sum that fails in a table the reader did not fully read is not the agency's mistake:
    it becomes a warning of its own (table.reading) that asks to check the original."""
    sheets = {form.table(t).sheet for t in unsure}
    out = []
    for finding in findings:
        if finding.sheet not in sheets or not finding.rule.startswith("R"):
            out.append(finding)
            continue
        message = re.sub(r"请核对这一列的数字。?$", "", finding.message).rstrip("。") + "。" + _READING_DOUBT
        out.append(finding.model_copy(update={"rule": "table.reading", "severity": "warning", "message": message}))
    return out


def apply_roster(form: Form, report: Report, roster: Roster) -> list[Finding]:
    """A document names its unit but not its code or level: take both from the roster and run
    the rules that depend on them (R7 and the like), which could not run before."""
    unit = roster.find("", report.unit.name)
    if unit is None:
        return []
    before = {(f.rule, f.cell) for f in check_report(form, report)}
    report.unit.code, report.unit.level = unit.code, unit.level
    return [f for f in check_report(form, report) if (f.rule, f.cell) not in before]
