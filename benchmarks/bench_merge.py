"""Time `tianbao merge` on many unit reports beside the time to import them.

    python benchmarks/bench_merge.py [--units 10000] [--sample 40]

Builds N valid unit report JSON files and a roster, merges them (read + check + sum, then
the outputs: district.json, summary.xlsx, values.csv/.parquet) and imports a sample of
department workbooks with `tianbao.stages.intake.import_file`; the import time of N workbooks is
extrapolated from the sample's per-file time (importing 10,000 workbooks takes too long to
run here). Goal: the whole merge takes at most 10% of the import.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from factories import satisfy_rules
from tianbao.form import Form, resolve_form
from tianbao.io.atomic import write_atomic
from tianbao.report import Report, Unit, empty_report
from tianbao.rules.check import check_report
from tianbao.stages.merge import DISTRICT_JSON, SUMMARY_XLSX, MergeOptions, merge
from tianbao.stages.summary import render_summary, write_values
from tianbao.workbook.write import WriteOptions, render_workbook

YEAR = 2025
BASES = 7


def base_report(form: Form, level: str, seed: int) -> Report:
    """A valid report: random inputs, then every unconditional equality topped up to hold."""
    rng = random.Random(seed)
    report = empty_report(form, Unit(name="", level=level), YEAR)
    for cell in form.input_cells:
        if len(cell.key) == 2:
            value = Decimal(rng.randint(0, 999_999)) / 10_000 if cell.type == "decimal" else rng.randint(0, 30)
            report.tables[cell.section][cell.key[0]][cell.key[1]] = value
    satisfy_rules(form, report)
    assert not check_report(form, report)
    return report


def build(form: Form, folder: Path, count: int) -> Path:
    """`count` unit JSON files (scaled copies of a few valid bases stay valid) and a roster."""
    conditional = {v for rule in form.spec.rules if rule.when for v in rule.when.values}
    level = next(c for c in form.identity_section_choices("unit_level") or [""] if c not in conditional)
    bases = [base_report(form, level, seed) for seed in range(BASES)]
    units = folder / "units"
    units.mkdir()
    lines = ["code,name,level"]
    for index in range(count):
        report = bases[index % BASES].model_copy(deep=True)
        factor = 1 + index % 5
        for rows in report.tables.values():
            for values in rows.values():
                for column in values:
                    values[column] *= factor
        code = f"U{index:05d}"
        report.unit = Unit(code=code, name=f"单位{index}", level=level)
        (units / f"{code}.json").write_text(report.to_json(), encoding="utf-8")
        lines.append(f"{code},单位{index},{level}")
    (folder / "roster.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return units


def import_seconds(form: Form, folder: Path, units: Path, sample: int) -> float | None:
    """Seconds per workbook for `tianbao import`'s reader, or None when it is not available."""
    try:
        from tianbao.stages.intake import import_file
    except ImportError:
        return None
    from tianbao.io.reports import load_report

    books = folder / "workbooks"
    books.mkdir()
    paths = []
    for json_path in sorted(units.glob("*.json"))[:sample]:
        path = books / f"{json_path.stem}.xlsx"
        path.write_bytes(render_workbook(form, load_report(json_path, form), WriteOptions()))
        paths.append(path)
    start = time.perf_counter()
    for path in paths:
        outcome = import_file(path, form)
        assert outcome.report is not None, outcome.findings
    return (time.perf_counter() - start) / len(paths)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=40, help="workbooks imported to measure the per-file time")
    args = parser.parse_args()
    form = resolve_form(None)
    console = Console()
    with tempfile.TemporaryDirectory(prefix="tianbao-bench-merge-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        units = build(form, folder, args.units)
        console.print(f"built {args.units} unit reports in {time.perf_counter() - started:.1f} s")

        out = folder / "out"
        steps: list[tuple[str, float]] = []
        start = time.perf_counter()
        result = merge(form, [units], folder / "roster.csv", MergeOptions(unit_name="bench"), out)
        assert len(result.summed) == args.units
        # The same steps as write_outputs, timed one by one.
        for label, step in (
            ("merge: read JSON, re-check, sum", lambda: None),
            (DISTRICT_JSON, lambda: write_atomic(out / DISTRICT_JSON, result.district.to_json())),
            (SUMMARY_XLSX, lambda: write_atomic(out / SUMMARY_XLSX, render_summary(result))),
            ("values.csv + values.parquet", lambda: write_values(result, out)),
        ):
            step()
            steps.append((label, time.perf_counter() - start))
            start = time.perf_counter()
        written = sorted(out.iterdir())
        per_file = import_seconds(form, folder, units, args.sample)

        table = Table(title=f"tianbao merge, {args.units} unit reports")
        table.add_column("step")
        table.add_column("seconds", justify="right")
        table.add_column("per unit (ms)", justify="right")
        table.add_column("share of import", justify="right")
        imported = per_file * args.units if per_file is not None else None

        def row(label: str, seconds: float) -> None:
            share = f"{seconds / imported:.1%}" if imported else "n/a"
            table.add_row(label, f"{seconds:.1f}", f"{seconds / args.units * 1000:.2f}", share)

        for label, seconds in steps:
            row(label, seconds)
        core = steps[0][1] + steps[1][1]
        total = sum(seconds for _, seconds in steps)
        row("district report (merge + district.json)", core)
        row("whole tianbao merge", total)
        if imported is not None:
            table.add_row(
                f"import {args.units} workbooks (extrapolated from {args.sample})", f"{imported:.1f}",
                f"{per_file * 1000:.2f}", "100%",
            )
        console.print(table)
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in written)
        console.print(f"outputs: {sizes}")
        if imported is None:
            console.print("tianbao.stages.intake is not available: no import time to compare with")
            return 0
        for label, seconds in (("district report", core), ("whole tianbao merge", total)):
            verdict = "met" if seconds <= 0.1 * imported else "NOT met"
            console.print(f"goal <= 10% of import, {label}: {verdict} ({seconds / imported:.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
