"""Publishing speed: building the document model, then rendering each format. Prints a table.

    python benchmarks/bench_publish.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from tianbao.document.publish import FORMATS, publish, render
from tianbao.document.publish.document import build_document
from tianbao.form import Form, resolve_form
from tianbao.report import Report, Unit, empty_report
from tianbao.rules.check import recompute


def sample_report(form: Form) -> Report:
    report = empty_report(form, Unit(name="基准测试区"), 2025)
    rng = random.Random(1)
    for table in form.tables:
        for row in table.rows:
            for column in form.row_columns(table, row):
                value = Decimal(rng.randrange(0, 10**8)) / 10**4 if column.type == "decimal" else rng.randrange(0, 500)
                report.tables[table.id][row.id][column.id] = value
    recompute(form, report.tables)
    for section in form.field_sections:
        for field in section.fields:
            if field.type == "longtext":
                report.fields[section.id][field.id] = "本年度工作情况说明。" * 80
    return report


def median_ms(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    form = resolve_form(None)
    report = sample_report(form)
    doc = build_document(form, report)
    rows = [("document model", median_ms(lambda: build_document(form, report), args.repeat))]
    rows += [(f"render {fmt}", median_ms(lambda fmt=fmt: render(doc, fmt), args.repeat)) for fmt in FORMATS]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "report.json"
        source.write_text(report.to_json(), encoding="utf-8")
        rows += [
            (f"publish {fmt} (load, check, write)",
             median_ms(lambda fmt=fmt: publish(source, Path(tmp) / f"out.{fmt}"), args.repeat))
            for fmt in FORMATS
        ]
    width = max(len(name) for name, _ in rows)
    print(f"{'step'.ljust(width)}  median ms  (repeat {args.repeat})")
    for name, ms in rows:
        print(f"{name.ljust(width)}  {ms:9.1f}")


if __name__ == "__main__":
    main()
