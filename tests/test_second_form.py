"""A second form definition works end to end with no code change."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest

from clirun import tianbao
from tianbao.form import Form, load_form
from tianbao.report import Unit, empty_report
from tianbao.rules.check import check_report, recompute
from tianbao.rules.excel import CHECK_OK
from tianbao.workbook.write import render_workbook

MINI = Path(__file__).parent / "forms" / "mini.yaml"


@pytest.fixture(scope="module")
def mini() -> Form:
    return load_form(MINI)


def test_geometry_follows_the_origin(mini: Form) -> None:
    table = mini.table("counts")
    assert mini.table_cell(table, "received", "h1").a1 == "C5"
    assert mini.table_cell(table, "all", "year_total").a1 == "E7"
    assert [c.a1 for c in mini.input_cells if c.section == "counts"] == ["C5", "D5", "C6", "D6"]


def test_generated_workbook(mini: Form) -> None:
    report = empty_report(mini, Unit(name="甲单位", level="甲类"), 2025)
    report.tables["counts"]["received"].update(h1=3, h2=1)
    report.tables["counts"]["closed"].update(h1=4, h2=1)
    book = openpyxl.load_workbook(io.BytesIO(render_workbook(mini, report)), data_only=False)
    sheet = book["统计"]
    assert sheet["B4"].value == "项目" and sheet["E4"].value == "全年"
    assert sheet["E7"].value == "=SUM(E5:E6)" or sheet["E7"].value == "=SUM(C7:D7)"
    assert sheet["C5"].protection.locked is False and sheet["E5"].protection.locked is not False
    cached = openpyxl.load_workbook(io.BytesIO(render_workbook(mini, report)), data_only=True)["统计"]
    assert cached["E7"].value == 9
    assert cached["C9"].value.startswith("✗") and cached["D9"].value == CHECK_OK


def test_rules_of_the_second_form(mini: Form) -> None:
    report = empty_report(mini, Unit(name="甲单位"), 2025)
    report.tables["counts"]["closed"]["h2"] = 2
    recompute(mini, report.tables)
    findings = check_report(mini, report)
    assert [(f.rule, f.cell) for f in findings] == [("S3", "D6,D5")]
    assert "下半年" in findings[0].message


def test_cli_accepts_form_path(tmp_path: Path) -> None:

    out = tmp_path / "mini.xlsx"
    result = tianbao("new", "-o", str(out), "--form", str(MINI), "--unit", "乙", "--year", "2025")
    assert result.exit_code == 0, result.output
    assert openpyxl.load_workbook(out).sheetnames[:4] == ["说明", "封面", "情况说明", "统计"]
