"""What a person reads: severity by word and colour with the check's Chinese name, and local
times (never ISO) in findings.xlsx, the summary workbook and the return workbook."""

from __future__ import annotations

import re
import time
from pathlib import Path

import openpyxl
import pytest

from clirun import tianbao
from test_merge import district, run_merge  # noqa: F401  (district is a fixture)
from test_reader import edited, input_cell, render, sample_report
from tianbao.findings import SEVERITY_FILLS
from tianbao.form import Form
from tianbao.io.times import shown_time
from tianbao.stages.annotate import annotate
from tianbao.stages.batch import FINDINGS_XLSX, import_batch
from tianbao.stages.summary import STATUS_SHEET, SUMMARY_XLSX, write_outputs
from tianbao.workbook.layout import ANNOTATION_SHEET

ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


@pytest.fixture
def in_shanghai(monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(time, "tzset"):
        pytest.skip("the time zone can only be set for a test where time.tzset exists")
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_shown_time_is_local_to_the_minute(in_shanghai: None) -> None:
    assert shown_time("2026-12-02T03:05:26+00:00") == "2026-12-02 11:05"
    assert shown_time("2026-01-10T09:00:00+08:00") == "2026-01-10 09:00"
    assert shown_time("2026-01-10T23:30:59-05:00") == "2026-01-11 12:30"


def test_shown_time_keeps_local_and_odd_values() -> None:
    assert shown_time("2026-03-04T05:06:07") == "2026-03-04 05:06"  # no zone: already local
    assert shown_time(None) == ""
    assert shown_time("") == ""
    assert shown_time("昨天") == "昨天"


def fill_of(cell: openpyxl.cell.Cell) -> str:
    return str(cell.fill.fgColor.rgb)[-6:].upper()


def font_of(cell: openpyxl.cell.Cell) -> str:
    return str(cell.font.color.rgb)[-6:].upper()


def workbook_with_error_and_warning(form: Form) -> bytes:
    """"五" in a count cell (an error, and counted as 0 it breaks R1) and a rule-making count of
    a 区县政府部门 (R7, a warning)."""
    report = sample_report(form)
    count = input_cell(form, "t3", "new", "natural_person")
    level = input_cell(form, "basic", "unit_level")
    regulations = input_cell(form, "t2", "regulations", "issued")

    def spoil(book: openpyxl.Workbook) -> None:
        book[count.sheet][count.a1] = "五"
        book[level.sheet][level.a1] = "区县政府部门"
        book[regulations.sheet][regulations.a1] = 1

    return edited(render(form, report), spoil)


def test_findings_xlsx_names_and_colours_each_severity(tmp_path: Path, form: Form) -> None:
    source = tmp_path / "报送.xlsx"
    source.write_bytes(workbook_with_error_and_warning(form))
    import_batch([source], form, tmp_path / "out")
    sheet = openpyxl.load_workbook(tmp_path / "out" / FINDINGS_XLSX)["问题清单"]
    header = [c.value for c in sheet[1]]
    assert header[2:5] == ["严重程度", "规则", "规则名称"]
    rows = {row[3].value: row for row in sheet.iter_rows(min_row=2)}
    assert sorted(row[3].value for row in sheet.iter_rows(min_row=2)) == ["R1", "R1", "R7", "value.text"]
    assert rows["R1"][4].value == "表内关系：一＋二＝三（七）＋四"
    assert rows["R7"][4].value == "表内关系：规章一行"
    assert rows["value.text"][4].value == "不是数字"
    assert rows["R7"][2].value == "警告"
    assert (fill_of(rows["R7"][2]), font_of(rows["R7"][2])) == ("FFE699", "7F6000")
    assert rows["value.text"][2].value == "错误"
    assert (fill_of(rows["value.text"][2]), font_of(rows["value.text"][2])) == ("FFC7CE", "9C0006")
    assert fill_of(rows["R7"][3]) == "000000"  # only the severity cell is coloured
    assert SEVERITY_FILLS["warning"] == ("#FFE699", "#7F6000")
    for row in sheet.iter_rows(values_only=True):
        assert not [v for v in row if isinstance(v, str) and ISO_TIME.search(v)]


def test_check_prints_severity_and_check_name(tmp_path: Path, form: Form) -> None:
    source = tmp_path / "报送.xlsx"
    source.write_bytes(workbook_with_error_and_warning(form))
    ran = tianbao("check", source, env={"FORCE_COLOR": "1", "TERM": "xterm-256color"})
    assert ran.exit_code == 1, ran.output
    lines = [line for line in ran.stdout.splitlines() if "表内关系" in line or "不是数字" in line]
    assert len(lines) == 4
    red, yellow = "\x1b[31m", "\x1b[33m"
    assert [("错误" in line, red in line, "警告" in line, yellow in line) for line in lines] == [
        (True, True, False, False), (True, True, False, False), (True, True, False, False),
        (False, False, True, True)]
    assert sum("表内关系：规章一行" in line for line in lines) == 1
    assert not ISO_TIME.search(ran.stdout)


def test_return_workbook_lists_warnings_in_amber(tmp_path: Path, form: Form) -> None:
    source = tmp_path / "报送.xlsx"
    source.write_bytes(workbook_with_error_and_warning(form))
    annotate(source, form, tmp_path / "退回.xlsx")
    listing = openpyxl.load_workbook(tmp_path / "退回.xlsx")[ANNOTATION_SHEET]
    assert listing["A1"].value.startswith("报送.xlsx：3 个错误、1 个警告。")
    assert [c.value for c in listing[3]] == ["序号", "类别", "检查", "位置", "说明", "应为", "实为"]
    lines = [(row[1].value, row[2].value, fill_of(row[1])) for row in listing.iter_rows(min_row=4)]
    rule_one = ("错误", "表内关系：一＋二＝三（七）＋四", "FFC7CE")  # its 自然人 and 总计 columns
    assert lines == [("错误", "不是数字", "FFC7CE"), rule_one, rule_one, ("警告", "表内关系：规章一行", "FFE699")]


def test_summary_workbook_shows_local_times(form: Form, district: dict, tmp_path: Path,  # noqa: F811
                                            in_shanghai: None) -> None:
    write_outputs(run_merge(form, district, tmp_path), tmp_path / "out")
    book = openpyxl.load_workbook(tmp_path / "out" / SUMMARY_XLSX)
    status = book[STATUS_SHEET]
    header_row = next(row for row in status.iter_rows() if any(c.value == "导入时间" for c in row))
    column = next(c.column for c in header_row if c.value == "导入时间")
    times = [status.cell(r, column).value for r in range(header_row[0].row + 1, status.max_row + 1)]
    assert times.count("2026-01-10 09:00") == 5  # U1–U4 and X9 (off the roster): make_unit's import time
    read = [sheet for sheet in book.worksheets if sheet.sheet_state == "visible"]  # not the hidden metadata
    assert STATUS_SHEET in [sheet.title for sheet in read]
    for sheet in read:
        for row in sheet.iter_rows(values_only=True):
            assert not [v for v in row if isinstance(v, str) and ISO_TIME.search(v)], sheet.title
