"""Tamper checks: a returned workbook's labels, total formulas, input names and stray content
compared with the form definition, to detect edited, shifted or misused sheets."""

from __future__ import annotations

import re

from tianbao.cells import Cell, Range, column_index
from tianbao.findings import emit
from tianbao.form.query import Form, per_form
from tianbao.form.spec import FieldsSection, TableSection
from tianbao.report import Finding
from tianbao.rules.excel import computed_formula
from tianbao.workbook.package import RawCell, SheetData, WorkbookInfo
from tianbao.workbook.values import SPACES, clip


def cell_text(raw: RawCell | None) -> str:
    if raw is None or raw.value is None:
        return ""
    return raw.value


def _same_label(found: str, expected: str) -> bool:
    return " ".join(found.split()) == " ".join(expected.split())


@per_form
def _label_positions(form: Form) -> list[tuple[str, Cell, str]]:
    """(sheet, cell, text) of every label the definition places."""
    found = []
    for section in form.sections:
        if isinstance(section, FieldsSection):
            col = column_index(section.label_column)
            found += [(section.sheet, Cell(f.row - 1, col), f.label) for f in section.fields]
        else:
            origin = form.origin(section)
            found += [(section.sheet, Range.parse(lbl.range).shifted(origin).first, lbl.text) for lbl in section.labels]
    return found


def label_findings(form: Form, sheets: dict[str, SheetData]) -> list[Finding]:
    findings = []
    texts: dict[str, dict[str, list[Cell]]] = {}
    for sheet, cell, expected in _label_positions(form):
        data = sheets.get(sheet)
        if data is None:
            continue
        found = cell_text(data.at(cell))
        if _same_label(found, expected):
            continue
        if sheet not in texts:
            texts[sheet] = {}
            for (row, col), raw in data.cells.items():
                if raw.kind == "s" and raw.value:
                    texts[sheet].setdefault(" ".join(raw.value.split()), []).append(Cell(row, col))
        elsewhere = [c for c in texts[sheet].get(" ".join(expected.split()), []) if c != cell]
        variant = "moved" if elsewhere else ("changed" if found else "deleted")
        findings.append(emit("tamper.label", variant, sheet=sheet, cell=cell.a1, expected=expected,
                             found=found or "（空）", shown=clip(found),
                             now=elsewhere[0].a1 if elsewhere else None))
    return findings


_NAME_TARGET = re.compile(r"^=?(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Z]{1,3})\$?([0-9]+)$")


def input_name_findings(form: Form, book: WorkbookInfo) -> list[Finding]:
    """Every input cell has a defined name; spreadsheet programs move names with the cells,
    so a name pointing elsewhere shows an input cell that was moved (rows or columns inserted
    or deleted). Names a client dropped are not an error."""
    findings = []
    for cell in form.input_cells:
        target = book.defined_names.get(cell.defined_name)
        if target is None:
            continue
        match = _NAME_TARGET.match(target.strip())
        where = f"{cell.sheet}!{cell.a1}"
        if match is None:
            findings.append(emit("tamper.input", "deleted", sheet=cell.sheet, cell=cell.a1, expected=where,
                                 found=target, label=cell.label))
            continue
        sheet = (match.group(1) or "").replace("''", "'") or match.group(2)
        a1 = f"{match.group(3)}{match.group(4)}"
        if (sheet, a1) != (cell.sheet, cell.a1):
            findings.append(emit("tamper.input", "moved", sheet=cell.sheet, cell=cell.a1, expected=where,
                                 found=f"{sheet}!{a1}", label=cell.label))
    return findings


def normalise_formula(text: str) -> str:
    return re.sub(r"[\s$]", "", text).removeprefix("=").upper()


def formula_findings(form: Form, sheets: dict[str, SheetData]) -> list[Finding]:
    findings = []
    for (table_id, row_id, column_id), computed in form.computed_cells.items():
        data = sheets.get(computed.sheet)
        if data is None:
            continue
        expected = computed_formula(form, table_id, row_id, column_id)
        raw = data.at(computed.cell)
        where = f"{computed.sheet}!{computed.a1}"
        if raw is not None and raw.formula and normalise_formula(raw.formula) == normalise_formula(expected):
            continue
        if raw is None or raw.is_empty:
            variant, found = "deleted", "（空）"
        elif not raw.formula:
            variant, found = "value", cell_text(raw)
        else:
            variant, found = "formula", "=" + raw.formula.removeprefix("=")
        findings.append(emit("tamper.formula", variant, sheet=computed.sheet, cell=computed.a1,
                             expected=expected, found=found, where=where))
    return findings




@per_form  # per form, not per workbook: a batch reads hundreds of workbooks
def _known_positions(form: Form) -> dict[str, set[tuple[int, int]]]:
    return {sheet: {(c.row, c.col) for c in cells} for sheet, cells in _known_cells(form).items()}


def _known_cells(form: Form) -> dict[str, set[Cell]]:
    known: dict[str, set[Cell]] = {s.sheet: set() for s in form.sections}
    for section in form.sections:
        cells = known[section.sheet]
        if isinstance(section, TableSection):
            origin = form.origin(section)
            cells.add(Cell(0, origin.col))
            for lbl in section.labels:
                cells.update(Range.parse(lbl.range).shifted(origin).cells())
        else:
            label_col, input_col = column_index(section.label_column), column_index(section.input_column)
            cells.add(Cell(0, label_col))
            for f in section.fields:
                cells.add(Cell(f.row - 1, label_col))
                if f.max_length and f.type in ("text", "longtext"):
                    cells.add(Cell(f.row - 1, input_col + 1))  # the live character count
    for cell in form.input_cells:
        known[cell.sheet].update(cell.merge.cells() if cell.merge else [cell.cell])
    for computed in form.computed_cells.values():
        known[computed.sheet].add(computed.cell)
    for rule in form.spec.rules:
        if rule.check and rule.check.sheet in known:
            known[rule.check.sheet].update(Cell.parse(a1) for a1 in rule.check.cells)
            if rule.check.label:
                known[rule.check.sheet].update(Range.parse(rule.check.label.range).cells())
    return known


def outside_findings(form: Form, sheets: dict[str, SheetData]) -> list[Finding]:
    findings = []
    known = _known_positions(form)
    for sheet, data in sheets.items():
        stray = sorted(Cell(*position) for position in data.cells.keys() - known[sheet]
                       if (data.cells[position].value or "").strip(SPACES) != "" or data.cells[position].formula)
        if not stray:
            continue
        shown = "、".join(c.a1 for c in stray[:10]) + ("等" if len(stray) > 10 else "")
        findings.append(emit("tamper.outside", sheet=sheet, cell=",".join(c.a1 for c in stray), expected="（空）",
                             found=clip(cell_text(data.at(stray[0]))), count=len(stray), shown=shown))
    return findings
