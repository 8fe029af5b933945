"""Published report (bytes) -> Report + findings: the steps of the document reader in order."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from tianbao.document.read.extract import Block, Paragraph, extract_blocks, sniff_document
from tianbao.document.read.legacy import Legacy, detect_legacy
from tianbao.document.read.narrative import narrative_findings, read_generated_sentences
from tianbao.document.read.parts import (
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
from tianbao.document.read.tables import TableOptions, TableResult, read_table
from tianbao.errors import FormDefinitionError, InputFileError
from tianbao.findings import emit
from tianbao.form import Form
from tianbao.form.spec import FieldsSection, TableSection
from tianbao.io.roster import Roster
from tianbao.report import Finding, Report, Unit, empty_report, stamp
from tianbao.rules.check import check_report, recompute, stated_total_findings


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
        return None, [emit("document.unreadable", "os", name=path.name, reason=exc.strerror or exc)]
    return read_document_bytes(data, path.name, form, hints)


def read_document_bytes(data: bytes, name: str, form: Form,
                        hints: Hints | None = None) -> tuple[Report | None, list[Finding]]:
    kind = sniff_document(data)
    if kind is None:
        return None, [emit("document.kind", name=name)]
    try:
        blocks = extract_blocks(data, kind)
        report, findings = _read_blocks(form, blocks, name, hints or Hints())
    except (InputFileError, FormDefinitionError) as exc:
        return None, [emit("document.unreadable", "refused", name=name, reason=exc)]
    except Exception as exc:  # third-party parsers raise anything on a damaged file; never stop a batch
        return None, [emit("document.unreadable", "crashed", name=name, kind=type(exc).__name__)]
    if report is not None:
        report.provenance = stamp("document", name, hashlib.sha256(data).hexdigest())
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
    return emit("document.title", name=name, example=example, lacking=lacking)


def _read_blocks(form: Form, blocks: list[Block], name: str, hints: Hints) -> tuple[Report | None, list[Finding]]:
    lines = [b.text for b in blocks if isinstance(b, Paragraph)]
    parts = split_parts(form, blocks)
    title = _identify(form, parts, lines, name, hints)
    if isinstance(title, Finding):
        return None, [title]
    sections = document_sections(form)
    if len(parts.missing) == len(sections):
        return None, [emit("document.parts", name=name, example=sections[0].title)]
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
        findings.append(emit("document.part", "text", sheet=section.sheet, title=section.title))
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
            findings.append(emit("document.subparts", sheet=section.sheet, title=section.title,
                                 label=headed[0].label))
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
        findings.append(emit("document.part", "table", sheet=table.sheet, title=table.title))
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


def _reading_doubts(form: Form, unsure: set[str], findings: list[Finding]) -> list[Finding]:
    """A sum that fails in a table the reader did not fully read is not the agency's mistake:
    it becomes a warning of its own (table.reading) that asks to check the original."""
    sheets = {form.table(t).sheet for t in unsure}
    out = []
    for finding in findings:
        if finding.sheet not in sheets or not finding.rule.startswith("R"):
            out.append(finding)
            continue
        difference = re.sub(r"请核对这一列的数字。?$", "", finding.message).rstrip("。")
        out.append(emit("table.reading", sheet=finding.sheet, cell=finding.cell, expected=finding.expected,
                        found=finding.found, difference=difference))
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
