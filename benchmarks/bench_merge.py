"""Time `tianbao merge` on many unit reports beside the time to import them.

    python benchmarks/bench_merge.py [--units 10000] [--sample 300]

Builds N valid unit report JSON files and a roster, then:
  * runs the whole `tianbao merge` command as a child process (its wall time, and its peak
    memory: the child's maximum resident set size);
  * times the merge's steps in this process (read + re-check + sum = the district report,
    district.json, summary.xlsx, values.parquet/.csv, detail.xlsx up to its limit);
  * imports a sample of department workbooks with `import_batch` in one process (as
    benchmarks/bench_import.py does) and reads the same sample with python-calamine: the import
    time of N workbooks is the sample's per-file time × N (importing 10,000 takes too long here);
    the calamine column is what the import would take at its own goal (3× calamine).
Goals (#14): the district report ≤ 5% and the whole command ≤ 10% of the import time.
"""

from __future__ import annotations

import argparse
import random
import subprocess
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
from tianbao.io.values import VALUES_CSV, VALUES_PARQUET, write_values
from tianbao.report import Report, Unit, empty_report
from tianbao.rules.check import check_report
from tianbao.stages.detail import DETAIL_LIMIT, write_detail
from tianbao.stages.merge import DETAIL_XLSX, DISTRICT_JSON, SUMMARY_XLSX, MergeOptions, merge
from tianbao.stages.summary import render_summary
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


def import_seconds(form: Form, folder: Path, units: Path, sample: int) -> tuple[float, float]:
    """Seconds per workbook for `tianbao import` (one process) and for a bare calamine read."""
    from python_calamine import CalamineWorkbook

    from tianbao.io.reports import load_report
    from tianbao.stages.batch import import_batch

    books = folder / "workbooks"
    books.mkdir()
    paths = []
    for json_path in sorted(units.glob("*.json"))[:sample]:
        path = books / f"{json_path.stem}.xlsx"
        path.write_bytes(render_workbook(form, load_report(json_path, form), WriteOptions()))
        paths.append(path)
    start = time.perf_counter()
    import_batch(paths, form, folder / "imported")
    imported = (time.perf_counter() - start) / len(paths)
    start = time.perf_counter()
    for path in paths:
        book = CalamineWorkbook.from_path(str(path))
        for name in book.sheet_names:
            book.get_sheet_by_name(name).to_python()
    return imported, (time.perf_counter() - start) / len(paths)


def whole_command(folder: Path, units: Path) -> tuple[float, float]:
    """Wall seconds and peak memory (MB) of `python -m tianbao merge` in a child process."""
    import resource

    command = [sys.executable, "-m", "tianbao", "merge", str(units), "--roster", str(folder / "roster.csv"),
               "-o", str(folder / "cli-out"), "--unit-name", "bench"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr.decode("utf-8", "replace") + done.stdout.decode("utf-8", "replace"))
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # kilobytes on Linux
    return seconds, peak_kb / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=300, help="workbooks imported to measure the per-file time")
    args = parser.parse_args()
    form = resolve_form(None)
    console = Console()
    with tempfile.TemporaryDirectory(prefix="tianbao-bench-merge-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        units = build(form, folder, args.units)
        console.print(f"built {args.units} unit reports in {time.perf_counter() - started:.1f} s")
        command_seconds, peak_mb = whole_command(folder, units)

        out = folder / "out"
        steps: list[tuple[str, float]] = []
        start = time.perf_counter()
        result = merge(form, [units], folder / "roster.csv", MergeOptions(unit_name="bench"), out)
        assert len(result.summed) == args.units
        reports = [e.report for e in result.summed if e.report is not None]
        small = len(reports) <= DETAIL_LIMIT
        # The same steps as write_outputs, timed one by one.
        for label, step in (
            ("merge: read JSON, re-check, sum", lambda: None),
            (DISTRICT_JSON, lambda: write_atomic(out / DISTRICT_JSON, result.district.to_json())),
            (SUMMARY_XLSX, lambda: write_atomic(out / SUMMARY_XLSX, render_summary(result))),
            ("values.parquet" + (" + values.csv" if small else ""), lambda: write_values(
                form, reports, result.district, out / VALUES_PARQUET, out / VALUES_CSV if small else None)),
            (DETAIL_XLSX + ("" if small else f" (not written: > {DETAIL_LIMIT} units)"),
             lambda: write_detail(result, out / DETAIL_XLSX) if small else None),
        ):
            step()
            steps.append((label, time.perf_counter() - start))
            start = time.perf_counter()
        written = sorted(out.iterdir())
        per_file, calamine_per_file = import_seconds(form, folder, units, args.sample)

        imported = per_file * args.units
        at_goal = 3 * calamine_per_file * args.units
        table = Table(title=f"tianbao merge, {args.units} unit reports")
        for column in ("step", "seconds", "per unit (ms)", "share of import", "share at import goal"):
            table.add_column(column, justify="left" if column == "step" else "right")

        def row(label: str, seconds: float) -> None:
            table.add_row(label, f"{seconds:.1f}", f"{seconds / args.units * 1000:.2f}", f"{seconds / imported:.1%}",
                          f"{seconds / at_goal:.1%}")

        for label, seconds in steps:
            row(label, seconds)
        core = steps[0][1] + steps[1][1]
        row("district report (merge + district.json)", core)
        row("whole `tianbao merge` (child process)", command_seconds)
        table.add_row(f"import {args.units} workbooks (from {args.sample}, 1 process)", f"{imported:.1f}",
                      f"{per_file * 1000:.2f}", "100%", "")
        table.add_row(f"import at its goal, 3 × calamine ({calamine_per_file * 1000:.2f} ms)", f"{at_goal:.1f}",
                      f"{3 * calamine_per_file * 1000:.2f}", "", "100%")
        console.print(table)
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in written)
        console.print(f"outputs: {sizes}")
        console.print(f"peak memory of `tianbao merge` (child maxrss): {peak_mb:.0f} MB")
        for label, seconds, goal in (("district report", core, 0.05), ("whole tianbao merge", command_seconds, 0.10)):
            verdict = "met" if seconds <= goal * imported else "NOT met"
            console.print(f"goal <= {goal:.0%} of import, {label}: {verdict} ({seconds / imported:.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
