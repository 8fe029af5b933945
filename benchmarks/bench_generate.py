"""Workbook generation speed: tianbao's generator beside a bare XlsxWriter baseline.

The baseline writes the same cells (labels, input values, formulas) on the same sheets, with
no styles, validation, protection, defined names or identity. The two are timed in turns
(the machine may be shared): medians of wall time and of CPU time, which other processes
disturb less. Prints a table.

    python benchmarks/bench_generate.py [--repeat 50] [--units 500]
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import xlsxwriter

from tianbao.cells import Range
from tianbao.form import Form, resolve_form
from tianbao.form.grammar import expand_rule
from tianbao.form.spec import FieldsSection
from tianbao.report import Unit, empty_report
from tianbao.rules.excel import check_formula, computed_formula
from tianbao.stages.distribute import distribute
from tianbao.workbook.write import WriteOptions, render_workbook


def baseline(form: Form) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheets = {name: book.add_worksheet(name) for name in form.sheet_names}
    for index, line in enumerate(form.spec.instructions.lines):
        sheets[form.spec.instructions.sheet].write_string(index + 1, 1, line)
    for section in form.sections:
        sheet = sheets[section.sheet]
        if isinstance(section, FieldsSection):
            for field in section.fields:
                sheet.write_string(field.row - 1, 0, field.label)
            continue
        for label in section.labels:
            cell = Range.parse(label.range).shifted(form.origin(section)).first
            sheet.write_string(cell.row, cell.col, label.text)
    for cell in form.input_cells:
        if cell.section in {t.id for t in form.tables}:
            sheets[cell.sheet].write_number(cell.cell.row, cell.cell.col, 0)
    for (table_id, row_id, column_id), computed in form.computed_cells.items():
        sheets[computed.sheet].write_formula(
            computed.cell.row, computed.cell.col, computed_formula(form, table_id, row_id, column_id), None, 0
        )
    for rule in form.spec.rules:
        for instance in expand_rule(form, rule):
            target = Range.parse(instance.check_cell).first
            formula = check_formula(form, instance, rule.check.sheet)
            sheets[rule.check.sheet].write_formula(target.row, target.col, formula)
    book.close()
    return buffer.getvalue()


def in_turns(actions: list[Callable[[], object]], repeat: int) -> list[tuple[float, float]]:
    """(median wall, median CPU) seconds of each action, run one after the other `repeat` times."""
    samples: list[list[tuple[float, float]]] = [[] for _ in actions]
    for _ in range(repeat):
        for index, action in enumerate(actions):
            wall, cpu = time.perf_counter(), time.process_time()
            action()
            samples[index].append((time.perf_counter() - wall, time.process_time() - cpu))
    return [(statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)) for runs in samples]


GOAL = 2.0  # x the bare XlsxWriter workbook, for one workbook and per distributed unit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--units", type=int, default=500)
    args = parser.parse_args()
    form = resolve_form(None)
    report = empty_report(form, Unit(code="A1", name="某某区财政局", level="区县政府部门"), 2025)
    (tianbao_s, tianbao_cpu), (baseline_s, baseline_cpu) = in_turns(
        [lambda: render_workbook(form, report, WriteOptions(password="pw")), lambda: baseline(form)], args.repeat)

    with tempfile.TemporaryDirectory() as tmp:
        roster = Path(tmp) / "roster.csv"
        lines = ["code,name,level"] + [f"U{i:04d},单位{i},区县政府部门" for i in range(args.units)]
        roster.write_text("\n".join(lines), encoding="utf-8")
        wall, cpu = time.perf_counter(), time.process_time()
        distribute(form, roster, 2025, Path(tmp) / "out", password="pw", previous=None)
        distribute_s, distribute_cpu = time.perf_counter() - wall, time.process_time() - cpu

    per_unit, per_unit_cpu = distribute_s / args.units, distribute_cpu / args.units
    print(f"{'measure':<44}{'wall ms':>9}{'CPU ms':>9}{'goal':>7}{'ratio':>7}")
    print(f"{'tianbao workbook (median)':<44}{tianbao_s * 1000:>9.1f}{tianbao_cpu * 1000:>9.1f}")
    print(f"{'bare XlsxWriter, same cells (median)':<44}{baseline_s * 1000:>9.1f}{baseline_cpu * 1000:>9.1f}")
    print(f"{'tianbao / bare':<44}{tianbao_s / baseline_s:>9.2f}{tianbao_cpu / baseline_cpu:>9.2f}{GOAL:>7.1f}"
          f"{tianbao_s / baseline_s / GOAL:>7.2f}")
    print(f"{f'distribute {args.units} units, per unit':<44}{per_unit * 1000:>9.1f}{per_unit_cpu * 1000:>9.1f}")
    print(f"{'distribute per unit / bare':<44}{per_unit / baseline_s:>9.2f}{per_unit_cpu / baseline_cpu:>9.2f}"
          f"{GOAL:>7.1f}{per_unit / baseline_s / GOAL:>7.2f}")


if __name__ == "__main__":
    main()
