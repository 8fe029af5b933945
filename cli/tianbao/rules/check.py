"""Rules evaluated on the report model: one rule source for import, merge and publish checks.

Rules come from the form definition. Computed cells (a total = sum of other cells) are
recomputed here instead of trusting cached results; assertions such as R1 become findings
with the message the definition gives; R6 compares a report with last year's.
The same assertions become the workbook's ✓/✗ formulas in `tianbao.rules.excel`.
"""

from __future__ import annotations

from tianbao.form.grammar import RuleInstance, Term, expand_rule
from tianbao.form.query import Form, per_form
from tianbao.report import Finding, Number, Report


def recompute(form: Form, tables: dict[str, dict[str, dict[str, Number]]]) -> None:
    """Overwrite every computed cell with the sum of its terms (nested totals resolved)."""
    for table_id, row_id, column_id, terms in _sum_order(form):
        table = tables[table_id]
        table[row_id][column_id] = sum((table[r][c] for r, c in terms), 0)


@per_form
def _sum_order(form: Form) -> list[tuple[str, str, str, tuple[tuple[str, str], ...]]]:
    """The computed cells with their terms, each after the computed cells it sums: one pass
    computes them all (every report of a batch is recomputed; resolving the nesting anew for
    each took a third of reading a report JSON)."""
    computed = form.computed_cells
    order: list[tuple[str, str, str, tuple[tuple[str, str], ...]]] = []
    placed: set[tuple[str, str, str]] = set()

    def place(key: tuple[str, str, str]) -> None:
        cell = computed.get(key)
        if cell is None or key in placed:
            return
        placed.add(key)
        for row_id, column_id in cell.terms:
            place((key[0], row_id, column_id))
        order.append((*key, tuple(cell.terms)))

    for key in computed:
        place(key)
    return order


def stated_total_findings(
    form: Form, stated: dict[str, dict[str, dict[str, Number]]], severity: str, rule_prefix: str = ""
) -> list[Finding]:
    """Compare totals as given (cached in a workbook, printed in a document) with the sums.

    `stated` must hold the values as received; the recomputed values come from its inputs.
    """
    recomputed = {t: {r: dict(cols) for r, cols in rows.items()} for t, rows in stated.items()}
    recompute(form, recomputed)
    findings = []
    for (table_id, row_id, column_id), cell in form.computed_cells.items():
        given = stated[table_id][row_id][column_id]
        expected = recomputed[table_id][row_id][column_id]
        if given == expected:
            continue
        table = form.table(table_id)
        computed_def = next(c for c in table.computed if c.rule == cell.rule)
        message = computed_def.message.format(
            row=label_of(table.rows, row_id), column=label_of(table.columns, column_id)
        )
        findings.append(
            Finding(
                rule=rule_prefix + cell.rule,
                severity=severity,  # type: ignore[arg-type]
                message=f"{message}（应为 {expected}，实为 {given}）",
                sheet=cell.sheet,
                cell=cell.a1,
                expected=str(expected),
                found=str(given),
            )
        )
    return findings


def check_report(form: Form, report: Report) -> list[Finding]:
    """Run every assertion rule of the form on a report whose totals are recomputed."""
    findings: list[Finding] = []
    for rule in form.spec.rules:
        if rule.when is not None:
            level = report.field_value(form, form.identity_section.id, rule.when.field)
            if level not in rule.when.values:
                continue
        for instance in expand_rule(form, rule):
            left = evaluate(instance.left, report.tables)
            right = evaluate(instance.right, report.tables)
            if holds(left, instance.op, right):
                continue
            findings.append(_finding(form, report, instance, left, right))
    return findings


def evaluate(terms: tuple[Term, ...], tables: dict[str, dict[str, dict[str, Number]]]) -> Number:
    total: Number = 0
    for term in terms:
        if term.ref is None:
            total += term.sign * term.constant
        else:
            total += term.sign * tables[term.ref.table][term.ref.row][term.ref.column]
    return total


def holds(left: Number, op: str, right: Number) -> bool:
    if op == "==":
        return left == right
    if op == "<=":
        return left <= right
    return left >= right


def _finding(form: Form, report: Report, instance: RuleInstance, left: Number, right: Number) -> Finding:
    placeholders: dict[str, object] = {"left": left, "right": right, "diff": left - right}
    for name, value in instance.bindings.items():
        placeholders[name] = _bindinglabel_of(form, instance, value)
    for role in form.identity_fields:
        placeholders[role] = report.identity_value(role)
    cells = _located_cells(form, instance)
    sheet = cells[0][0] if cells else None
    located = ",".join(a1 if s == sheet else f"{s}!{a1}" for s, a1 in cells)
    return Finding(
        rule=instance.rule.id,
        severity=instance.rule.severity,
        message=instance.rule.message.format(**placeholders),
        sheet=sheet,
        cell=located or None,
        # A bare number for equalities; "≤ n" / "≥ n" otherwise. Never a leading "=", which
        # spreadsheets would take for a formula.
        expected=str(right) if instance.op == "==" else f"{'≤' if instance.op == '<=' else '≥'} {right}",
        found=str(left),
    )


def _located_cells(form: Form, instance: RuleInstance) -> list[tuple[str, str]]:
    cells = []
    for ref in instance.refs():
        table = form.table(ref.table)
        cells.append((table.sheet, form.table_cell(table, ref.row, ref.column).a1))
    return cells


def _bindinglabel_of(form: Form, instance: RuleInstance, value: str) -> str:
    for ref in instance.refs():
        table = form.table(ref.table)
        if ref.column == value:
            return label_of(table.columns, value)
        if ref.row == value:
            return label_of(table.rows, value)
    return value


def label_of(items: list, item_id: str) -> str:
    return next(item.label for item in items if item.id == item_id)


# ---------------------------------------------------------------------------------------
# Across years (R6)


def carry_forward(form: Form, previous: Report, current: Report) -> set[tuple[str, tuple[str, str]]]:
    """Copy last year's continuing rows into this year's report; returns the input keys set,
    so a generated workbook can lock them."""
    filled: set[tuple[str, tuple[str, str]]] = set()
    for link in form.spec.year_links:
        source = previous.tables[link.table][link.previous_row]
        target = current.tables[link.table][link.current_row]
        for column_id in target:
            if form.is_computed(link.table, link.current_row, column_id):
                continue
            target[column_id] = source[column_id]
            filled.add((link.table, (link.current_row, column_id)))
    return filled


def year_link_findings(form: Form, previous: Report, current: Report) -> list[Finding]:
    """R6: this year's continuing rows must equal last year's, column by column."""
    findings = []
    for link in form.spec.year_links:
        table = form.table(link.table)
        before = previous.tables[link.table][link.previous_row]
        now = current.tables[link.table][link.current_row]
        for column_id, value in now.items():
            if value == before[column_id]:
                continue
            findings.append(
                Finding(
                    rule=link.rule,
                    severity=link.severity,
                    message=link.message.format(
                        column=label_of(table.columns, column_id), current=value, previous=before[column_id]
                    ),
                    sheet=table.sheet,
                    cell=form.table_cell(table, link.current_row, column_id).a1,
                    expected=str(before[column_id]),
                    found=str(value),
                )
            )
    return findings
