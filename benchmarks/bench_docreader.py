"""Reading published reports back: time per document, by format and by kind of damage.

Each report is generated with non-zero numbers, published with tianbao's publisher and read
with `tianbao.document.read`; damaged variants are the tests' damage helpers. Prints a table.

    python benchmarks/bench_docreader.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fixtures_docs import filled_report, half_width, lose_tabs, one_cell_per_line, published
from tianbao.document.read import read_document_bytes
from tianbao.form import resolve_form


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    form = resolve_form(None)
    report = filled_report(form)
    text = published(form, report, "txt").decode("utf-8")
    cases = {fmt: published(form, report, fmt) for fmt in ("txt", "md", "html", "docx")}
    cases["txt, lost tabs + half-width"] = half_width(lose_tabs(text)).encode("utf-8")
    cases["txt, one cell per line"] = one_cell_per_line(text).encode("utf-8")
    print(f"{'document':32} {'KB':>6} {'median ms':>10} {'max ms':>8} {'same numbers':>13}")
    for name, data in cases.items():
        times = []
        same = True
        for _ in range(args.repeat):
            start = time.perf_counter()
            got, _findings = read_document_bytes(data, f"a.{name}", form)
            times.append((time.perf_counter() - start) * 1000)
            same = same and got is not None and got.tables == report.tables
        print(f"{name:32} {len(data) / 1024:6.1f} {statistics.median(times):10.1f} {max(times):8.1f} {same!s:>13}")


if __name__ == "__main__":
    main()
