"""Totals and assertion rules over many reports at once: a merge re-checks ten thousand.

The same rule source as `rules.check`: the computed cells' terms (`recompute_plan`) and the
rule instances the definition expands to, evaluated on a units × cells matrix of integers
instead of report by report. It only decides which reports break some rule; those go through
`check_report` for their findings, so messages, cells and expected values have one
implementation. A form with amounts (decimal columns) or a value that does not fit an int64
takes the report-by-report path: the matrix is exact or not used.
"""

from __future__ import annotations

import numpy as np

from tianbao.form.grammar import Term, expand_rule
from tianbao.form.query import Form
from tianbao.report import Report
from tianbao.rules.check import check_report, recompute, recompute_plan

# Far below int64's limit even summed over every cell of a table; larger values (not from a
# checked workbook) take the exact report-by-report path.
MAX_EXACT = 10**12


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
    values, index = matrix
    for table_id, row_id, column_id, terms in recompute_plan(form):
        target = index[(table_id, row_id, column_id)]
        values[:, target] = values[:, [index[(table_id, r, c)] for r, c in terms]].sum(axis=1)
        totals = values[:, target].tolist()
        for report, total in zip(reports, totals, strict=True):
            report.tables[table_id][row_id][column_id] = total
    return _failing(form, reports, values, index)


def _matrix(form: Form, reports: list[Report]) -> tuple[np.ndarray, dict[tuple[str, str, str], int]] | None:
    """Every table value of every report as int64, or None when the matrix would not be exact."""
    if any(column.type == "decimal" for table in form.tables for column in table.columns):
        return None
    keys = [(t.id, r, c) for t in form.tables for r, c in form.table_value_keys(t)]
    index = {key: i for i, key in enumerate(keys)}
    inputs = [key for key in keys if not form.is_computed(*key)]
    columns = [index[key] for key in inputs]
    values = np.zeros((len(reports), len(keys)), dtype=np.int64)
    rows = [[report.tables[t][r][c] for t, r, c in inputs] for report in reports]
    if not rows:
        return values, index
    try:
        block = np.array(rows, dtype=np.int64)
    except (OverflowError, TypeError, ValueError):
        return None
    if np.abs(block).max(initial=0) > MAX_EXACT:
        return None
    values[:, columns] = block
    return values, index


def _side(terms: tuple[Term, ...], values: np.ndarray, index: dict[tuple[str, str, str], int]) -> np.ndarray | None:
    total = np.zeros(values.shape[0], dtype=np.int64)
    for term in terms:
        if term.ref is None:
            constant = term.sign * term.constant
            if constant != int(constant):  # a fractional constant: not for integer arithmetic
                return None
            total += int(constant)
        else:
            total += term.sign * values[:, index[(term.ref.table, term.ref.row, term.ref.column)]]
    return total


def _failing(form: Form, reports: list[Report], values: np.ndarray,
             index: dict[tuple[str, str, str], int]) -> list[bool]:
    failing = np.zeros(len(reports), dtype=bool)
    for rule in form.spec.rules:
        applies = np.ones(len(reports), dtype=bool)
        if rule.when is not None:
            section = form.identity_section.id
            accepted = set(rule.when.values)
            applies = np.array([r.field_value(form, section, rule.when.field) in accepted for r in reports],
                               dtype=bool)
        for instance in expand_rule(form, rule):
            left = _side(instance.left, values, index)
            right = _side(instance.right, values, index)
            if left is None or right is None:  # evaluate this rule report by report, exactly
                failing |= applies & np.array([_breaks(form, r, rule.id) for r in reports], dtype=bool)
                continue
            holds = left == right if instance.op == "==" else (left <= right if instance.op == "<=" else left >= right)
            failing |= applies & ~holds
    return failing.tolist()


def _breaks(form: Form, report: Report, rule_id: str) -> bool:
    return any(f.rule == rule_id for f in check_report(form, report))

