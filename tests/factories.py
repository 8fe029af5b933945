"""Valid sample reports for tests and benchmarks, built from any form definition."""

from __future__ import annotations

import io
import random
from decimal import Decimal
from pathlib import Path

import openpyxl

from tianbao.form import Form
from tianbao.form.grammar import expand_rule
from tianbao.report import Report, Unit, empty_report
from tianbao.rules.check import evaluate, recompute
from tianbao.workbook.write import WriteOptions, render_workbook


def random_report(form: Form, seed: int) -> Report:
    """Random counts and amounts in every table input (rules may well fail: that is tested too)."""
    rng = random.Random(seed)
    report = empty_report(form, Unit(code=f"U{seed}", name=f"单位{seed}", level="区县政府部门"), 2025)
    for cell in form.input_cells:
        if cell.section in report.tables:
            row, column = cell.key
            if cell.type == "decimal":
                value: int | Decimal = Decimal(rng.randrange(0, 10**8)) / Decimal(10**cell.places)
            else:
                value = rng.randrange(0, 50)
            report.tables[cell.section][row][column] = value
    return report


def filled_without_results(form: Form, report: Report, path: Path) -> Path:
    """A blank workbook with the report's inputs typed in by openpyxl, which saves no cached
    formula results: whatever totals a client shows after opening it, the client computed."""
    blank = render_workbook(form, empty_report(form, Unit(name=""), 0), WriteOptions(password="pw"))
    book = openpyxl.load_workbook(io.BytesIO(blank))
    for cell in form.input_cells:
        if cell.section in report.tables:
            value = report.tables[cell.section][cell.key[0]][cell.key[1]]
            book[cell.sheet][cell.a1].value = float(value) if isinstance(value, Decimal) else value
        else:
            book[cell.sheet][cell.a1].value = report.field_value(form, cell.section, cell.key[0])
    book.save(path)
    return path


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
