"""Nothing wrong gets in, nothing right gets lost (issue 12): each case a clerk or a
department can produce, reproduced, with the outcome it must now get."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_reader import edited, input_cell, render, run, sample_report
from tianbao.formdef import Form, InputCell


@pytest.fixture(scope="module")
def good(form: Form) -> bytes:
    return render(form, sample_report(form))


@pytest.fixture(scope="module")
def zero_cell(form: Form) -> InputCell:
    """A count cell that is 0 in the sample report: reading it as 0 breaks no rule."""
    return input_cell(form, "t3", "new", "business")


def summary(findings: list) -> list[tuple[str, str, str | None, str | None]]:
    return [(f.rule, f.severity, f.sheet, f.cell) for f in findings]


# ---------------------------------------------------------------------------------------
# 4. An input formula without a saved result


def test_a_formula_without_its_result_is_an_error_at_its_cell(
    tmp_path: Path, form: Form, good: bytes, zero_cell: InputCell
) -> None:
    # openpyxl, like any script, writes <f>3+4</f> and no result: only a spreadsheet computes it.
    data = edited(good, lambda book: book[zero_cell.sheet].__setitem__(zero_cell.a1, "=3+4"))
    outcome = run(tmp_path, form, data)
    assert summary(outcome.findings) == [("value.formula_without_value", "error", zero_cell.sheet, zero_cell.a1)]
    finding = outcome.findings[0]
    assert "公式的结果没有保存，无法读取" in finding.message and finding.found == "=3+4"
    assert outcome.rejected


def test_a_text_formula_without_its_result_is_an_error_too(tmp_path: Path, form: Form, good: bytes) -> None:
    cell = input_cell(form, "basic", "preparer")
    outcome = run(tmp_path, form, edited(good, lambda book: book[cell.sheet].__setitem__(cell.a1, '="张"&"三"')))
    assert summary(outcome.findings) == [("value.formula_without_value", "error", cell.sheet, cell.a1)]


# ---------------------------------------------------------------------------------------
# 9. Numbers: only the digits a Chinese keyboard types, no scientific notation in text


@pytest.mark.parametrize(
    ("typed", "rule", "phrase"),
    [
        ("1e3", "value.text", "科学计数法"),
        ("１e３", "value.text", "科学计数法"),
        ("2E+2", "value.text", "科学计数法"),
        ("٣", "value.digits", "0–9 以外的数字字符"),
        ("۱۲", "value.digits", "0–9 以外的数字字符"),
        ("१२", "value.digits", "0–9 以外的数字字符"),
    ],
)
def test_zero_cells_take_ascii_and_full_width_digits_only(
    tmp_path: Path, form: Form, good: bytes, zero_cell: InputCell, typed: str, rule: str, phrase: str
) -> None:
    outcome = run(tmp_path, form, edited(good, lambda book: book[zero_cell.sheet].__setitem__(zero_cell.a1, typed)))
    assert summary(outcome.findings) == [(rule, "error", zero_cell.sheet, zero_cell.a1)]
    assert phrase in outcome.findings[0].message and outcome.findings[0].found == typed


def test_full_width_digits_are_still_read(tmp_path: Path, form: Form, good: bytes) -> None:
    cell = input_cell(form, "t4", "cases", "review_upheld")
    outcome = run(tmp_path, form, edited(good, lambda book: book[cell.sheet].__setitem__(cell.a1, "１２")))
    assert summary(outcome.findings) == [("value.normalised", "warning", cell.sheet, cell.a1)]
    assert outcome.report is not None and outcome.report.tables["t4"]["cases"]["review_upheld"] == 12
