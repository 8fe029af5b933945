"""`tianbao publish`: every number of the JSON lands in the right cell of every format,
every official label is printed, merges equal the definition, and the real clients
(LibreOffice, Chromium) accept the documents."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import re
import struct
import subprocess
import zipfile
import zlib
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import docx
import pytest
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn

from clirun import tianbao
from tianbao.cells import Range, column_index
from tianbao.document.publish import publish
from tianbao.document.publish.document import Heading, Paragraph, build_document
from tianbao.document.publish.grid import build_grid, format_number
from tianbao.errors import UserError
from tianbao.form import Form, load_form
from tianbao.form.spec import FieldsSection, TableSection
from tianbao.report import Finding, Report, Review, SourceEntry, Unit, empty_report
from tianbao.rules.check import recompute
from tianbao.stages.office import convert

MINI_FORM = Path(__file__).parent / "forms" / "mini.yaml"
AMOUNT, AMOUNT_TEXT = Decimal("4068.2080"), "4068.208"
HOSTILE = '<script>alert("x")</script> =HYPERLINK("http://evil.example","点我")'


# ---------------------------------------------------------------------------------------
# Test reports


def filled_report(form: Form, *, seed: int = 1, name: str = "示例县某某局", kind: str = "unit") -> Report:
    """Distinct random counts in every input, so a number found in a cell can only be that cell's."""
    report = empty_report(form, Unit(code="U001", name=name, level=""), 2025)
    report.kind = kind  # type: ignore[assignment]
    inputs = [(t, r.id, c) for t in form.tables for r in t.rows for c in form.row_columns(t, r)
              if not form.is_computed(t.id, r.id, c.id)]
    numbers = iter(random.Random(seed).sample(range(10_000, 99_999), len(inputs)))
    for table, row_id, column in inputs:
        report.tables[table.id][row_id][column.id] = AMOUNT if column.type == "decimal" else next(numbers)
    recompute(form, report.tables)
    for section in form.field_sections:
        for field in section.fields:
            if field.id in report.fields.get(section.id, {}) and field.type == "longtext":
                report.fields[section.id][field.id] = f"{section.id}-{field.id} 第一段。\n\n{HOSTILE}"
    return report


def write_report(report: Report, folder: Path, name: str = "report.json") -> Path:
    path = folder / name
    path.write_text(report.to_json(), encoding="utf-8")
    return path


def district_report(form: Form) -> Report:
    report = filled_report(form, seed=7, name="示例县", kind="district")
    report.sources = [
        SourceEntry(unit_code=f"U00{i}", unit_name=f"单位{i}", status="imported", summed=True) for i in range(1, 4)
    ]
    return report


def expected_text(value: int | Decimal) -> str:
    return AMOUNT_TEXT if isinstance(value, Decimal) else str(value)


def value_cells(form: Form, table: TableSection, report: Report) -> list[tuple[int, int, int, str]]:
    """(grid row, grid col, colspan, expected text) of every value of a table."""
    found = []
    for row in table.rows:
        for column in form.row_columns(table, row):
            first = column_index(column.col)
            span = column_index(column.span_to) - first + 1 if column.span_to else 1
            found.append((row.row - 1, first, span, expected_text(report.tables[table.id][row.id][column.id])))
    return found


# ---------------------------------------------------------------------------------------
# Reading the outputs back


