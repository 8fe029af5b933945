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
from tianbao.io.values import picked_values
from tianbao.report import Report
from tianbao.rules.check import check_report, recompute, recompute_plan

# In units of the finest decimal place: far below int64's limit even summed over every cell
# of a table; larger values (not from a checked workbook) take the exact report-by-report path.
MAX_EXACT = 10**15


def recheck_many(form: Form, reports: list[Report]) -> list[bool]:
    """Recompute every report's totals (a stored total that differs is overwritten) and say,
    per report, whether some assertion rule fails on it."""
    scale = 10 ** max((c.places for t in form.tables for c in t.columns if c.type == "decimal"), default=0)
    keys = [(t.id, r, c) for t in form.tables for r, c in form.table_value_keys(t)]
    computed = [key for key in keys if form.is_computed(*key)]
    inputs = [key for key in keys if not form.is_computed(*key)]
    amounts = {(t.id, c.id) for t in form.tables for c in t.columns if c.type == "decimal"}
    given = _scaled(inputs, reports, scale, amounts)
    stored = _scaled(computed, reports, scale, amounts)
    if given is None:
        failing = []
        for report in reports:
            recompute(form, report.tables)
            failing.append(bool(check_report(form, report)))
        return failing
    index = {key: i for i, key in enumerate(keys)}
    values = np.zeros((len(reports), len(keys)), dtype=np.int64)
    values[:, [index[key] for key in inputs]] = given
    for table_id, row_id, column_id, terms in recompute_plan(form):
        values[:, index[(table_id, row_id, column_id)]] = values[:, [index[(table_id, r, c)] for r, c in terms]].sum(
            axis=1
        )
    # Write back only the totals a report stated wrongly: rewriting 340,000 correct ones cost
    # more than the whole re-check.
    sums = values[:, [index[key] for key in computed]]
    stale = np.ones_like(sums, dtype=bool) if stored is None else sums != stored
    exponent = len(str(scale)) - 1
    for unit, column in zip(*np.nonzero(stale), strict=True):
        table_id, row_id, column_id = computed[column]
        total = int(sums[unit, column])
        reports[unit].tables[table_id][row_id][column_id] = (
            Decimal(total).scaleb(-exponent) if (table_id, column_id) in amounts else total // scale
        )
    return _failing(form, reports, values, index, scale)


def _scaled(keys: list[tuple[str, str, str]], reports: list[Report], scale: int,
            amounts: set[tuple[str, str]]) -> np.ndarray | None:
    """The reports' values at `keys` as int64 in units of the finest decimal place (amounts of
    4 places: 1 = 0.0001), or None when that would not be exact."""
    if not reports or not keys:
        return np.zeros((len(reports), len(keys)), dtype=np.int64)
    decimal_at = [i for i, (t, _, c) in enumerate(keys) if (t, c) in amounts]
    count_at = [i for i, (t, _, c) in enumerate(keys) if (t, c) not in amounts]
    rows = picked_values(keys, reports)
    for row in rows:
        for i in decimal_at:
            scaled = Decimal(row[i]) * scale  # type: ignore[arg-type]
            if scaled != scaled.to_integral_value():  # finer than the column's places
                return None
            row[i] = int(scaled)
    try:
        block = np.array(rows, dtype=np.int64)
    except (OverflowError, TypeError, ValueError):
        return None
    block[:, count_at] *= scale
    if np.abs(block).max(initial=0) > MAX_EXACT:
        return None
    return block


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

