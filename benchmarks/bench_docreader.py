"""Reading published reports back: time per document, faithful reads over the corpus, PDF readers.

1. Each report is generated with non-zero numbers, published with tianbao's publisher and read
   with `tianbao.document.read`; damaged variants are the tests' damage helpers.
2. The corpus of published-report shapes (tests/corpus, expectations written by hand): the
   share read faithfully (unit, year, every table cell and the exact findings as expected).
3. PDF: reports published as DOCX and printed to PDF by LibreOffice, read through poppler's
   `pdftotext -layout` and through pypdf's layout mode (whichever is installed).

    python benchmarks/bench_docreader.py [--repeat 20] [--pdf-seeds 3]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fixtures_docs import filled_report, half_width, lose_tabs, one_cell_per_line, published
from tianbao.document.read import Hints, read_document, read_document_bytes
from tianbao.errors import OfficeError
from tianbao.form import Form, resolve_form
from tianbao.report import Unit, empty_report
from tianbao.stages.office import convert

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--pdf-seeds", type=int, default=3, help="reports printed to PDF (0: skip)")
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
    print()
    corpus_rate(form)
    if args.pdf_seeds:
        print()
        pdf_readers(form, args.pdf_seeds)


def corpus_rate(form: Form) -> None:
    expected = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
    faithful = 0
    print(f"{'corpus report':32} {'tables':>7} {'identity':>9} {'findings':>9}")
    for name, want in sorted(expected.items()):
        got, findings = read_document(CORPUS / name, form, Hints(**want.get("hints", {})))
        tables = got is not None and got.tables == _tables(form, want["values"])
        identity = got is not None and (got.unit.name, got.year) == (want["unit"], want["year"])
        rules = [f.rule for f in findings] == want["rules"]
        faithful += tables and identity and rules
        print(f"{name:32} {tables!s:>7} {identity!s:>9} {rules!s:>9}")
    rate = faithful / len(expected)
    print(f"{'faithful reads':32} measured {faithful}/{len(expected)} = {rate:.0%}   goal 100%   ratio {rate:.2f}")


def _tables(form: Form, values: dict[str, int]) -> dict:
    tables = empty_report(form, Unit(name="x"), 2024).tables
    for key, value in values.items():
        table_id, row_id, column_id = key.split(".")
        tables[table_id][row_id][column_id] = value
    return tables


def pdf_readers(form: Form, seeds: int) -> None:
    readers = ["pdftotext"] if shutil.which("pdftotext") else []
    try:
        import pypdf  # noqa: F401

        readers.append("pypdf")
    except ImportError:
        pass
    if not readers:
        print("PDF: neither pdftotext nor pypdf is installed")
        return
    pdfs = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(seeds):
            report = filled_report(form, seed)
            source = Path(folder) / f"r{seed}.docx"
            source.write_bytes(published(form, report, "docx"))
            try:
                pdfs.append((report, convert(source, "pdf", Path(folder)).read_bytes()))
            except OfficeError as exc:
                print(f"PDF: {exc}")
                return
    real_which = shutil.which
    print(f"{'PDF reader':12} {'tables':>8} {'fee fields':>11} {'texts (spaces aside)':>21} {'no findings':>12} "
          f"{'median ms':>10}")
    for reader in readers:
        if reader == "pypdf":
            shutil.which = lambda name, *a, **k: None if name == "pdftotext" else real_which(name, *a, **k)
        tables = fees = texts = clean = 0
        times = []
        for report, data in pdfs:
            start = time.perf_counter()
            got, findings = read_document_bytes(data, "a.pdf", form)
            times.append((time.perf_counter() - start) * 1000)
            if got is None:
                continue
            tables += got.tables == report.tables
            fees += got.fields["other"] == report.fields["other"]
            texts += _squeezed(got.fields) == _squeezed(report.fields)
            clean += not findings
        shutil.which = real_which
        n = len(pdfs)
        median = statistics.median(times)
        print(f"{reader:12} {tables:>6}/{n} {fees:>9}/{n} {texts:>19}/{n} {clean:>10}/{n} {median:10.1f}")


def _squeezed(fields: dict) -> dict:
    return {s: {k: re.sub(r"\s+", "", v) if isinstance(v, str) else v for k, v in f.items()} for s, f in fields.items()}


if __name__ == "__main__":
    main()
