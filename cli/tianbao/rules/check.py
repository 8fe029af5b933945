"""The rule engine: one rule source for in-sheet formulas, import checks and merge checks.

Rules come from the form definition. Two kinds exist:

* computed cells (a total = sum of other cells), which the workbook writes as live formulas
  and every reader recomputes instead of trusting cached results;
* assertions such as R1 ("t3.new.{col} + t3.carried_over.{col} == ..."), which the workbook
  shows as ✓/✗ check cells and the importer and merger turn into findings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from itertools import product
from weakref import WeakKeyDictionary

from tianbao.cells import Cell, quote_sheet
from tianbao.form.spec import Form, RuleDef
from tianbao.report import Finding, Number, Report

CHECK_OK = "✓"
CHECK_FAIL = "✗ 相差 "

_COMPARISONS = ("==", "<=", ">=")
_TERM = re.compile(r"\s*([+-])?\s*([A-Za-z0-9_.{}]+)\s*")


class RuleSyntaxError(ValueError):
    """An assertion of the definition cannot be parsed or names unknown cells."""


@dataclass(frozen=True)
class Ref:
    table: str
    row: str
    column: str


@dataclass(frozen=True)
class Term:
    sign: int
    ref: Ref | None
    constant: Decimal = Decimal(0)


@dataclass(frozen=True)
class RuleInstance:
    """One concrete check: a rule with its for_each variables bound."""

    rule: RuleDef
    bindings: dict[str, str]
    left: tuple[Term, ...]
    op: str
    right: tuple[Term, ...]
    check_cell: str | None

    def refs(self) -> list[Ref]:
        return [t.ref for t in (*self.left, *self.right) if t.ref is not None]


_EXPANDED: WeakKeyDictionary[Form, dict[str, list[RuleInstance]]] = WeakKeyDictionary()


def expand_rule(form: Form, rule: RuleDef) -> list[RuleInstance]:
    """Every instance of a rule, in for_each order (the order of its check cells)."""
    known = _EXPANDED.setdefault(form, {})
    if rule.id not in known:
        known[rule.id] = _expand_rule(form, rule)
    return known[rule.id]


def _expand_rule(form: Form, rule: RuleDef) -> list[RuleInstance]:
    names = list(rule.for_each)
    instances = []
    check_cells = rule.check.cells if rule.check else []
    for index, values in enumerate(product(*(rule.for_each[n] for n in names))):
        bindings = dict(zip(names, values, strict=True))
        text = rule.assert_
        for name, value in bindings.items():
            text = text.replace("{" + name + "}", value)
        left, op, right = _parse_assertion(form, text)
        instances.append(
            RuleInstance(
                rule=rule,
                bindings=bindings,
                left=left,
                op=op,
                right=right,
                check_cell=check_cells[index] if index < len(check_cells) else None,
            )
        )
    return instances


def _parse_assertion(form: Form, text: str) -> tuple[tuple[Term, ...], str, tuple[Term, ...]]:
    ops = [op for op in _COMPARISONS if op in text]
    if len(ops) != 1 or text.count(ops[0]) != 1:
        raise RuleSyntaxError(f"断言需要恰好一个比较符（{' '.join(_COMPARISONS)}）：{text}")
    left_text, right_text = text.split(ops[0])
    return _parse_sum(form, left_text), ops[0], _parse_sum(form, right_text)


def _parse_sum(form: Form, text: str) -> tuple[Term, ...]:
    terms: list[Term] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TERM.match(text, position)
        if not match or (terms and not match.group(1)):
            raise RuleSyntaxError(f"无法解析表达式：{text}")
        sign = -1 if match.group(1) == "-" else 1
        token = match.group(2)
        position = match.end()
        if re.fullmatch(r"\d+(\.\d+)?", token):
            terms.append(Term(sign, None, Decimal(token)))
            continue
        if "{" in token:
            raise RuleSyntaxError(f"变量 {token} 没有在 for_each 中定义")
        parts = token.split(".")
        if len(parts) != 3:
            raise RuleSyntaxError(f"单元格引用应写作 表.行.列：{token}")
        table_id, row_id, column_id = parts
        try:
            table = form.table(table_id)
            row = next(r for r in table.rows if r.id == row_id)
        except (KeyError, StopIteration):
            raise RuleSyntaxError(f"引用了不存在的表格或行：{token}") from None
        if column_id not in {c.id for c in form.row_columns(table, row)}:
            raise RuleSyntaxError(f"引用了不存在的列：{token}")
        terms.append(Term(sign, Ref(table_id, row_id, column_id)))
    if not terms:
        raise RuleSyntaxError(f"表达式为空：{text}")
    return tuple(terms)


# ---------------------------------------------------------------------------------------
# Evaluation on the report model


def recompute(form: Form, tables: dict[str, dict[str, dict[str, Number]]]) -> None:
    """Overwrite every computed cell with the sum of its terms (nested totals resolved)."""
    computed = form.computed_cells
    done: set[tuple[str, str, str]] = set()

    def value(table_id: str, row_id: str, column_id: str) -> Number:
        key = (table_id, row_id, column_id)
        cell = computed.get(key)
        if cell is not None and key not in done:
            total: Number = sum((value(table_id, r, c) for r, c in cell.terms), 0)
            tables[table_id][row_id][column_id] = total
            done.add(key)
        return tables[table_id][row_id][column_id]

    for table_id, row_id, column_id in computed:
        value(table_id, row_id, column_id)


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
            row=_label(table.rows, row_id), column=_label(table.columns, column_id)
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
            if _holds(left, instance.op, right):
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


def _holds(left: Number, op: str, right: Number) -> bool:
    if op == "==":
        return left == right
    if op == "<=":
        return left <= right
    return left >= right


def _finding(form: Form, report: Report, instance: RuleInstance, left: Number, right: Number) -> Finding:
    placeholders: dict[str, object] = {"left": left, "right": right, "diff": left - right}
    for name, value in instance.bindings.items():
        placeholders[name] = _binding_label(form, instance, value)
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


def _binding_label(form: Form, instance: RuleInstance, value: str) -> str:
    for ref in instance.refs():
        table = form.table(ref.table)
        if ref.column == value:
            return _label(table.columns, value)
        if ref.row == value:
            return _label(table.rows, value)
    return value


def _label(items: list, item_id: str) -> str:
    return next(item.label for item in items if item.id == item_id)


# ---------------------------------------------------------------------------------------
# Excel formulas generated from the same definitions


@cache  # forms live for the whole process; every workbook written asks the same questions
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
    if _holds(left, instance.op, right):
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
                        column=_label(table.columns, column_id), current=value, previous=before[column_id]
                    ),
                    sheet=table.sheet,
                    cell=form.table_cell(table, link.current_row, column_id).a1,
                    expected=str(before[column_id]),
                    found=str(value),
                )
            )
    return findings
