"""What a clerk gets from the printer: each workbook the tool writes, printed to PDF by
LibreOffice, in pages, orientation and text that is not cut off.

Page counts are upper bounds from issue 16. "Not cut off" means every text a cell holds
(a long narrative, each finding's message) is found whole in the PDF's text, and every
header word on one line. LibreOffice measures column widths with its substitute for the
workbook's default font: with Carlito, Calibri's metric twin, as Excel and WPS do (the
`excel_metrics` fixture requires it; with DejaVu Sans, a third wider, every label would fit
and these tests pass falsely). The geometry is also checked against the Excel model itself
(row heights against A4 at 100 %), without a client.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import openpyxl
import pytest

from clirun import tianbao
from factories import filled_without_results, random_report, satisfy_rules
from tianbao.form import Form
from tianbao.io.printing import (
    MAX_ROW_HEIGHT,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    WHOLE_LINE,
    column_points,
    label_width,
    row_height,
    value_width,
    wrapped_lines,
)
from tianbao.report import Unit, empty_report
from tianbao.stages.annotate import LISTING_COLUMNS, annotate
from tianbao.stages.office import convert
from tianbao.workbook.layout import ANNOTATION_SHEET
from tianbao.workbook.pages import field_height
from tianbao.workbook.write import WriteOptions, render_workbook

A4_PORTRAIT, A4_LANDSCAPE = (595, 842), (842, 595)
UNIT = "某某区青山镇人民政府"
# About 880 characters of CJK with latin words and numbers: near the most a row shows.
NARRATIVE = ("2025 年，我镇认真贯彻落实《中华人民共和国政府信息公开条例》，围绕中心工作，主动公开政府信息 1234 条，"
             "其中规范性文件 12 件；通过门户网站、政务新媒体（WeChat 公众号）和政务公开专区同步发布，"
             "回应群众关切 56 次。") * 8


def _pages(pdf: Path) -> list[tuple[tuple[int, int], str]]:
    """(rounded page size in points, text) of each page."""
    info = subprocess.run(["pdfinfo", "-l", "999", str(pdf)], capture_output=True, text=True, check=True).stdout
    sizes = [(round(float(w)), round(float(h)))
             for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info)]
    texts = [subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), str(pdf), "-"], capture_output=True,
                            text=True, check=True).stdout for n in range(1, len(sizes) + 1)]
    return list(zip(sizes, texts, strict=True))


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _printed_whole(text: str, printed: str) -> bool:
    """`text` appears in `printed` (both flattened) from its first to its last character, in
    order. Short texts of the cells to its right may be read in between its lines (pdftotext
    reads a printed row across), so up to 40 other characters are allowed among them."""
    wanted = _flat(text)
    start = printed.find(wanted[:12])
    while start >= 0:
        window = iter(printed[start:start + len(wanted) + 40])
        if all(char in window for char in wanted):
            return True
        start = printed.find(wanted[:12], start + 1)
    return False


def _whole_on_a_line(word: str, text: str) -> bool:
    return any(word.replace(" ", "") in line.replace(" ", "") for line in text.splitlines())


def _return_with_30_findings(form: Form, folder: Path) -> tuple[Path, int]:
    """A returned workbook with 27 errors and 3 warnings, and its 错误清单 printed."""
    report = random_report(form, 3)
    source = filled_without_results(form, report, folder / "退回源.xlsx")
    book = openpyxl.load_workbook(source)
    basic = form.section("basic")
    for field_id, value in (("unit_name", UNIT), ("unit_level", "乡镇"), ("year", 2025)):
        book[basic.sheet][f"B{form.field(basic.id, field_id).row}"] = value
    for cell in [c for c in form.input_cells if c.section == "t3"][:20]:
        book[cell.sheet][cell.a1] = "五件"
    book.save(source)
    outcome = annotate(source, form, folder / "退回.xlsx")
    return folder / "退回.xlsx", len(outcome.findings)


def test_the_error_listing_of_30_findings_fits_two_landscape_pages_at_full_size(form: Form, tmp_path: Path) -> None:
    """The Excel model, no client: the columns fit a landscape page unscaled and the rows, with
    the header row repeated, two pages."""
    path, count = _return_with_30_findings(form, tmp_path)
    assert count == 30
    sheet = openpyxl.load_workbook(path)[ANNOTATION_SHEET]
    assert sheet.page_setup.orientation == "landscape" and sheet.print_title_rows == "$3:$3"
    assert sum(column_points(width) for _name, width in LISTING_COLUMNS) <= PAGE_WIDTH[True]
    heights = [sheet.row_dimensions[row].height for row in range(1, count + 4)]
    header = heights[2]
    first_page = PAGE_HEIGHT[True]
    rows_left = heights[3:]
    used = sum(heights[:3])
    pages = 1
    for height in rows_left:
        if used + height > first_page:
            pages, used = pages + 1, header
        used += height
    assert pages == 2
    assert "某某区青山镇人民政府" in sheet.oddHeader.left.text and "第 &P 页 共 &N 页" in sheet.oddFooter.center.text


@pytest.mark.slow
def test_the_returned_workbook_prints_its_error_listing_whole(form: Form, excel_metrics: str, pdftotext: str,
                                                              tmp_path: Path) -> None:
    path, count = _return_with_30_findings(form, tmp_path)
    pages = _pages(convert(path, "pdf", tmp_path / "pdf"))
    # The page header names the sheet: 错误清单 on its pages, the report on the form's.
    listing = [(size, text) for size, text in pages if ANNOTATION_SHEET in text.splitlines()[:3]]
    assert len(listing) == 2 and all(size == A4_LANDSCAPE for size, _text in listing)
    printed = _flat("".join(text for _size, text in listing))
    messages = [cell.value for cell in openpyxl.load_workbook(path)[ANNOTATION_SHEET]["E"][3:]]
    assert len(messages) == count == 30
    for message in messages:
        assert _printed_whole(message, printed), message
    title = openpyxl.load_workbook(path)[ANNOTATION_SHEET]["A1"].value
    assert _printed_whole(title, printed)  # the title is not cut ("3 个提" was all of it once)
    for heading, _width in LISTING_COLUMNS:
        assert all(_whole_on_a_line(heading, text) for _size, text in listing), heading


def _fill_in(form: Form) -> bytes:
    report = empty_report(form, Unit(code="ZH13", name=UNIT, level="乡镇"), 2025)
    report.fields["overview"]["proactive"] = NARRATIVE
    report.fields["problems"]["text"] = NARRATIVE
    return render_workbook(form, report, WriteOptions(distributed=True))


def test_a_long_narrative_is_given_the_height_it_needs(form: Form) -> None:
    """The row of a narrative grows with the text written into it (up to Excel's limit)."""
    overview = form.section("overview")
    field = overview.fields[0]
    assert field_height(overview, field, "") == overview.text_height
    assert overview.text_height < field_height(overview, field, NARRATIVE) < 409


@pytest.mark.slow
def test_the_fill_in_workbook_prints_each_sheet_whole_with_its_long_texts(form: Form, excel_metrics: str,
                                                                          pdftotext: str, tmp_path: Path) -> None:
    source = tmp_path / "填报.xlsx"
    source.write_bytes(_fill_in(form))
    pages = _pages(convert(source, "pdf", tmp_path / "pdf"))
    # A page for 填表说明 and for each section's sheet, two for the five text boxes of 一 总体情况
    # (before: 9 pages, 表三 over two of them without its 三、本年度办理结果 on the second).
    sheets = [form.spec.instructions.sheet] + [s.sheet for s in form.sections]
    overview = form.section("overview")
    printed_sheets = [sheet for sheet in sheets for _ in range(2 if sheet == overview.sheet else 1)]
    assert len(pages) == len(printed_sheets) == 9
    for sheet, (size, text) in zip(printed_sheets, pages, strict=True):
        landscape = any(getattr(s, "landscape", False) for s in form.sections if s.sheet == sheet)
        assert size == (A4_LANDSCAPE if landscape else A4_PORTRAIT), sheet
        assert UNIT in text and re.search(r"第\d+页共9页", _flat(text)), sheet
    by_sheet = {sheet: "".join(text for name, (_size, text) in zip(printed_sheets, pages, strict=True)
                               if name == sheet) for sheet in sheets}
    assert _printed_whole(NARRATIVE, _flat(by_sheet[overview.sheet]))
    assert _printed_whole(NARRATIVE, _flat(by_sheet[form.section("problems").sheet]))
    # Every label of the form shows its words whole with Excel's column widths (Carlito): a
    # label of up to WHOLE_LINE characters on one line (before: 社会公益组/织, （三）不予公/开,
    # 三、本年/度办理结/果), a longer one whole in order.
    labels = [(table.sheet, label.text) for table in form.tables for label in table.labels]
    labels += [(section.sheet, field.label) for section in form.field_sections for field in section.fields]
    assert len(labels) == 97
    for sheet, label in labels:
        if len(label) <= WHOLE_LINE:
            assert _whole_on_a_line(label, by_sheet[sheet]), (sheet, label)
        else:
            assert _printed_whole(label, _flat(by_sheet[sheet])), (sheet, label)
    instructions = _flat(by_sheet[form.spec.instructions.sheet])
    for line in form.spec.instructions.lines:
        assert _flat(line) in instructions, line


@pytest.mark.slow
def test_findings_xlsx_prints_a_landscape_page_a_listing(form: Form, excel_metrics: str, pdftotext: str,
                                                         tmp_path: Path) -> None:
    report = random_report(form, 4)
    satisfy_rules(form, report)
    (tmp_path / "收回").mkdir()
    source = filled_without_results(form, report, tmp_path / "收回" / "青山镇.xlsx")
    book = openpyxl.load_workbook(source)
    basic = form.section("basic")
    for field_id, value in (("unit_name", UNIT), ("unit_level", "乡镇"), ("year", 2025)):
        book[basic.sheet][f"B{form.field(basic.id, field_id).row}"] = value
    book.save(source)
    ran = tianbao("import", tmp_path / "收回", "-o", tmp_path / "导入")
    assert ran.exit_code == 0, ran.output
    findings = openpyxl.load_workbook(tmp_path / "导入" / "findings.xlsx")["问题清单"]
    rows = list(findings.iter_rows(min_row=2, values_only=True))
    assert [row[3] for row in rows] == ["value.blank", "value.blank", "R7"]
    pages = _pages(convert(tmp_path / "导入" / "findings.xlsx", "pdf", tmp_path / "pdf"))
    assert [size for size, _text in pages] == [A4_LANDSCAPE, A4_LANDSCAPE]  # 9 portrait pages before
    printed = _flat(pages[0][1])
    for row in rows:
        assert _printed_whole(row[9], printed), row[9]
    header = [cell.value for cell in findings[1]]
    for word in header:
        assert _whole_on_a_line(word, pages[0][1]), word
    # Short values and check ids read whole (before: 接收（有警告/）, 数字单元格空/白, value.bla/nk).
    short = {str(value) for row in rows for value in row if value and len(str(value)) <= WHOLE_LINE}
    for value in short | {row[3] for row in rows}:
        assert _whole_on_a_line(value, pages[0][1]), value


@pytest.mark.parametrize(("text", "width", "lines"), [
    ("", 10, 1),
    ("字" * 9, 20, 1),  # a column of 20 characters is 109 pt: 9.6 em of 11 pt after the padding
    ("字" * 10, 20, 2),
    ("字" * 5 + "\n" + "字" * 5, 20, 2),  # a line break starts a line
    ("Excel " * 4, 16, 2),  # 3.6 em a word, 7.7 em of room: two words a line
    ("Excel " * 4, 14, 4),  # 6.75 em of room: one word a line, never a word cut
    ("a" * 30, 14, 3),  # a word longer than the line breaks where the line is full
])
def test_wrapped_lines_counts_what_a_cell_shows(text: str, width: float, lines: int) -> None:
    assert wrapped_lines(text, width, 11) == lines


def test_row_height_grows_with_the_text_up_to_excels_limit() -> None:
    one = row_height([("字", 20)])
    assert one == row_height([("", 20)]) and one < row_height([("字" * 14, 20)]) < 2 * one + 1
    assert row_height([("字" * 5000, 20)]) == MAX_ROW_HEIGHT
    assert row_height([("字", 20)], minimum=50) == 50


@pytest.mark.parametrize(("label", "minimum", "width"), [
    ("社会公益组织", 9, 14),  # a short label on one line: 13 would break 社会公益组/织
    ("社会公益组织", 20, 20),  # the form's width is the least
    ("三、本年度办理结果", 9, 20),  # nine characters still on one line
    ("（四）政府信息公开平台建设", 16, 16),  # longer: wraps 7 + 6, no orphan
    ("5.要求行政机关确认或重新出具已获取信息", 36, 41),  # 40 would leave 息 alone in LibreOffice
    ("字" * 20, 16, 16),  # 7 + 7 + 6
])
def test_a_label_column_is_as_wide_as_its_words_need(label: str, minimum: float, width: float) -> None:
    assert label_width(label, minimum) == width


@pytest.mark.parametrize(("value", "width"), [
    ("value.blank 数字单元格空白，请填写阿拉伯数字", 13),  # a check id stays whole
    ("值 " + "b" * 39, 46),  # a file-name-like word up to 40 letters stays whole
    ("a" * 3000, 10),  # what a unit typed into a number cell: wraps anywhere, the column stays as it was
    ("b" * 40 + " " + "c" * 41, 47),  # the longest word kept whole is 40 letters
])
def test_a_listing_value_widens_its_column_only_so_far(value: str, width: float) -> None:
    assert value_width(value, 10, 10) == width
