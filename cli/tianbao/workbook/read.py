"""Workbook -> Report + findings: identity, tamper checks, input values, rules.

The reader trusts nothing but the input cells the definition declares (`workbook.values`). Labels and total
formulas are compared with the definition to detect edited or shifted sheets, totals are
recomputed (cached results are only compared), and every value problem becomes a Finding
at its sheet and cell with the raw text the clerk typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from tianbao.findings import emit
from tianbao.form.query import Form
from tianbao.io.roster import Roster
from tianbao.report import Finding, Number, Report, Unit, empty_report
from tianbao.rules.check import check_report, recompute, stated_total_findings
from tianbao.workbook.identity import identity_cell, identity_mismatch_findings, read_identity, unfilled_findings
from tianbao.workbook.layout import ANNOTATION_SHEET, META_SHEET
from tianbao.workbook.package import SheetData, SheetInfo, WorkbookInfo, XlsxPackage
from tianbao.workbook.tamper import (
    check_cell_findings,
    copy_findings,
    formula_findings,
    input_name_findings,
    label_findings,
    merged_area_findings,
    outside_findings,
)
from tianbao.workbook.values import InputValues


@dataclass
class ReadOptions:
    roster: Roster | None = None
    year: int | None = None
    strict: bool = False
    unit_name: str | None = None  # for a published report that names no unit


@dataclass
class ReadResult:
    """What one workbook gave: the report (None when unusable) and every finding."""

    report: Report | None
    findings: list[Finding]
    # Raw text of inputs that could not be used, by (sheet, A1): `annotate` shows them again.
    rejected_inputs: dict[tuple[str, str], str] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)


def read_workbook(package: XlsxPackage, form: Form, options: ReadOptions, file_name: str | None = None) -> ReadResult:
    """Read one workbook package (InputFileError propagates for unreadable packages); `file_name`,
    the name it was submitted under, is checked against the identity it carries."""
    book = package.workbook()
    meta, findings, sources = read_identity(package, book)
    saved_at = package.saved_at()
    if saved_at:
        meta["saved_at"] = saved_at
    stop = _identity_stop(form, meta)
    if stop is not None:
        return ReadResult(None, [*findings, stop], meta=meta)
    if book.external_links:
        findings.append(emit("tamper.external_link", found=str(book.external_links)))
    sheets, structure = _load_sheets(package, book, form)
    structure += label_findings(form, sheets) + formula_findings(form, sheets) + input_name_findings(form, book)
    structure += check_cell_findings(form, sheets) + merged_area_findings(form, sheets)
    if not structure and meta.get("fingerprint") and meta["fingerprint"] != form.fingerprint:
        # Same id and version, same labels and formulas: an edited copy of the definition.
        findings.append(emit("identity.fingerprint", expected=form.fingerprint[:12], found=meta["fingerprint"][:12]))
    findings += structure
    values = InputValues(form, sheets, options.strict, book.date1904)
    report = _build_report(form, values)
    findings += values.findings + identity_findings(form, report, options)
    findings += identity_mismatch_findings(form, report, sources, file_name, options.roster)
    if not any(f.is_error for f in values.findings):  # an unreadable number is not an untouched one
        findings += unfilled_findings(form, report, meta)
    findings += outside_findings(form, sheets)
    recompute(form, report.tables)
    stated = _stated_tables(form, report, sheets)
    if stated != report.tables:  # only then can a cached total differ (saves a recompute)
        findings += stated_total_findings(form, stated, "warning")
    findings += check_report(form, report)
    report.findings = findings
    return ReadResult(report, findings, values.rejected, meta)


# ---------------------------------------------------------------------------------------
# Identity


def _identity_stop(form: Form, meta: dict[str, str]) -> Finding | None:
    """A finding that makes reading pointless: not ours, another form, an old version."""
    form_id = meta.get("form_id", "")
    if not form_id:
        return emit("identity.form", expected=form.id, found="（无）")
    if form_id != form.id:
        return emit("identity.form", "other", expected=form.id, found=form_id, title=form.spec.title)
    version = meta.get("form_version", "")
    if version not in form.accepted_versions:
        accepted = "、".join(form.accepted_versions)
        return emit("identity.version", expected=accepted, found=version or "（无）", version=version or "未知")
    return None


# ---------------------------------------------------------------------------------------
# Sheets, labels, formulas


def _load_sheets(package: XlsxPackage, book: WorkbookInfo, form: Form) -> tuple[dict[str, SheetData], list[Finding]]:
    by_name = {s.name: s for s in book.sheets}
    expected = [s.sheet for s in form.sections]
    known = {*form.sheet_names, META_SHEET, ANNOTATION_SHEET}
    missing = [name for name in form.sheet_names if name not in by_name]
    extra = [s.name for s in book.sheets if s.name not in known]
    findings = []
    renamed = len(missing) == 1 and len(extra) == 1
    for name in missing:
        findings.append(emit("tamper.sheet", "renamed" if renamed else "missing", sheet=name, expected=name,
                             found=extra[0] if renamed else "（无）"))
    sheets = {}
    for name in expected:
        info: SheetInfo | None = by_name.get(name)
        if info is not None:
            sheets[name] = package.sheet(info)
    if extra and not renamed:
        copies = copy_findings(form, sheets, {name: package.sheet(by_name[name]) for name in extra})
        findings += copies
        others = [name for name in extra if name not in {f.sheet for f in copies}]
        if others:
            findings.append(emit("tamper.extra_sheet", found="、".join(others)))
    return sheets, findings


# ---------------------------------------------------------------------------------------
# The report


def _build_report(form: Form, values: InputValues) -> Report:
    """The report from the parsed input values (identity fields go to unit and year)."""
    section = form.identity_section.id
    roles = form.identity_fields
    identity = {role: values.get(section, (field_id,)) for role, field_id in roles.items()}
    name = str(identity["unit_name"] or "")
    code = str(identity["unit_code"] or "")
    level = str(identity["unit_level"] or "")
    year = identity["year"] if isinstance(identity["year"], int) else 0
    report = empty_report(form, Unit(code=code, name=name, level=level), year)
    identity_ids = set(roles.values())
    for cell in form.input_cells:
        value = values.get(cell.section, cell.key)
        if cell.section in report.tables:
            if value is not None:
                report.tables[cell.section][cell.key[0]][cell.key[1]] = value  # type: ignore[assignment]
        elif not (cell.section == section and cell.key[0] in identity_ids):
            report.fields[cell.section][cell.key[0]] = value
    return report


def identity_findings(form: Form, report: Report, options: ReadOptions) -> list[Finding]:
    """The year this collection asks for and the roster's units."""
    findings = []
    if options.year is not None and report.year and report.year != options.year:
        sheet, a1 = identity_cell(form, "year")
        findings.append(emit("identity.year", "collection", sheet=sheet, cell=a1, expected=str(options.year),
                             found=str(report.year)))
    if options.roster is not None and (report.unit.code or report.unit.name):
        unit = options.roster.find(report.unit.code, report.unit.name)
        sheet, a1 = identity_cell(form, "unit_code" if report.unit.code else "unit_name")
        shown = f"{report.unit.name}（代码 {report.unit.code}）" if report.unit.code else report.unit.name
        if unit is None:
            findings.append(emit("identity.roster", "missing", sheet=sheet, cell=a1, expected="名单中的单位",
                                 found=shown))
        elif unit.name != report.unit.name:
            sheet, a1 = identity_cell(form, "unit_name")
            findings.append(emit("identity.roster", "name", sheet=sheet, cell=a1, expected=unit.name,
                                 found=report.unit.name, code=unit.code))
    return findings


def _stated_tables(form: Form, report: Report, sheets: dict[str, SheetData]) -> dict[str, dict[str, dict[str, Number]]]:
    """Table values as received: inputs plus the cached totals (recomputed where absent);
    `report.tables` must already be recomputed."""
    stated = {t: {r: dict(cols) for r, cols in rows.items()} for t, rows in report.tables.items()}
    for (table_id, row_id, column_id), computed in form.computed_cells.items():
        data = sheets.get(computed.sheet)
        raw = data.at(computed.cell) if data else None
        if raw is None or raw.kind != "n" or not raw.value:
            continue
        try:
            cached = Decimal(raw.value)
        except InvalidOperation:
            continue
        if not cached.is_finite():
            continue
        current = stated[table_id][row_id][column_id]
        # A cached 1e999999999 stays a Decimal: int() of a huge exponent never ends.
        whole = isinstance(current, int) and cached.adjusted() < 30 and cached == int(cached)
        stated[table_id][row_id][column_id] = int(cached) if whole else cached
    return stated
