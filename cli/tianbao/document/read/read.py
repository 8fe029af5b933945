"""Published report (bytes) -> Report + findings: the steps of the document reader in order."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tianbao.document.read.extract import Block, Paragraph, extract_blocks, sniff_document
from tianbao.document.read.legacy import Legacy, detect_legacy
from tianbao.document.read.narrative import narrative_findings, read_generated_sentences
from tianbao.document.read.parts import (
    Parts,
    document_sections,
    find_title,
    part_lines,
    split_parts,
    split_subparts,
    strip_signature,
)
from tianbao.document.read.tables import TableOptions, read_table
from tianbao.errors import FormDefinitionError, InputFileError
from tianbao.findings import emit
from tianbao.form import Form
from tianbao.form.spec import FieldsSection, TableSection
from tianbao.io.roster import Roster
from tianbao.report import Finding, Number, Report, Unit, empty_report, stamp
from tianbao.rules.check import check_report, recompute, stated_total_findings


def read_document(path: Path, form: Form) -> tuple[Report | None, list[Finding]]:
    """Read a published report (.txt, .html/.htm, .docx by content); never raises for a bad file.

    An unusable document gives (None, [an error finding saying why])."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [emit("document.unreadable", "os", name=path.name, reason=exc.strerror or exc)]
    return read_document_bytes(data, path.name, form)


def read_document_bytes(data: bytes, name: str, form: Form) -> tuple[Report | None, list[Finding]]:
    kind = sniff_document(data)
    if kind is None:
        return None, [emit("document.kind", name=name)]
    try:
        blocks = extract_blocks(data, kind)
        report, findings = _read_blocks(form, blocks, name)
    except (InputFileError, FormDefinitionError) as exc:
        return None, [emit("document.unreadable", "refused", name=name, reason=exc)]
    except Exception as exc:  # third-party parsers raise anything on a damaged file; never stop a batch
        return None, [emit("document.unreadable", "crashed", name=name, kind=type(exc).__name__)]
    if report is not None:
        report.provenance = stamp("document", name, hashlib.sha256(data).hexdigest())
        report.findings = findings
    return report, findings


def _read_blocks(form: Form, blocks: list[Block], name: str) -> tuple[Report | None, list[Finding]]:
    lines = [b.text for b in blocks if isinstance(b, Paragraph)]
    parts = split_parts(form, blocks)
    before = [b.text for b in parts.preamble if isinstance(b, Paragraph)]
    title = find_title(form, before) or find_title(form, lines) or find_title(form, [Path(name).stem])
    if title is None:
        example = form.spec.document_title.format(unit_name="××局", year=2024)
        return None, [emit("document.title", name=name, example=example)]
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
    stated: dict[str, dict[str, dict[str, Number]]] = {}
    unstated: dict[str, set[tuple[str, str]]] = {}
    for table in form.tables:
        values, blank, table_findings = _read_table(form, table, parts, legacy)
        stated[table.id], unstated[table.id] = values, blank
        findings += table_findings
    findings += _stated_totals(form, stated, unstated)
    tables = {t: {r: dict(cols) for r, cols in rows.items()} for t, rows in stated.items()}
    recompute(form, tables)
    report.tables = tables
    findings += check_report(form, report)
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


def _read_table(form: Form, table: TableSection, parts: Parts,
                legacy: Legacy | None) -> tuple[dict, set[tuple[str, str]], list[Finding]]:
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
        values = read_table(form, table, [], options or TableOptions())
        return values.values, values.unstated, values.findings
    return result.values, result.unstated, findings + result.findings


def _stated_totals(form: Form, stated: dict[str, dict[str, dict[str, Number]]],
                   unstated: dict[str, set[tuple[str, str]]]) -> list[Finding]:
    """Totals printed in the document must equal the sums (blank totals are not compared)."""
    given = {t: {r: dict(cols) for r, cols in rows.items()} for t, rows in stated.items()}
    recomputed = {t: {r: dict(cols) for r, cols in rows.items()} for t, rows in stated.items()}
    recompute(form, recomputed)
    for table_id, cells in unstated.items():
        for row_id, column_id in cells:
            given[table_id][row_id][column_id] = recomputed[table_id][row_id][column_id]
    return stated_total_findings(form, given, "error")


def apply_roster(form: Form, report: Report, roster: Roster) -> list[Finding]:
    """A document names its unit but not its code or level: take both from the roster and run
    the rules that depend on them (R7 and the like), which could not run before."""
    unit = roster.find("", report.unit.name)
    if unit is None:
        return []
    before = {(f.rule, f.cell) for f in check_report(form, report)}
    report.unit.code, report.unit.level = unit.code, unit.level
    return [f for f in check_report(form, report) if (f.rule, f.cell) not in before]
