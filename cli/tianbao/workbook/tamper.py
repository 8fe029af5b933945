"""Tamper checks: a returned workbook's labels, total and check formulas, input names, merged
areas, sheet copies and stray content compared with the form definition, to detect edited,
shifted or misused sheets."""

from __future__ import annotations

import re

from tianbao.cells import Cell, Range, column_index
from tianbao.findings import emit
from tianbao.form.grammar import expand_rule
from tianbao.form.query import Form, InputCell, per_form
from tianbao.form.spec import FieldsSection, TableSection
from tianbao.report import Finding
from tianbao.rules.excel import check_formula, computed_formula
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


_QUOTED_SHEET = re.compile(r"'((?:[^']|'')+)'!")


def normalise_formula(text: str) -> str:
    # Clients differ in quoting sheet names ('基本信息'!B5 or 基本信息!B5): compare unquoted.
    text = _QUOTED_SHEET.sub(lambda m: m.group(1).replace("''", "'") + "!", text)
    return re.sub(r"[\s$]", "", text).removeprefix("=").upper()


def _content(raw: RawCell | None) -> str:
    if raw is None:
        return ""
    return "=" + raw.formula.removeprefix("=") if raw.formula else (raw.value or "").strip(SPACES)


def copy_findings(form: Form, sheets: dict[str, SheetData], extra: dict[str, SheetData]) -> list[Finding]:
    """An extra sheet with the labels of a form sheet is a copy of it ("表二 (2)"). Only the
    original is read: a copy holding other values than the original is an error naming it."""
    labels: dict[str, list[tuple[Cell, str]]] = {}
    for sheet, cell, text in _label_positions(form):
        labels.setdefault(sheet, []).append((cell, text))
    findings = []
    for name, data in extra.items():
        original = next((sheet for sheet, placed in labels.items() if sheet in sheets
                         and all(_same_label(cell_text(data.at(cell)), text) for cell, text in placed)), None)
        if original is None:
            continue
        differing = [c for c in form.input_cells if c.sheet == original
                     and _content(data.at(c.cell)) not in ("", _content(sheets[original].at(c.cell)))]
        if not differing:
            continue
        shown = "、".join(c.a1 for c in differing[:5]) + ("等" if len(differing) > 5 else "")
        first = differing[0]
        findings.append(emit("tamper.sheet_copy", sheet=name, cell=",".join(c.a1 for c in differing),
                             expected=_content(sheets[original].at(first.cell)) or "（空）",
                             found=clip(_content(data.at(first.cell))), original=original, shown=shown,
                             count=len(differing)))
    return findings


@per_form
def _check_cells(form: Form) -> list[tuple[str, Cell, str]]:
    """(sheet, cell, formula) of every ✓/✗ check cell the workbook carries."""
    found = []
    for rule in form.spec.rules:
        if rule.check is None:
            continue
        for instance in expand_rule(form, rule):
            if instance.check_cell is not None:
                formula = check_formula(form, instance, rule.check.sheet)
                found.append((rule.check.sheet, Cell.parse(instance.check_cell), formula))
    return found


def check_cell_findings(form: Form, sheets: dict[str, SheetData]) -> list[Finding]:
    """A check cell overwritten (a constant "✓") no longer shows whether the numbers agree."""
    findings = []
    for sheet, cell, expected in _check_cells(form):
        data = sheets.get(sheet)
        if data is None:
            continue
        change = _formula_change(data.at(cell), expected)
        if change is None:
            continue
        variant, found = change
        findings.append(emit("tamper.check", variant, sheet=sheet, cell=cell.a1, expected=expected, found=found,
                             where=f"{sheet}!{cell.a1}", shown=clip(found)))
    return findings


@per_form
def _merged_areas(form: Form) -> list[tuple[str, Range, InputCell | None, str]]:
    """(sheet, range, input cell or None, label text) of every area the workbook merges
    into one cell: only its first cell is read, so the others must stay empty."""
    areas: list[tuple[str, Range, InputCell | None, str]] = []
    for cell in form.input_cells:
        if cell.merge is not None and not cell.merge.is_single:
            areas.append((cell.sheet, cell.merge, cell, cell.label))
    for section in form.tables:
        origin = form.origin(section)
        for label in section.labels:
            rng = Range.parse(label.range).shifted(origin)
            if not rng.is_single:
                areas.append((section.sheet, rng, None, label.text))
    for rule in form.spec.rules:
        if rule.check and rule.check.label and not Range.parse(rule.check.label.range).is_single:
            areas.append((rule.check.sheet, Range.parse(rule.check.label.range), None, rule.check.label.text))
    return areas


def merged_area_findings(form: Form, sheets: dict[str, SheetData]) -> list[Finding]:
    """Content typed into a merged area after it was unmerged is never read: say where it is."""
    findings = []
    for sheet, area, input_cell, text in _merged_areas(form):
        data = sheets.get(sheet)
        if data is None:
            continue
        first = area.first
        for cell in area.cells():
            raw = data.at(cell)
            if cell == first or raw is None or (not raw.formula and (raw.value or "").strip(SPACES) == ""):
                continue
            found = clip(cell_text(raw) or "=" + (raw.formula or "").removeprefix("="))
            findings.append(emit("tamper.merged_area", "input" if input_cell is not None else "label", sheet=sheet,
                                 cell=cell.a1, expected="（空）", found=found,
                                 label=text if input_cell is not None else clip(text),
                                 first=first.a1, last=area.last.a1))
    return findings


def formula_findings(form: Form, sheets: dict[str, SheetData]) -> list[Finding]:
    findings = []
    for (table_id, row_id, column_id), computed in form.computed_cells.items():
        data = sheets.get(computed.sheet)
        if data is None:
            continue
        expected = computed_formula(form, table_id, row_id, column_id)
        where = f"{computed.sheet}!{computed.a1}"
        change = _formula_change(data.at(computed.cell), expected)
        if change is None:
            continue
        variant, found = change
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


def _formula_change(raw: RawCell | None, expected: str) -> tuple[str, str] | None:
    """How a cell that must hold `expected` was changed: (variant, what it holds now), or None."""
    if raw is not None and raw.formula and normalise_formula(raw.formula) == normalise_formula(expected):
        return None
    if raw is None or raw.is_empty:
        return "deleted", "（空）"
    if not raw.formula:
        return "value", cell_text(raw)
    return "formula", "=" + raw.formula.removeprefix("=")
