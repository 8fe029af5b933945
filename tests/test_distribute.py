"""`tianbao new` / `tianbao distribute` through the CLI, as a district clerk runs them."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from clirun import tianbao
from tianbao.form import Form
from tianbao.report import Unit, empty_report
from tianbao.workbook.layout import META_SHEET

EXAMPLE_ROSTER = Path(__file__).resolve().parents[1] / "examples" / "roster.csv"


def invoke(*args: str):
    return tianbao(*args)


def _cell(form: Form, field_id: str):
    return next(c for c in form.input_cells if c.key == (field_id,))


def test_new_blank_workbook(tmp_path: Path, form: Form) -> None:
    out = tmp_path / "年报.xlsx"
    result = invoke("new", "-o", str(out))
    assert result.exit_code == 0 and out.is_file()
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == form.spec.instructions.sheet


def test_new_with_unit_and_year_locks_identity(tmp_path: Path, form: Form) -> None:
    out = tmp_path / "a.xlsx"
    assert invoke("new", "-o", str(out), "--unit", "某某区财政局", "--year", "2025").exit_code == 0
    book = openpyxl.load_workbook(out)
    name = _cell(form, "unit_name")
    assert book[name.sheet][name.a1].value == "某某区财政局"
    assert book[name.sheet][name.a1].protection.locked is True


def test_new_prefill(tmp_path: Path, form: Form) -> None:
    report = empty_report(form, Unit(code="X1", name="甲局", level="区县政府部门"), 2025)
    report.tables["t4"]["cases"]["review_upheld"] = 6
    source = tmp_path / "r.json"
    source.write_text(report.to_json(), encoding="utf-8")
    out = tmp_path / "p.xlsx"
    assert invoke("new", "-o", str(out), "--prefill", str(source)).exit_code == 0
    cell = form.table_cell(form.table("t4"), "cases", "review_upheld")
    assert openpyxl.load_workbook(out)["表四"][cell.a1].value == 6


def test_distribute_example_roster(tmp_path: Path, form: Form) -> None:
    result = invoke("distribute", str(EXAMPLE_ROSTER), "--year", "2025", "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "out").glob("*.xlsx"))
    assert len(files) == 13
    assert (tmp_path / "out" / "QCZ06_某某区财政局_2025.xlsx") in files
    book = openpyxl.load_workbook(tmp_path / "out" / "JD11_某某区东城街道办事处_2025.xlsx")
    meta = {row[0]: row[1] for row in book[META_SHEET].iter_rows(values_only=True)}
    assert (meta["unit_code"], meta["unit_level"], meta["year"]) == ("JD11", "街道", "2025")
    level = _cell(form, "unit_level")
    assert book[level.sheet][level.a1].value == "街道"
    assert book[level.sheet][level.a1].protection.locked is True


def test_distribute_previous_year(tmp_path: Path, form: Form) -> None:
    previous = tmp_path / "2024"
    previous.mkdir()
    last = empty_report(form, Unit(code="QJY03", name="某某区教育局", level="区县政府部门"), 2024)
    last.tables["t3"]["carried_forward"].update(natural_person=3, business=1)
    (previous / "QJY03.json").write_text(last.to_json(), encoding="utf-8")
    (previous / "findings.json").write_text("[]", encoding="utf-8")
    result = invoke("distribute", str(EXAMPLE_ROSTER), "--year", "2025", "-o", str(tmp_path / "o"),
                    "--previous", str(previous))
    assert result.exit_code == 0, result.output
    assert "1 个单位" in result.output
    sheet = openpyxl.load_workbook(tmp_path / "o" / "QJY03_某某区教育局_2025.xlsx")["表三"]
    t3 = form.table("t3")
    cell = form.table_cell(t3, "carried_over", "natural_person")
    assert sheet[cell.a1].value == 3 and sheet[cell.a1].protection.locked is True
    assert sheet[form.table_cell(t3, "carried_over", "business").a1].value == 1


def test_distribute_xlsx_roster_with_english_headers(tmp_path: Path) -> None:
    roster = tmp_path / "roster.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["code", "name", "level"])
    book.active.append(["A1", "甲局", "区县政府部门"])
    book.save(roster)
    assert invoke("distribute", str(roster), "--year", "2025", "-o", str(tmp_path / "x")).exit_code == 0
    assert (tmp_path / "x" / "A1_甲局_2025.xlsx").is_file()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("code,name\nA,甲\n", "缺少列 level"),
        ("code,name,level\nA,甲,街道\nA,乙,街道\n", "第 3 行：单位代码“A”与第 2 行重复"),
        ("code,name,level\nA,,街道\n", "第 2 行：单位名称为空"),
        ("code,name,level\nA,甲,省政府\n", "第 2 行：单位层级“省政府”不在"),
        ("code,name,level\nA/../x,甲,街道\n", "只能包含字母"),
    ],
)
def test_bad_roster_is_one_clear_line(tmp_path: Path, content: str, expected: str) -> None:
    roster = tmp_path / "bad.csv"
    roster.write_text(content, encoding="utf-8")
    result = invoke("distribute", str(roster), "--year", "2025", "-o", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert expected in result.output.replace("\n", "")
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_gbk_roster(tmp_path: Path) -> None:
    roster = tmp_path / "gbk.csv"
    roster.write_bytes("单位代码,单位名称,单位层级\nB1,乙街道,街道\n".encode("gb18030"))
    assert invoke("distribute", str(roster), "--year", "2025", "-o", str(tmp_path / "o")).exit_code == 0


def test_errors_never_trace(tmp_path: Path) -> None:
    assert invoke("distribute", str(tmp_path / "none.csv"), "--year", "2025", "-o", str(tmp_path)).exit_code == 2
    assert invoke("new", "-o", str(tmp_path / "a.xlsx"), "--form", "nope").exit_code == 2
    assert invoke("new", "-o", str(tmp_path / "a.xlsx"), "--year", "1800").exit_code != 0
    assert invoke("forms").exit_code == 0


def test_new_locks_only_what_was_given(tmp_path: Path, form: Form) -> None:
    out = tmp_path / "b.xlsx"
    assert invoke("new", "-o", str(out), "--unit", "某某区财政局", "--year", "2025").exit_code == 0
    book = openpyxl.load_workbook(out)
    level = _cell(form, "unit_level")
    assert book[level.sheet][level.a1].protection.locked is False  # the clerk still picks the level
    out = tmp_path / "c.xlsx"
    assert invoke("new", "-o", str(out), "--unit", "甲", "--level", "街道", "--code", "J1").exit_code == 0
    book = openpyxl.load_workbook(out)
    assert book[level.sheet][level.a1].value == "街道" and book[level.sheet][level.a1].protection.locked is True
    result = invoke("new", "-o", str(tmp_path / "d.xlsx"), "--level", "省政府")
    assert result.exit_code == 2 and "不在表单允许的范围内" in result.output
