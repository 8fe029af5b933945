"""Wrong invocations get a clear Chinese refusal instead of doing something else: a workbook
under a wrong extension, a second distribute over workbooks already made, publishing a
workbook instead of report JSON."""

from __future__ import annotations

from pathlib import Path

from clirun import tianbao

EXAMPLE_ROSTER = Path(__file__).resolve().parents[1] / "examples" / "roster.csv"


def test_workbooks_are_written_as_xlsx_only(tmp_path: Path) -> None:
    done = tianbao("new", "-o", tmp_path / "年报.xls")
    assert done.exit_code == 2 and "应以 .xlsx 结尾" in done.stderr
    assert not (tmp_path / "年报.xls").exists()
    assert tianbao("new", "-o", tmp_path / "年报.xlsx").exit_code == 0
    done = tianbao("annotate", tmp_path / "年报.xlsx", "-o", tmp_path / "退回.pdf")
    assert done.exit_code == 2 and "应以 .xlsx 结尾" in done.stderr
    assert not (tmp_path / "退回.pdf").exists()


def test_distribute_does_not_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "填报表"
    assert tianbao("distribute", EXAMPLE_ROSTER, "--year", 2025, "-o", out).exit_code == 0
    made = {path.name: path.stat().st_mtime_ns for path in out.iterdir()}
    again = tianbao("distribute", EXAMPLE_ROSTER, "--year", 2025, "-o", out)
    assert again.exit_code == 2 and "--force" in again.stderr and "没有覆盖" in again.stderr
    assert {path.name: path.stat().st_mtime_ns for path in out.iterdir()} == made
    assert tianbao("distribute", EXAMPLE_ROSTER, "--year", 2025, "-o", out, "--force").exit_code == 0


def test_publishing_a_workbook_says_to_import_it_first(tmp_path: Path) -> None:
    workbook = tmp_path / "某局.xlsx"
    assert tianbao("new", "-o", workbook).exit_code == 0
    done = tianbao("publish", workbook, "-o", tmp_path / "年报.docx")
    assert done.exit_code == 2 and "先用 tianbao import 导入" in done.stderr
    renamed = workbook.rename(tmp_path / "某局.json")  # a workbook under a JSON name is still a workbook
    done = tianbao("publish", renamed, "-o", tmp_path / "年报.docx")
    assert done.exit_code == 2 and "先用 tianbao import 导入" in done.stderr
