"""Valid sample reports for tests and benchmarks, built from any form definition."""

from __future__ import annotations

from tianbao.formdef import Form
from tianbao.model import Report
from tianbao.rules import evaluate, expand_rule, recompute


def satisfy_rules(form: Form, report: Report) -> None:
    """Top up inputs until every unconditional assertion of the form holds.

    For each failing instance, the shortfall is added to the first input cell on the
    smaller side; totals are recomputed as it goes.
    """
    for rule in form.spec.rules:
        if rule.when is not None:
            continue
        for instance in expand_rule(form, rule):
            recompute(form, report.tables)
            diff = evaluate(instance.left, report.tables) - evaluate(instance.right, report.tables)
            side = instance.right if diff > 0 else instance.left
            ref = next((t.ref for t in side if t.ref and not form.is_computed(t.ref.table, t.ref.row, t.ref.column)),
                       None)
            if ref is not None:
                report.tables[ref.table][ref.row][ref.column] += abs(diff)
    recompute(form, report.tables)
