"""Totals and assertion rules over many reports at once: a merge re-checks ten thousand.

The same rule source as `rules.check`: the computed cells' terms (`recompute_plan`) and the
rule instances the definition expands to, evaluated on a units × cells matrix of integers
instead of report by report. It only decides which reports break some rule; those go through
`check_report` for their findings, so messages, cells and expected values have one
implementation. Amounts (decimal columns) are held in units of the finest place; a value
finer than that, or too large for an int64, sends the whole batch down the report-by-report
path: the matrix is exact or not used.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from tianbao.form.grammar import Term, expand_rule
from tianbao.form.query import Form
from tianbao.report import Report
from tianbao.rules.check import check_report, recompute, recompute_plan

# In units of the finest decimal place: far below int64's limit even summed over every cell
# of a table; larger values (not from a checked workbook) take the exact report-by-report path.
MAX_EXACT = 10**15


def recheck_many(form: Form, reports: list[Report]) -> list[bool]:
    """Recompute every report's totals (written back into it) and say, per report, whether
    some assertion rule fails on it."""
    matrix = _matrix(form, reports)
    if matrix is None:
        failing = []
        for report in reports:
            recompute(form, report.tables)
            failing.append(bool(check_report(form, report)))
        return failing
    values, index, scale = matrix
    amounts = {(t.id, c.id) for t in form.tables for c in t.columns if c.type == "decimal"}
    exponent = len(str(scale)) - 1
    for table_id, row_id, column_id, terms in recompute_plan(form):
        target = index[(table_id, row_id, column_id)]
        values[:, target] = values[:, [index[(table_id, r, c)] for r, c in terms]].sum(axis=1)
        scaled = values[:, target].tolist()
        totals = ([Decimal(v).scaleb(-exponent) for v in scaled] if (table_id, column_id) in amounts
                  else [v // scale for v in scaled])
        for report, total in zip(reports, totals, strict=True):
            report.tables[table_id][row_id][column_id] = total
    return _failing(form, reports, values, index, scale)


def _matrix(form: Form, reports: list[Report]) -> tuple[np.ndarray, dict[tuple[str, str, str], int], int] | None:
    """Every table value of every report as an int64 in units of the finest decimal place
    (amounts of 4 places: 1 = 0.0001), or None when that would not be exact."""
    scale = 10 ** max((c.places for t in form.tables for c in t.columns if c.type == "decimal"), default=0)
    keys = [(t.id, r, c) for t in form.tables for r, c in form.table_value_keys(t)]
    index = {key: i for i, key in enumerate(keys)}
    decimal_columns = {(t.id, c.id) for t in form.tables for c in t.columns if c.type == "decimal"}
    inputs = [key for key in keys if not form.is_computed(*key)]
    amounts = [i for i, (t, _, c) in enumerate(inputs) if (t, c) in decimal_columns]
    counts = [i for i, (t, _, c) in enumerate(inputs) if (t, c) not in decimal_columns]
    values = np.zeros((len(reports), len(keys)), dtype=np.int64)
    rows = [[report.tables[t][r][c] for t, r, c in inputs] for report in reports]
    if not rows:
        return values, index, scale
    for row in rows:
        for i in amounts:
            scaled = Decimal(row[i]) * scale
            if scaled != scaled.to_integral_value():  # finer than the column's places
                return None
            row[i] = int(scaled)
    try:
        block = np.array(rows, dtype=np.int64)
    except (OverflowError, TypeError, ValueError):
        return None
    block[:, counts] *= scale
    if np.abs(block).max(initial=0) > MAX_EXACT:
        return None
    values[:, [index[key] for key in inputs]] = block
    return values, index, scale


def _side(terms: tuple[Term, ...], values: np.ndarray, index: dict[tuple[str, str, str], int],
          scale: int) -> np.ndarray | None:
    total = np.zeros(values.shape[0], dtype=np.int64)
    for term in terms:
        if term.ref is None:
            constant = term.sign * Decimal(term.constant) * scale
            if constant != constant.to_integral_value():  # finer than the matrix's unit
                return None
            total += int(constant)
        else:
            total += term.sign * values[:, index[(term.ref.table, term.ref.row, term.ref.column)]]
    return total


def _failing(form: Form, reports: list[Report], values: np.ndarray,
             index: dict[tuple[str, str, str], int], scale: int) -> list[bool]:
    failing = np.zeros(len(reports), dtype=bool)
    for rule in form.spec.rules:
        applies = np.ones(len(reports), dtype=bool)
        if rule.when is not None:
            section = form.identity_section.id
            accepted = set(rule.when.values)
            applies = np.array([r.field_value(form, section, rule.when.field) in accepted for r in reports],
                               dtype=bool)
        for instance in expand_rule(form, rule):
            left = _side(instance.left, values, index, scale)
            right = _side(instance.right, values, index, scale)
            if left is None or right is None:  # evaluate this rule report by report, exactly
                failing |= applies & np.array([_breaks(form, r, rule.id) for r in reports], dtype=bool)
                continue
            holds = left == right if instance.op == "==" else (left <= right if instance.op == "<=" else left >= right)
            failing |= applies & ~holds
    return failing.tolist()


def _breaks(form: Form, report: Report, rule_id: str) -> bool:
    return any(f.rule == rule_id for f in check_report(form, report))