class HtmlReader(HTMLParser):
    """Tables (caption, rows of cells with attributes and text), headings, paragraphs, tags."""

    TEXT_TAGS = ("title", "h1", "h2", "h3", "p", "caption")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self.blocks: list[tuple[str, str]] = []
        self.tags: set[str] = set()
        self._sink: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "table":
            self.tables.append({"caption": "", "rows": []})
        elif tag == "tr":
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._sink = {"tag": tag, "attrs": dict(attrs), "text": ""}
            self.tables[-1]["rows"][-1].append(self._sink)
        elif tag in self.TEXT_TAGS:
            self._sink = {"tag": tag, "text": ""}
        elif tag == "br" and self._sink is not None:
            self._sink["text"] += "\n"

    def handle_data(self, data: str) -> None:
        if self._sink is not None:
            self._sink["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag in self.TEXT_TAGS and self._sink is not None:
            if tag == "caption":
                self.tables[-1]["caption"] = self._sink["text"]
            self.blocks.append((tag, self._sink["text"]))
        if tag in (*self.TEXT_TAGS, "td", "th"):
            self._sink = None


def read_html(path: Path) -> HtmlReader:
    reader = HtmlReader()
    reader.feed(path.read_text(encoding="utf-8"))
    reader.close()
    return reader


def occupancy(rows: list[list[dict]]) -> dict[tuple[int, int], tuple[dict, int, int]]:
    """(row, col) -> (cell, top, left), laid out by rowspan/colspan as a browser does."""
    grid: dict[tuple[int, int], tuple[dict, int, int]] = {}
    for r, cells in enumerate(rows):
        c = 0
        for cell in cells:
            while (r, c) in grid:
                c += 1
            rowspan, colspan = int(cell["attrs"].get("rowspan", 1)), int(cell["attrs"].get("colspan", 1))
            for dr in range(rowspan):
                for dc in range(colspan):
                    assert (r + dr, c + dc) not in grid, f"overlapping cells at {(r + dr, c + dc)}"
                    grid[(r + dr, c + dc)] = (cell, r, c)
            c += colspan
    return grid


def check_html_tables(form: Form, report: Report, reader: HtmlReader) -> None:
    tables = {t["caption"]: t for t in reader.tables}
    assert list(tables) == [t.title for t in form.tables if t.in_document]
    for table in form.tables:
        grid = occupancy(tables[table.title]["rows"])
        n_rows = 1 + max(r for r, _ in grid)
        n_cols = 1 + max(c for _, c in grid)
        assert len(grid) == n_rows * n_cols, f"{table.id}: the table is not a full rectangle"
        for label in table.labels:
            rng = Range.parse(label.range)
            cell, top, left = grid[(rng.first.row, rng.first.col)]
            assert (top, left) == (rng.first.row, rng.first.col), label.range
            assert cell["tag"] == "th" and cell["text"] == label.text
            assert int(cell["attrs"].get("rowspan", 1)) == rng.rowspan, label.range
            assert int(cell["attrs"].get("colspan", 1)) == rng.colspan, label.range
            assert cell["attrs"].get("scope") in ("col", "colgroup", "row", "rowgroup")
        for row, col, span, text in value_cells(form, table, report):
            cell, top, left = grid[(row, col)]
            assert (top, left, cell["tag"], cell["text"]) == (row, col, "td", text), (table.id, row, col)
            assert int(cell["attrs"].get("colspan", 1)) == span


def check_docx_tables(form: Form, report: Report, document: docx.document.Document) -> None:
    assert len(document.tables) == len(form.tables)
    for table, word in zip(form.tables, document.tables, strict=True):
        grid = build_grid(form, table, report.tables[table.id])
        assert (len(word.rows), len(word.columns)) == (grid.n_rows, grid.n_cols)
        # Keep every cell element referenced so identity comparisons are stable.
        tcs = {(r, c): word.cell(r, c)._tc for r in range(grid.n_rows) for c in range(grid.n_cols)}
        assert len({id(tc) for tc in tcs.values()}) == len(grid.cells), f"{table.id}: merges differ"
        for label in table.labels:
            rng = Range.parse(label.range)
            top = tcs[(rng.first.row, rng.first.col)]
            assert all(tcs[(c.row, c.col)] is top for c in rng.cells()), f"{table.id} {label.range} not merged"
            # A printed line break (where the form allows one) is the only change to a label.
            printed = table.print_breaks.get(label.text, label.text).replace("|", "\n")
            assert word.cell(rng.first.row, rng.first.col).text == printed
        for row, col, span, text in value_cells(form, table, report):
            assert word.cell(row, col).text == text, (table.id, row, col)
            assert all(tcs[(row, col + i)] is tcs[(row, col)] for i in range(span))


def docx_paragraphs(document: docx.document.Document) -> list[str]:
    return [p.text for p in document.paragraphs if p.text]


def official_texts(form: Form, report: Report) -> list[str]:
    """Title, part titles and sub-headings the document must print, in order."""
    texts = [form.spec.document_title.format(unit_name=report.unit.name, year=report.year)]
    for section in form.sections:
        if not section.in_document:
            continue
        texts.append(section.title)
        if isinstance(section, FieldsSection):
            texts += [f.label for f in section.fields if f.document_role == "heading"]
    return texts


# ---------------------------------------------------------------------------------------
# The shared grid model


def test_format_number_keeps_decimals_exact() -> None:
    assert format_number(Decimal("4068.2080")) == "4068.208"
    assert format_number(Decimal("12.5000")) == "12.5"
    assert format_number(Decimal("100.0000")) == "100"
    assert format_number(Decimal("1E+2")) == "100"
    assert format_number(Decimal("0.0000")) == "0"
    assert format_number(Decimal("0.0001")) == "0.0001"
    assert format_number(Decimal("123456789.1234")) == "123456789.1234"
    assert format_number(7) == "7"


def test_table_three_and_four_heads_are_the_official_merged_layout(form: Form) -> None:
    """format-2021.md §4 and §5: the merged header ranges, and the head repeated on each page."""
    report = filled_report(form)
    heads = {}
    for table in form.tables:
        grid = build_grid(form, table, report.tables[table.id])
        heads[table.id] = (grid.head_rows, {c.a1 for c in grid.cells if c.row < grid.head_rows})
    assert heads["t3"] == (3, {"A1:C3", "D1:J1", "D2:D3", "E2:I2", "J2:J3", "E3", "F3", "G3", "H3", "I3"})
    assert heads["t4"] == (3, {"A1:E1", "F1:O1", "A2:A3", "B2:B3", "C2:C3", "D2:D3", "E2:E3", "F2:J2", "K2:O2",
                               "F3", "G3", "H3", "I3", "J3", "K3", "L3", "M3", "N3", "O3"})
    # Table two repeats its header rows further down, so it has no single head.
    assert heads["t2"][0] == 0
    t3 = build_grid(form, form.table("t3"), report.tables["t3"])
    assert {c.a1 for c in t3.cells if c.header and c.rowspan > 1 and c.col == 0} == {"A1:C3", "A6:A27"}
    assert t3.label_columns == [0, 1, 2]


def test_table_two_values_merge_across_the_official_range(form: Form) -> None:
    report = filled_report(form)
    grid = build_grid(form, form.table("t2"), report.tables["t2"])
    merged_values = {c.a1: c.text for c in grid.cells if c.value and c.colspan > 1}
    assert set(merged_values) == {"B7:D7", "B10:D10", "B11:D11", "B14:D14"}
    assert merged_values["B14:D14"] == AMOUNT_TEXT
    assert all(not c.text for c in grid.cells if not c.header and not c.value)  # no invented cells with text


# ---------------------------------------------------------------------------------------
# Document content


def test_document_follows_the_definition(form: Form) -> None:
    report = filled_report(form)
    doc = build_document(form, report, intro="开头第一段。\n开头第二段。", date=dt.date(2026, 1, 20))
    assert doc.title == official_texts(form, report)[0]
    titles = [b.text if isinstance(b, Heading) else b.grid.title for b in doc.blocks if not isinstance(b, Paragraph)]
    assert titles == official_texts(form, report)[1:]
    assert [b.text for b in doc.blocks[:2]] == ["开头第一段。", "开头第二段。"]
    assert doc.signature == (report.unit.name, "2026年1月20日")
    hidden = [f for s in form.field_sections for f in s.fields if f.document_role == "hidden"]
    texts = [b.text for b in doc.blocks if isinstance(b, Paragraph)]
    assert hidden and not any(f.label in texts for f in hidden)


def _fee_paragraphs(form: Form, report: Report) -> list[str]:
    doc = build_document(form, report)
    section = next(s for s in form.field_sections if s.document_sentences)
    start = next(i for i, b in enumerate(doc.blocks) if isinstance(b, Heading) and b.text == section.title)
    return [b.text for b in doc.blocks[start + 1 :] if isinstance(b, Paragraph)]


def test_fee_sentence_from_structured_fields(form: Form) -> None:
    section = next(s for s in form.field_sections if s.document_sentences)
    sentence = section.document_sentences[0]
    text_field = next(f for f in section.fields if f.document_role == "text")
    count_id, amount_id = sentence.zero_when

    report = filled_report(form)
    report.fields[section.id][text_field.id] = "其他事项正文。"
    report.fields[section.id][count_id] = 3
    report.fields[section.id][amount_id] = Decimal("380.50")
    paragraphs = _fee_paragraphs(form, report)
    assert paragraphs[0] == "其他事项正文。"
    assert paragraphs[-1] == sentence.text.format(**{count_id: "3", amount_id: "380.5"})

    report.fields[section.id][count_id] = 0
    report.fields[section.id][amount_id] = None
    assert _fee_paragraphs(form, report)[-1] == sentence.zero_text

    report.fields[section.id][text_field.id] = f"本年度{sentence.unless_text_contains}另有说明。"
    report.fields[section.id][count_id] = 3
    assert _fee_paragraphs(form, report) == [f"本年度{sentence.unless_text_contains}另有说明。"]


def test_signature_date_from_the_report_else_today(form: Form) -> None:
    report = filled_report(form)
    date_field = next(f for f in form.identity_section.fields if f.type == "date")
    report.fields[form.identity_section.id][date_field.id] = "2026-01-15"
    assert build_document(form, report).signature[1] == "2026年1月15日"
    assert build_document(form, report, date=dt.date(2026, 3, 1)).signature[1] == "2026年3月1日"
    report.fields[form.identity_section.id][date_field.id] = None
    today = dt.date.today()
    assert build_document(form, report).signature[1] == f"{today.year}年{today.month}月{today.day}日"


def test_control_characters_in_department_text_are_dropped(form: Form, tmp_path: Path) -> None:
    report = filled_report(form)
    section = form.field_sections[1]
    report.fields[section.id][section.fields[0].id] = "正文\x00含\x0b控制\x1f字符"
    path = write_report(report, tmp_path)
    publish(path, tmp_path / "out.docx")
    paragraphs = docx_paragraphs(docx.Document(str(tmp_path / "out.docx")))
    assert "正文含控制字符" in paragraphs


# ---------------------------------------------------------------------------------------
# HTML


@pytest.mark.parametrize("kind", ["unit", "district"])
def test_html_has_every_number_label_and_merge(form: Form, tmp_path: Path, kind: str) -> None:
    report = filled_report(form) if kind == "unit" else district_report(form)
    path = write_report(report, tmp_path)
    before = path.read_bytes()
    out = tmp_path / "年报.html"
    result = publish(path, out, intro="依据条例编制本报告。", footer_hash=True)
    assert result.format == "html" and path.read_bytes() == before
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask, "the page must get the mode of a plainly created file"

    reader = read_html(out)
    check_html_tables(form, report, reader)
    texts = [text for _, text in reader.blocks]
    headings = [text for tag, text in reader.blocks if tag in ("h1", "h2", "h3", "caption")]
    assert headings == official_texts(form, report)
    assert ("h1", official_texts(form, report)[0]) in reader.blocks
    assert "依据条例编制本报告。" in texts
    assert HOSTILE in texts  # department text shown as text
    assert f"{report.unit.name}\n" in texts[-2]
    assert hashlib.sha256(before).hexdigest() in texts[-1]


def test_html_is_self_contained_and_cms_friendly(form: Form, tmp_path: Path) -> None:
    out = tmp_path / "年报.htm"
    publish(write_report(filled_report(form), tmp_path), out)
    html = out.read_text(encoding="utf-8")
    reader = read_html(out)
    assert "<script" not in html.lower() and "&lt;script&gt;" in html
    assert not re.search(r"\b(src|href)\s*=|@import|url\(", html)
    assert reader.tags <= {"html", "head", "meta", "title", "style", "body", "div", "h1", "h2", "h3", "p", "br",
                           "table", "caption", "colgroup", "col", "thead", "tbody", "tr", "th", "td"}
    assert "size: A4" in html
    assert all('style="' in line for line in html.splitlines() if line.startswith(("<table", "<tr><t")))


# ---------------------------------------------------------------------------------------
# DOCX


@pytest.mark.parametrize("kind", ["unit", "district"])
def test_docx_has_every_number_label_and_merge(form: Form, tmp_path: Path, kind: str) -> None:
    report = filled_report(form) if kind == "unit" else district_report(form)
    path = write_report(report, tmp_path)
    out = tmp_path / "年报.docx"
    publish(path, out, intro="依据条例编制本报告。", date=dt.date(2026, 1, 20), footer_hash=True)
    document = docx.Document(str(out))
    check_docx_tables(form, report, document)
    paragraphs = docx_paragraphs(document)
    expected = official_texts(form, report)
    assert [p for p in paragraphs if p in expected] == expected
    assert HOSTILE in paragraphs
    assert paragraphs[-3:-1] == [report.unit.name, "2026年1月20日"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() in paragraphs[-1]


def _east_asia(run: docx.text.run.Run) -> str | None:
    return run._element.rPr.rFonts.get(qn("w:eastAsia"))


def test_docx_is_a_gongwen_page(form: Form, tmp_path: Path) -> None:
    report = filled_report(form)
    out = tmp_path / "年报.docx"
    publish(write_report(report, tmp_path), out)
    document = docx.Document(str(out))
    for section in document.sections:
        long_side, short_side = sorted([section.page_height.mm, section.page_width.mm], reverse=True)
        assert (round(long_side), round(short_side)) == (297, 210)
        margins = (section.top_margin.mm, section.bottom_margin.mm, section.left_margin.mm, section.right_margin.mm)
        assert tuple(round(m) for m in margins) == (37, 35, 28, 26)
    assert document.sections[0].orientation == WD_ORIENT.PORTRAIT
    assert any(s.orientation == WD_ORIENT.LANDSCAPE for s in document.sections) == any(
        t.landscape for t in form.tables
    )
    assert "PAGE" in document.sections[0].footer._element.xml

    by_text = {p.text: p for p in document.paragraphs if p.text}
    title = by_text[official_texts(form, report)[0]].runs[0]
    assert (_east_asia(title), title.font.size.pt) == ("方正小标宋简体", 22)
    heading = by_text[form.field_sections[1].title].runs[0]
    assert (_east_asia(heading), heading.font.size.pt) == ("黑体", 16)
    body = by_text[HOSTILE].runs[0]
    assert (_east_asia(body), body.font.size.pt) == ("仿宋_GB2312", 16)
    assert body.text == HOSTILE and not body._element.xpath(".//w:fldChar|.//w:instrText")
    assert document.tables[0].style.name == "Table Grid"
    font_table = next(r.target_part for r in document.part.rels.values() if r.reltype.endswith("/fontTable"))
    assert '<w:font w:name="仿宋_GB2312"><w:altName w:val="仿宋"/>'.encode() in font_table.blob


# ---------------------------------------------------------------------------------------
# Markdown and plain text


@pytest.mark.parametrize("suffix", [".md", ".txt"])
def test_text_formats_hold_every_number_row_by_row(form: Form, tmp_path: Path, suffix: str) -> None:
    report = filled_report(form)
    out = tmp_path / f"年报{suffix}"
    publish(write_report(report, tmp_path), out)
    lines = out.read_text(encoding="utf-8").splitlines()
    separator = " | " if suffix == ".md" else "\t"
    for table in form.tables:
        for row in table.rows:
            values = [expected_text(report.tables[table.id][row.id][c.id]) for c in form.row_columns(table, row)]
            needle = separator.join(values)
            assert any(needle in line for line in lines), (table.id, row.id, needle)
    text = "\n".join(lines)
    for expected in official_texts(form, report):
        assert expected in text
    for table in form.tables:
        for label in table.labels:
            assert label.text in text
    if suffix == ".md":
        assert "<script>" not in text and r"\<script\>" in text
        assert all(line.count(" | ") + 1 == len(line.split(" | ")) for line in lines if line.startswith("|"))
    else:
        assert HOSTILE in lines


def test_markdown_flattens_table_three_head_into_one_header_line(form: Form, tmp_path: Path) -> None:
    report = filled_report(form)
    out = tmp_path / "年报.md"
    publish(write_report(report, tmp_path), out)
    lines = out.read_text(encoding="utf-8").splitlines()
    t3 = form.table("t3")
    top = next(label for label in t3.labels if label.range == "D1:J1").text
    sub = next(label for label in t3.labels if label.range == "E2:I2").text
    leaf = next(label for label in t3.labels if label.range == "E3").text
    header = next(line for line in lines if f"{top} / {sub} / {leaf}" in line)
    index = lines.index(header)
    assert set(lines[index + 1].replace("|", "").split()) == {"---"}
    assert len(header.split(" | ")) == 1 + len(t3.columns)


# ---------------------------------------------------------------------------------------
# A second form, options and errors


def test_a_second_form_publishes_without_code_changes(tmp_path: Path) -> None:
    mini = load_form(MINI_FORM)
    report = filled_report(mini)
    path = write_report(report, tmp_path)
    publish(path, tmp_path / "mini.html", form=MINI_FORM)
    reader = read_html(tmp_path / "mini.html")
    check_html_tables(mini, report, reader)
    headings = [text for tag, text in reader.blocks if tag in ("h1", "h2", "h3", "caption")]
    assert headings == official_texts(mini, report)
    publish(path, tmp_path / "mini.docx", form=MINI_FORM)
    check_docx_tables(mini, report, docx.Document(str(tmp_path / "mini.docx")))


def test_totals_that_do_not_add_up_are_refused(form: Form, tmp_path: Path) -> None:
    report = filled_report(form)
    (table_id, row_id, column_id) = next(iter(form.computed_cells))
    report.tables[table_id][row_id][column_id] += 1
    with pytest.raises(UserError, match="合计与明细不一致"):
        publish(write_report(report, tmp_path), tmp_path / "out.html")
    assert not (tmp_path / "out.html").exists()


def test_rule_findings_are_returned_not_fatal(form: Form, tmp_path: Path) -> None:
    result = publish(write_report(filled_report(form), tmp_path), tmp_path / "out.md")
    assert result.warnings and all(f.rule for f in result.warnings)  # random data breaks R1
    assert result.path.is_file()


@pytest.mark.parametrize(("footer_hash", "prefix"), [(True, "数据文件 report.json 的 SHA-256 校验值："), (False, "")])
def test_overridden_errors_are_named_in_the_footer(form: Form, tmp_path: Path, footer_hash: bool, prefix: str) -> None:
    report = filled_report(form)
    confirmed = Review(decision="override", reason="经核实无误")
    report.findings = [
        Finding(rule="R1", severity="error", message="甲", sheet="表三", cell="D6", review=confirmed),
        Finding(rule="R1", severity="error", message="乙", sheet="表三", cell="J6", review=confirmed),
        Finding(rule="R2", severity="warning", message="丙", sheet="表三", cell="D7", review=Review(decision="accept")),
    ]
    path = write_report(report, tmp_path)
    publish(path, tmp_path / "年报.md", footer_hash=footer_hash)
    publish(path, tmp_path / "年报.html", footer_hash=footer_hash)
    sha = hashlib.sha256(path.read_bytes()).hexdigest() + "。" if footer_hash else ""
    expected = f"{prefix}{sha}本报告数据中有 2 处校验错误经审核确认后保留。"
    assert (tmp_path / "年报.md").read_text(encoding="utf-8").splitlines()[-1] == expected
    assert read_html(tmp_path / "年报.html").blocks[-1] == ("p", expected)


def test_a_report_without_overridden_errors_has_no_footer(form: Form, tmp_path: Path) -> None:
    publish(write_report(filled_report(form), tmp_path), tmp_path / "年报.md")
    assert "校验错误" not in (tmp_path / "年报.md").read_text(encoding="utf-8")
    assert build_document(form, filled_report(form)).trace is None


def test_format_option_and_errors(form: Form, tmp_path: Path) -> None:
    path = write_report(filled_report(form), tmp_path)
    assert publish(path, tmp_path / "out.doc", fmt="docx").format == "docx"
    docx.Document(str(tmp_path / "out.doc"))
    with pytest.raises(UserError, match="判断发布格式"):
        publish(path, tmp_path / "out.pdf")
    with pytest.raises(UserError, match="不支持"):
        publish(path, tmp_path / "out.html", fmt="pdf")
    with pytest.raises(UserError, match="不能与报告文件相同"):
        publish(path, path, fmt="md")
    with pytest.raises(UserError, match="找不到报告文件"):
        publish(tmp_path / "missing.json", tmp_path / "out.md")
    with pytest.raises(UserError, match="mini-survey"):
        publish(path, tmp_path / "out.md", form=MINI_FORM)


def test_reports_without_a_name_and_titles_with_unknown_fields_are_refused(form: Form, tmp_path: Path) -> None:
    nameless = filled_report(form, name=" ")
    with pytest.raises(UserError, match="没有单位名称"):
        publish(write_report(nameless, tmp_path), tmp_path / "out.md")
    broken = tmp_path / "broken.yaml"
    broken.write_text(MINI_FORM.read_text(encoding="utf-8").replace("{unit_name}", "{unit}"), encoding="utf-8")
    report = filled_report(load_form(broken))
    with pytest.raises(UserError, match="document_title"):
        publish(write_report(report, tmp_path, "mini.json"), tmp_path / "out.md", form=broken)


def test_cli_publish(form: Form, tmp_path: Path) -> None:
    path = write_report(filled_report(form), tmp_path)
    intro = tmp_path / "intro.txt"
    intro.write_text("开头段落来自文件。\n", encoding="utf-8")
    out = tmp_path / "年报.md"
    result = tianbao("publish", str(path), "-o", str(out), "--intro-file", str(intro),
                                 "--date", "2026年2月3日", "--footer-hash")
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "开头段落来自文件。" in text and "2026年2月3日" in text
    assert hashlib.sha256(path.read_bytes()).hexdigest() in text

    for args, message in (
        (["-o", str(tmp_path / "x.md"), "--date", "明天"], "日期"),
        (["-o", str(tmp_path / "x.pdf")], "发布格式"),
        (["-o", str(tmp_path / "x.md"), "--intro", "a", "--intro-file", str(intro)], "只能使用其中一个"),
    ):
        result = tianbao("publish", str(path), *args)
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


# ---------------------------------------------------------------------------------------
# Real clients: LibreOffice opens the DOCX, Chromium renders the HTML


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TIANBAO_ARTIFACTS") or tmp_path) / "publish"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.slow
@pytest.mark.libreoffice
def test_libreoffice_converts_the_docx_to_pdf(form: Form, soffice: str, tmp_path: Path, artifacts: Path) -> None:
    report = district_report(form)
    docx_path = artifacts / "district-report.docx"
    publish(write_report(report, tmp_path), docx_path, intro="依据条例编制本报告。", footer_hash=True)
    pdf = convert(docx_path, "pdf", artifacts)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 3


def test_printed_header_words_are_whole(form: Form, soffice: str, pdftotext: str, tmp_path: Path) -> None:
    """Printed through LibreOffice, every column-header line of every table stands whole on
    one line of the page (pdftotext -layout keeps a table row on one text line)."""
    docx_path = tmp_path / "report.docx"
    publish(write_report(filled_report(form), tmp_path), docx_path)
    pdf = convert(docx_path, "pdf", tmp_path)
    done = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True)
    printed = [" ".join(line.split()) for line in done.stdout.splitlines()]
    checked = 0
    for table in form.tables:
        grid = build_grid(form, table, filled_report(form).tables[table.id])
        for cell in grid.cells:
            if cell.scope != "col" or not cell.text:
                continue
            for line in cell.printed_lines:
                assert any(line in text.replace(" ", "") for text in printed), (table.id, line)
                checked += 1
    assert checked >= 20


def test_docx_metadata_language_and_heading_fonts(form: Form, tmp_path: Path) -> None:
    report = filled_report(form)
    path = tmp_path / "report.docx"
    publish(write_report(report, tmp_path), path)
    document = docx.Document(str(path))
    props = document.core_properties
    assert (props.author, props.language, props.comments) == (report.unit.name, "zh-CN", "")
    assert props.title.startswith(report.unit.name) and props.created.year >= 2026
    styles = zipfile.ZipFile(path).read("word/styles.xml").decode("utf-8")
    assert 'w:eastAsia="zh-CN"' in styles
    fonts = {(run.element.rPr.rFonts.get(qn("w:eastAsia")), paragraph.text)
             for paragraph in document.paragraphs for run in paragraph.runs}
    assert any(text.startswith("（一）") for font, text in fonts if font == "楷体_GB2312"), fonts
    assert any(text.startswith("一、") for font, text in fonts if font == "黑体"), fonts
    assert not any(text.startswith("（一）") for font, text in fonts if font == "黑体"), fonts


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB pixels of an 8-bit, non-interlaced truecolour PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, bytearray(), b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IHDR":
            header = data[pos + 8 : pos + 8 + length]
        elif kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0
    bpp = 3 if color == 2 else 4
    raw, stride = zlib.decompress(bytes(idat)), width * bpp
    prev, pixels = bytearray(stride), []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:  # Up
            line = bytearray((x + p) & 255 for x, p in zip(line, prev, strict=True))
        elif kind == 3:  # Average
            for i in range(stride):
                line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
        elif kind == 4:  # Paeth
            for i in range(stride):
                a, b, c = (line[i - bpp], prev[i], prev[i - bpp]) if i >= bpp else (0, prev[i], 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        pixels += [bytes(line[i : i + 3]) for i in range(0, stride, bpp)]
        prev = line
    return width, height, pixels


@pytest.mark.slow
@pytest.mark.chromium
def test_chromium_renders_the_html(form: Form, chromium: str, tmp_path: Path, artifacts: Path) -> None:
    report = filled_report(form)
    html = artifacts / "unit-report.html"
    publish(write_report(report, tmp_path), html, intro="依据条例编制本报告。", footer_hash=True)
    png = artifacts / "unit-report.png"
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium'}", f"--screenshot={png}", "--window-size=1200,2400",
        html.resolve().as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0 and png.is_file(), result.stderr[-2000:]
    width, height, pixels = decode_png(png.read_bytes())
    assert (width, height) == (1200, 2400)
    dark = sum(1 for p in pixels if max(p) < 96)
    assert len(set(pixels)) > 50, "the page is blank or flat"
    assert dark > len(pixels) // 200, "hardly any text or lines were drawn"
