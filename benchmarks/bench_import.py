"""Import throughput: `tianbao import` beside a bare python-calamine read and an openpyxl load.

    python benchmarks/bench_import.py [--files 300]

Builds N filled department workbooks, then times on the same files:
  * python-calamine: open each workbook and read every sheet's values (no checks at all);
  * openpyxl: a plain `load_workbook` of each file;
  * tianbao import (1 process and --jobs 2): sniff, identity, tamper checks, values, rules,
    one JSON per file and findings.csv/.xlsx.
Goal: the whole tianbao import within 3x of the bare calamine read.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import openpyxl
from python_calamine import CalamineWorkbook
from rich.console import Console
from rich.table import Table

from tianbao.form import Form, resolve_form
from tianbao.report import Report, Unit, empty_report
from tianbao.rules.check import recompute
from tianbao.stages.batch import import_batch
from tianbao.workbook.write import WriteOptions, render_workbook


def filled_report(form: Form, index: int, rng: random.Random) -> Report:
    levels = form.identity_section_choices("unit_level") or [""]
    report = empty_report(form, Unit(code=f"U{index:04d}", name=f"测试单位{index}", level=levels[-1]), 2025)
    for cell in form.input_cells:
        if cell.section not in report.tables:
            continue
        if cell.type == "decimal":
            value: int | Decimal = Decimal(rng.randint(0, 10**6)).scaleb(-cell.places)
        else:
            value = rng.randint(0, 50)
        report.tables[cell.section][cell.key[0]][cell.key[1]] = value
    # Keep every assertion rule true so the files are accepted, as most returns are.
    rows = report.tables["t3"]
    for column in rows["new"]:
        rows["carried_over"][column] = 0
        rows["carried_forward"][column] = 0
    recompute(form, report.tables)
    for column in rows["new"]:
        rows["new"][column] = rows["results_total"][column]
    report.tables["t2"]["regulations"] = dict.fromkeys(report.tables["t2"]["regulations"], 0)
    for section in form.field_sections:
        for field in section.fields:
            if field.id in report.fields.get(section.id, {}) and field.type == "longtext":
                report.fields[section.id][field.id] = "本年度依法依规做好政府信息公开工作。" * 20
    return report


def calamine_read(paths: list[Path]) -> None:
    for path in paths:
        book = CalamineWorkbook.from_path(str(path))
        for name in book.sheet_names:
            book.get_sheet_by_name(name).to_python()


def openpyxl_load(paths: list[Path]) -> None:
    for path in paths:
        openpyxl.load_workbook(path).close()


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=300)
    args = parser.parse_args()
    form = resolve_form(None)
    rng = random.Random(2025)
    with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
        inbox = Path(folder) / "in"
        inbox.mkdir()
        paths = []
        for index in range(args.files):
            path = inbox / f"{index:04d}.xlsx"
            path.write_bytes(render_workbook(form, filled_report(form, index, rng), WriteOptions(password="pw")))
            paths.append(path)
        rows = [
            ("python-calamine, read every sheet", timed(lambda: calamine_read(paths))),
            ("openpyxl load_workbook", timed(lambda: openpyxl_load(paths))),
            ("tianbao import, 1 process", timed(lambda: import_batch(paths, form, Path(folder) / "out1"))),
            ("tianbao import, --jobs 2", timed(lambda: import_batch(paths, form, Path(folder) / "out2", jobs=2))),
        ]
        accepted = len(list((Path(folder) / "out1").glob("*.json")))
    baseline = rows[0][1]
    table = Table(title=f"导入 {args.files} 个工作簿（接收 {accepted} 个）")
    for column in ("method", "seconds", "files/s", "x calamine"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for name, seconds in rows:
        table.add_row(name, f"{seconds:.2f}", f"{args.files / seconds:.0f}", f"{seconds / baseline:.2f}")
    console = Console()
    console.print(table)
    console.print("goal: tianbao import within 3.00 x calamine")


if __name__ == "__main__":
    main()
