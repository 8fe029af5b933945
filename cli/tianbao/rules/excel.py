"""Excel formulas compiled from the form's rules: live totals and ✓/✗ check cells.

The workbook shows the same assertions the importer and merger evaluate (`rules.check`);
a computed cell is `=SUM(...)` over its terms.
"""

from __future__ import annotations

from tianbao.cells import Cell, quote_sheet
from tianbao.form.grammar import RuleInstance, Term
from tianbao.form.query import Form, per_form
from tianbao.report import Report
from tianbao.rules.check import evaluate, holds

CHECK_OK = "✓"
CHECK_FAIL = "✗ 相差 "


@per_form  # every workbook written asks the same questions
def computed_formula(form: Form, table_id: str, row_id: str, column_id: str) -> str:
    """=SUM(D8:D28) for a contiguous run of cells, =A4+B4+... otherwise."""
    cell = form.computed_cells[(table_id, row_id, column_id)]
    table = form.table(table_id)
    positions = sorted(form.table_cell(table, r, c) for r, c in cell.terms)
    if not positions:
        return "=0"
    first, last = positions[0], positions[-1]
    same_row = all(p.row == first.row for p in positions)
    same_col = all(p.col == first.col for p in positions)
    contiguous = (same_row and last.col - first.col + 1 == len(positions)) or (
        same_col and last.row - first.row + 1 == len(positions)
    )
    if contiguous and len(positions) > 1:
        return f"=SUM({first.a1}:{last.a1})"
    return "=" + "+".join(p.a1 for p in positions)


def check_formula(form: Form, instance: RuleInstance, sheet: str) -> str:
    """The ✓/✗ formula for one rule instance, placed on `sheet`."""
    left = _excel_sum(form, instance.left, sheet)
    right = _excel_sum(form, instance.right, sheet)
    excel_op = {"==": "=", "<=": "<=", ">=": ">="}[instance.op]
    test = f'IF(({left}){excel_op}({right}),"{CHECK_OK}","{CHECK_FAIL}"&(({left})-({right})))'
    when = instance.rule.when
    if when is None:
        return "=" + test
    field = form.field(form.identity_section.id, when.field)
    where = Cell(field.row - 1, _col(form.identity_section.input_column))
    ref = f"{quote_sheet(form.identity_section.sheet)}!{where.absolute}"
    condition = ",".join(f'{ref}="{value}"' for value in when.values)
    return f'=IF(OR({condition}),{test},"{CHECK_OK}")'


def check_value(form: Form, report: Report, instance: RuleInstance) -> str:
    """What the check formula evaluates to, for the cached result written with it."""
    when = instance.rule.when
    if when is not None:
        level = report.field_value(form, form.identity_section.id, when.field)
        if level not in when.values:
            return CHECK_OK
    left = evaluate(instance.left, report.tables)
    right = evaluate(instance.right, report.tables)
    if holds(left, instance.op, right):
        return CHECK_OK
    return f"{CHECK_FAIL}{left - right}"


def _excel_sum(form: Form, terms: tuple[Term, ...], sheet: str) -> str:
    parts = []
    for term in terms:
        sign = "-" if term.sign < 0 else "+"
        if term.ref is None:
            parts.append(f"{sign}{term.constant}")
            continue
        table = form.table(term.ref.table)
        a1 = form.table_cell(table, term.ref.row, term.ref.column).a1
        parts.append(f"{sign}{a1}" if table.sheet == sheet else f"{sign}{quote_sheet(table.sheet)}!{a1}")
    return "".join(parts).lstrip("+")


def _col(letters: str) -> int:
    return Cell.parse(f"{letters}1").col
