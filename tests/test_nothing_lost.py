"""Nothing wrong gets in, nothing right gets lost (issue 12): each case a clerk or a
department can produce, reproduced, with the outcome it must now get."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from clirun import tianbao
from corpus import encrypted
from test_batch_survival import (
    HANG_GUARD,
    assert_workers_exit,
    build_inbox,
    findings_rows,
    finish,
    reports,
    tianbao_import,
)
from test_reader import YEAR, edited, input_cell, render, replace_member, run, sample_report
from tianbao.cells import Range
from tianbao.errors import OfficeError
from tianbao.form import Form, InputCell
from tianbao.io.inputs import HISTORY_FOLDER
from tianbao.report import Unit, empty_report
from tianbao.stages.batch import FINDINGS_CSV, import_batch
from tianbao.stages.distribute import distribute
from tianbao.stages.intake import import_file
from tianbao.stages.merge import STATUS_MISSING, STATUS_PASSED, STATUS_UNFILLED, MergeOptions, merge
from tianbao.stages.office import convert
from tianbao.workbook.sniff import OLE2_MAGIC
from tianbao.workbook.write import WriteOptions, identity_locks, render_workbook


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


# ---------------------------------------------------------------------------------------
# 6. Content the importer would skip: each an error naming the cell or the sheet


def test_a_value_in_the_released_part_of_an_unmerged_input_is_an_error(
    tmp_path: Path, form: Form, good: bytes
) -> None:
    cell = input_cell(form, "t2", "licensing", "decisions")
    assert cell.merge is not None
    last = cell.merge.last.a1

    def unmerge_and_type(book: openpyxl.Workbook) -> None:
        book[cell.sheet].unmerge_cells(f"{cell.merge.first.a1}:{last}")
        book[cell.sheet][last] = 5

    outcome = run(tmp_path, form, edited(good, unmerge_and_type))
    assert summary(outcome.findings) == [("tamper.merged_area", "error", cell.sheet, last)]
    assert f"应填在 {cell.sheet}!{cell.a1}" in outcome.findings[0].message and outcome.findings[0].found == "5"


def test_text_typed_into_an_unmerged_label_area_is_an_error(tmp_path: Path, form: Form, good: bytes) -> None:
    table = form.table("t3")
    label = next(lbl for lbl in table.labels if lbl.range == "A6:A27")
    area = Range.parse(label.range).shifted(form.origin(table))
    inside = area.cells()[4]

    def unmerge_and_type(book: openpyxl.Workbook) -> None:
        book[table.sheet].unmerge_cells(f"{area.first.a1}:{area.last.a1}")
        book[table.sheet][inside.a1] = "含补正后撤回的 3 件"

    outcome = run(tmp_path, form, edited(good, unmerge_and_type))
    assert summary(outcome.findings) == [("tamper.merged_area", "error", table.sheet, inside.a1)]
    assert label.text in outcome.findings[0].message


def test_a_check_cell_overwritten_with_a_constant_tick_is_an_error(tmp_path: Path, form: Form, good: bytes) -> None:
    rule = next(r for r in form.spec.rules if r.check and len(r.check.cells) > 1)
    assert rule.check is not None
    target = rule.check.cells[0]
    outcome = run(tmp_path, form, edited(good, lambda book: book[rule.check.sheet].__setitem__(target, "✓")))
    assert summary(outcome.findings) == [("tamper.check", "error", rule.check.sheet, target)]
    assert "固定内容“✓”" in outcome.findings[0].message


@pytest.mark.libreoffice
def test_check_cells_saved_by_libreoffice_are_accepted(tmp_path: Path, form: Form, good: bytes, soffice: str) -> None:
    source = tmp_path / "原件.xlsx"
    source.write_bytes(good)
    saved = convert(source, "xlsx", tmp_path / "lo")  # LibreOffice writes sheet names unquoted
    outcome = import_file(saved, form)
    assert [f.rule for f in outcome.findings] == [], outcome.findings


def _copy_sheet(name: str, change: dict[str, object]) -> Callable[[openpyxl.Workbook], None]:
    def copy(book: openpyxl.Workbook) -> None:
        duplicate = book.copy_worksheet(book[name])
        duplicate.title = f"{name} (2)"  # the name Excel and WPS give a copied sheet
        for a1, value in change.items():
            duplicate[a1] = value
    return copy


def test_a_filled_copy_of_a_sheet_is_an_error_naming_the_copy(tmp_path: Path, form: Form, good: bytes) -> None:
    cell = input_cell(form, "t2", "penalty", "decisions")
    outcome = run(tmp_path, form, edited(good, _copy_sheet(cell.sheet, {cell.a1: 42})))
    copy_name = f"{cell.sheet} (2)"
    assert summary(outcome.findings) == [("tamper.sheet_copy", "error", copy_name, cell.a1)]
    assert f"工作表“{copy_name}”是“{cell.sheet}”的副本" in outcome.findings[0].message
    assert outcome.findings[0].found == "42"


def test_an_unchanged_copy_of_a_sheet_stays_a_warning(tmp_path: Path, form: Form, good: bytes) -> None:
    cell = input_cell(form, "t2", "penalty", "decisions")
    outcome = run(tmp_path, form, edited(good, _copy_sheet(cell.sheet, {})))
    assert summary(outcome.findings) == [("tamper.extra_sheet", "warning", None, None)]
    assert not outcome.rejected


# ---------------------------------------------------------------------------------------
# 5. Identity: cells, hidden sheet, defined names, properties and file name must agree

ROSTER = "code,name,level\nD01,区测试局,区县政府部门\nD02,区教育局,区县政府部门\n"


@pytest.fixture(scope="module")
def distributed(tmp_path_factory: pytest.TempPathFactory, form: Form) -> dict[str, Path]:
    """The workbooks `distribute` sends to two units, by unit code."""
    folder = tmp_path_factory.mktemp("distributed")
    roster = folder / "名单.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    made = distribute(form, roster, YEAR, folder / "下发", password=None, previous=None)
    return {item.unit.code: item.path for item in made}


def filled(form: Form, path: Path) -> bytes:
    """A distributed workbook with the sample report's numbers and texts typed in."""
    values = sample_report(form)

    def type_in(book: openpyxl.Workbook) -> None:
        for cell in form.input_cells:
            if cell.section in values.tables:
                book[cell.sheet][cell.a1] = values.tables[cell.section][cell.key[0]][cell.key[1]]
            elif (typed := values.fields.get(cell.section, {}).get(cell.key[0])) is not None:
                book[cell.sheet][cell.a1] = typed
    return edited(path.read_bytes(), type_in)


def test_locked_unit_cells_changed_to_another_unit_are_refused(
    tmp_path: Path, form: Form, distributed: dict[str, Path]
) -> None:
    name, code = input_cell(form, "basic", "unit_name"), input_cell(form, "basic", "unit_code")

    def another_unit(book: openpyxl.Workbook) -> None:
        book[name.sheet][name.a1] = "区教育局"
        book[code.sheet][code.a1] = "D02"

    data = edited(filled(form, distributed["D01"]), another_unit)
    outcome = run(tmp_path, form, data, name="报送.xlsx")
    assert summary(outcome.findings) == [
        ("identity.mismatch", "error", name.sheet, name.a1), ("identity.mismatch", "error", code.sheet, code.a1),
    ]
    first = outcome.findings[0]
    assert "基本信息单元格为“区教育局”" in first.message
    assert "隐藏的标识工作表“_tianbao”、工作簿的定义名称、文档属性为“区测试局”" in first.message
    assert (first.expected, first.found) == ("区测试局", "区教育局") and outcome.rejected


@pytest.mark.libreoffice
def test_changed_unit_cells_are_still_refused_after_libreoffice_saves_the_workbook(
    tmp_path: Path, form: Form, distributed: dict[str, Path], soffice: str
) -> None:
    name = input_cell(form, "basic", "unit_name")
    source = tmp_path / "改过.xlsx"
    source.write_bytes(edited(filled(form, distributed["D01"]),
                              lambda book: book[name.sheet].__setitem__(name.a1, "区教育局")))
    saved = convert(source, "xlsx", tmp_path / "lo")
    outcome = import_file(saved, form)
    assert summary(outcome.findings) == [("identity.mismatch", "error", name.sheet, name.a1)]


def test_a_workbook_saved_under_another_units_distributed_name_is_refused(
    tmp_path: Path, form: Form, distributed: dict[str, Path]
) -> None:
    data = filled(form, distributed["D01"])
    outcome = run(tmp_path, form, data, name=distributed["D02"].name)
    name, code = input_cell(form, "basic", "unit_name"), input_cell(form, "basic", "unit_code")
    assert summary(outcome.findings) == [
        ("identity.mismatch", "error", name.sheet, name.a1), ("identity.mismatch", "error", code.sheet, code.a1),
    ]
    assert f"文件名为“区教育局”（{distributed['D02'].name}）" in outcome.findings[0].message


@pytest.mark.parametrize("file_name", [
    "D01_区测试局_2025.xlsx", "D01_区测试局_2025 (1).xlsx", "D01_区测试局_2025_修改后.xlsx", "区测试局2025年报.xlsx",
    "财政局_v2.xlsx",
])
def test_a_workbook_under_its_own_or_a_free_name_is_accepted(
    tmp_path: Path, form: Form, distributed: dict[str, Path], file_name: str
) -> None:
    outcome = run(tmp_path, form, filled(form, distributed["D01"]), name=file_name)
    assert not outcome.rejected, outcome.findings


# ---------------------------------------------------------------------------------------
# 3. A workbook returned as distributed is 未填写 unless the unit confirms it has no data


def confirm_cell(form: Form) -> InputCell:
    assert form.spec.unfilled is not None
    section, field_id = form.spec.unfilled.ref
    return input_cell(form, section, field_id)


def test_the_distributed_workbook_returned_unchanged_is_unfilled(
    tmp_path: Path, form: Form, distributed: dict[str, Path]
) -> None:
    outcome = import_file(distributed["D01"], form)
    cell = confirm_cell(form)
    errors = [f for f in outcome.findings if f.is_error]
    assert summary(errors) == [("file.untouched", "error", cell.sheet, cell.a1)]
    assert "与下发时完全相同" in errors[0].message and "未填写" in errors[0].message
    assert f"选择“{cell.choices[0]}”" in errors[0].message
    assert outcome.rejected


def test_an_unchanged_workbook_saved_again_is_unfilled(
    tmp_path: Path, form: Form, distributed: dict[str, Path]
) -> None:
    outcome = run(tmp_path, form, edited(distributed["D01"].read_bytes(), lambda book: None))
    assert [f.rule for f in outcome.findings if f.is_error] == ["file.untouched"]


@pytest.mark.libreoffice
def test_an_unchanged_workbook_saved_by_libreoffice_is_unfilled(
    tmp_path: Path, form: Form, distributed: dict[str, Path], soffice: str
) -> None:
    saved = convert(distributed["D01"], "xlsx", tmp_path / "lo")
    outcome = import_file(saved, form)
    assert [f.rule for f in outcome.findings if f.is_error] == ["file.untouched"]


def test_a_confirmed_all_zero_workbook_is_accepted(tmp_path: Path, form: Form, distributed: dict[str, Path]) -> None:
    cell = confirm_cell(form)
    fee_count, fee_amount = input_cell(form, "other", "fee_count"), input_cell(form, "other", "fee_amount")

    def confirm(book: openpyxl.Workbook) -> None:
        book[cell.sheet][cell.a1] = cell.choices[0]
        book[fee_count.sheet][fee_count.a1] = 0
        book[fee_amount.sheet][fee_amount.a1] = 0

    outcome = run(tmp_path, form, edited(distributed["D01"].read_bytes(), confirm))
    assert outcome.findings == [] and not outcome.rejected
    assert outcome.report is not None and outcome.report.fields[cell.section][cell.key[0]] == cell.choices[0]


def test_numbers_carried_forward_at_distribution_still_count_as_unfilled(tmp_path: Path, form: Form) -> None:
    report = empty_report(form, Unit(code="D01", name="区测试局", level="区县政府部门"), YEAR)
    report.tables["t3"]["carried_over"]["natural_person"] = 4  # prefilled from last year's report
    report.tables["t3"]["carried_forward"]["natural_person"] = 4  # so that R1 holds
    options = WriteOptions(password="pw", locked=identity_locks(form), distributed=True)
    data = render_workbook(form, report, options)
    assert [f.rule for f in run(tmp_path, form, data).findings if f.is_error] == ["file.untouched"]
    cell = confirm_cell(form)
    confirmed = edited(data, lambda book: book[cell.sheet].__setitem__(cell.a1, cell.choices[0]))
    assert [f.rule for f in run(tmp_path, form, confirmed).findings if f.is_error] == []


def test_a_confirmation_beside_numbers_is_a_warning(tmp_path: Path, form: Form, distributed: dict[str, Path]) -> None:
    cell = confirm_cell(form)
    data = edited(filled(form, distributed["D01"]), lambda book: book[cell.sheet].__setitem__(cell.a1, cell.choices[0]))
    outcome = run(tmp_path, form, data)
    assert summary(outcome.findings) == [("file.confirmed_with_numbers", "warning", cell.sheet, cell.a1)]


def test_an_older_workbook_without_the_fingerprint_is_unfilled_when_all_zero(tmp_path: Path, form: Form) -> None:
    blank = render(form, empty_report(form, Unit(code="D01", name="区测试局", level="区县政府部门"), YEAR))
    assert [f.rule for f in run(tmp_path, form, blank).findings if f.is_error] == ["file.untouched"]


def test_merge_lists_an_unfilled_workbook_as_unfilled(tmp_path: Path, form: Form, distributed: dict[str, Path]) -> None:
    roster = tmp_path / "名单.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    result = merge(form, [distributed["D01"]], roster, MergeOptions(unit_name="某区"))
    assert [(e.code, e.status, e.summed) for e in result.entries] == [
        ("D01", STATUS_UNFILLED, False), ("D02", STATUS_MISSING, False),
    ]


# ---------------------------------------------------------------------------------------
# 1. The output folder holds the latest import of its inputs


def findings_by_file(out: Path) -> dict[str, str]:
    with (out / FINDINGS_CSV).open(encoding="utf-8-sig") as handle:
        return {row["文件"]: row["导入结果"] for row in csv.DictReader(handle)}


def history(out: Path) -> list[str]:
    return sorted(p.relative_to(out / HISTORY_FOLDER).as_posix() for p in (out / HISTORY_FOLDER).rglob("*.json"))


def test_a_resubmission_refused_now_leaves_no_json_and_keeps_the_earlier_one_aside(
    tmp_path: Path, form: Form, good: bytes, zero_cell: InputCell
) -> None:
    inbox, out = tmp_path / "收回", tmp_path / "导入"
    inbox.mkdir()
    (inbox / "区测试局.xlsx").write_bytes(good)
    (inbox / "区教育局.xlsx").write_bytes(render(form, sample_report(form, code="D02", name="区教育局")))
    first = import_batch(sorted(inbox.iterdir()), form, out)
    assert len(first.accepted) == 2 and first.set_aside == []
    accepted_before = (out / "D01_区测试局_2025.json").read_text(encoding="utf-8")

    # The unit resubmits with a mistake: the import refuses it.
    (inbox / "区测试局.xlsx").write_bytes(edited(good, lambda b: b[zero_cell.sheet].__setitem__(zero_cell.a1, "五")))
    second = import_batch(sorted(inbox.iterdir()), form, out)
    assert [o.name for o in second.rejected] == ["区测试局.xlsx"]
    assert sorted(p.name for p in out.glob("*.json")) == ["D02_区教育局_2025.json"]
    [kept] = second.set_aside
    assert kept.parent.parent == out / HISTORY_FOLDER and kept.read_text(encoding="utf-8") == accepted_before
    assert findings_by_file(out) == {"区测试局.xlsx": "退回"}
    # merge now chases the unit instead of counting its old numbers.
    roster = tmp_path / "名单.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    merged = merge(form, [out], roster, MergeOptions(unit_name="某区"))
    assert [(e.code, e.status) for e in merged.entries] == [("D01", STATUS_MISSING), ("D02", STATUS_PASSED)]

    # A broken file under the same name (no unit to be read from it) leaves no JSON either.
    (inbox / "区测试局.xlsx").write_bytes(good)
    import_batch(sorted(inbox.iterdir()), form, out)
    (inbox / "区测试局.xlsx").write_bytes(good[:1000])
    third = import_batch(sorted(inbox.iterdir()), form, out)
    assert [p.name for p in third.set_aside] == ["D01_区测试局_2025.json"]
    assert sorted(p.name for p in out.glob("*.json")) == ["D02_区教育局_2025.json"]
    assert len(history(out)) == 2


def test_a_corrected_resubmission_replaces_the_json_and_keeps_the_old_one_aside(
    tmp_path: Path, form: Form, good: bytes, zero_cell: InputCell
) -> None:
    inbox, out = tmp_path / "收回", tmp_path / "导入"
    inbox.mkdir()
    (inbox / "区测试局.xlsx").write_bytes(good)
    import_batch([inbox / "区测试局.xlsx"], form, out)
    again = import_batch([inbox / "区测试局.xlsx"], form, out)  # the same file again: nothing to keep aside
    assert again.set_aside == [] and not (out / HISTORY_FOLDER).exists()
    (inbox / "区测试局_改.xlsx").write_bytes(edited(good, lambda b: b[zero_cell.sheet].__setitem__(zero_cell.a1, 0)))
    (inbox / "区测试局.xlsx").unlink()
    replaced = import_batch([inbox / "区测试局_改.xlsx"], form, out)
    assert [p.name for p in replaced.set_aside] == ["D01_区测试局_2025.json"]
    data = json.loads((out / "D01_区测试局_2025.json").read_text(encoding="utf-8"))
    assert data["provenance"]["source_file"] == "区测试局_改.xlsx"
    assert json.loads(replaced.set_aside[0].read_text(encoding="utf-8"))["provenance"]["source_file"] == "区测试局.xlsx"


def test_reports_of_other_inputs_stay(tmp_path: Path, form: Form, good: bytes) -> None:
    out = tmp_path / "导入"
    (tmp_path / "a.xlsx").write_bytes(good)
    (tmp_path / "b.xlsx").write_bytes(render(form, sample_report(form, code="D02", name="区教育局")))
    import_batch([tmp_path / "a.xlsx"], form, out)
    later = import_batch([tmp_path / "b.xlsx"], form, out)
    assert later.set_aside == []
    assert sorted(p.name for p in out.glob("*.json")) == ["D01_区测试局_2025.json", "D02_区教育局_2025.json"]


@pytest.mark.slow
def test_killed_while_setting_aside_then_rerun_equals_an_uninterrupted_run(tmp_path: Path, form: Form) -> None:
    inbox = tmp_path / "inbox"
    files = build_inbox(inbox, form, "S", 24, slow_every=3)
    # A first import accepts every unit; then each accepted file is replaced by a refused one.
    reference, out = tmp_path / "reference", tmp_path / "out"
    for folder in (reference, out):
        finish(tianbao_import(inbox, folder))
    refused = [p for p in files if (reference / f"{p.stem}_测试单位S{int(p.stem[1:])}_2025.json").exists()]
    for path in refused[::2]:
        path.write_bytes(path.read_bytes()[:2000])
    code, _output = finish(tianbao_import(inbox, reference))
    expected = reports(reference)

    process = tianbao_import(inbox, out)
    time.sleep(2.0)  # somewhere in the batch: before, during or after setting aside
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=HANG_GUARD)
    assert_workers_exit(str(out))
    assert finish(tianbao_import(inbox, out))[0] == code
    assert reports(out) == expected
    assert findings_rows(out) == findings_rows(reference)
    moved = {p.name for p in (out / HISTORY_FOLDER).rglob("*.json")}
    assert moved == {p.name for p in (reference / HISTORY_FOLDER).rglob("*.json")}
    assert len(moved) == len(refused[::2])


# ---------------------------------------------------------------------------------------
# 8. Two files for one unit


def saved_at(data: bytes, moment: str) -> bytes:
    """The workbook as if saved at `moment` (docProps/core.xml dcterms:modified)."""
    core = zipfile.ZipFile(io.BytesIO(data)).read("docProps/core.xml").decode("utf-8")
    core = re.sub(r"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rf"\g<1>{moment}\g<2>", core)
    return replace_member(data, "docProps/core.xml", core.encode("utf-8"))


@pytest.fixture
def two_versions(tmp_path: Path, good: bytes, zero_cell: InputCell) -> list[Path]:
    """财政局.xlsx saved first, 财政局_v2.xlsx (another number) saved later; the name sorts it second."""
    inbox = tmp_path / "收回"
    inbox.mkdir()
    (inbox / "财政局.xlsx").write_bytes(saved_at(good, "2026-01-10T02:00:00Z"))
    newer = edited(good, lambda b: b[zero_cell.sheet].__setitem__(zero_cell.a1, 0))
    (inbox / "财政局_v2.xlsx").write_bytes(saved_at(newer, "2026-01-12T02:00:00Z"))
    return sorted(inbox.iterdir())


def test_two_files_for_one_unit_are_both_refused_naming_the_newer(
    tmp_path: Path, form: Form, two_versions: list[Path]
) -> None:
    result = import_batch(two_versions, form, tmp_path / "导入")
    assert [o.name for o in result.rejected] == ["财政局.xlsx", "财政局_v2.xlsx"]
    for outcome in result.outcomes:
        [duplicate] = [f for f in outcome.findings if f.rule == "identity.duplicate"]
        assert duplicate.severity == "error"
        assert "按工作簿记录的保存时间，财政局_v2.xlsx 较新" in duplicate.message and "--latest" in duplicate.message
    assert list((tmp_path / "导入").glob("*.json")) == []


def test_latest_takes_the_file_saved_last(tmp_path: Path, form: Form, two_versions: list[Path]) -> None:
    out = tmp_path / "导入"
    ran = tianbao("import", two_versions[0].parent, "-o", out, "--latest")
    assert ran.exit_code == 1 and "接收 1 个（其中有警告 1 个），退回 1 个" in ran.stdout
    assert "退回 财政局.xlsx：本批文件中 财政局_v2.xlsx 也是“区测试局”2025 年度的报告" in ran.stdout
    [written] = out.glob("*.json")
    data = json.loads(written.read_text(encoding="utf-8"))
    assert data["provenance"]["source_file"] == "财政局_v2.xlsx"
    assert [(f["rule"], f["severity"]) for f in data["findings"]] == [("identity.duplicate", "warning")]
    assert findings_by_file(out) == {"财政局.xlsx": "退回", "财政局_v2.xlsx": "接收（有警告）"}


def test_latest_cannot_choose_between_files_saved_at_the_same_time(
    tmp_path: Path, form: Form, good: bytes
) -> None:
    for name in ("a.xlsx", "b.xlsx"):
        (tmp_path / name).write_bytes(saved_at(good, "2026-01-10T02:00:00Z"))
    result = import_batch([tmp_path / "a.xlsx", tmp_path / "b.xlsx"], form, tmp_path / "out", latest=True)
    assert len(result.rejected) == 2
    assert all("无法从工作簿记录的保存时间判断哪一份较新" in o.findings[-1].message for o in result.rejected)


# ---------------------------------------------------------------------------------------
# 2. File names that are not UTF-8 (GBK names from a zip made on Chinese Windows)

posix_only = pytest.mark.skipif(os.name == "nt", reason="Windows file names are always Unicode")


def gbk_name(text: str) -> str:
    """The name Linux gives a file whose name is GBK bytes (kept as surrogate escapes)."""
    return os.fsdecode(text.encode("gbk"))


@posix_only
def test_a_batch_with_gbk_file_names_completes_and_lists_every_file(tmp_path: Path, good: bytes) -> None:
    inbox, out = tmp_path / "收回", tmp_path / "导入"
    inbox.mkdir()
    (inbox / gbk_name("财政局.xlsx")).write_bytes(good)
    (inbox / gbk_name("教育局（坏）.xlsx")).write_bytes(good[:500])
    ran = tianbao("import", inbox, "-o", out, "--jobs", "2")
    assert ran.exit_code == 1 and "退回 教育局（坏）.xlsx：" in ran.stdout
    assert findings_by_file(out) == {"教育局（坏）.xlsx": "退回"}
    book = openpyxl.load_workbook(out / "findings.xlsx", read_only=True)
    assert [row[:2] for row in book["文件清单"].iter_rows(min_row=2, values_only=True)] == [
        ("财政局.xlsx", "接收"), ("教育局（坏）.xlsx", "退回"),  # in the order of the names' bytes
    ]
    data = json.loads((out / "D01_区测试局_2025.json").read_text(encoding="utf-8"))
    assert data["provenance"]["source_file"] == "财政局.xlsx"


@posix_only
def test_annotate_and_merge_take_gbk_file_names(tmp_path: Path, form: Form, good: bytes, zero_cell: InputCell) -> None:
    bad = tmp_path / gbk_name("财政局.xlsx")
    bad.write_bytes(edited(good, lambda b: b[zero_cell.sheet].__setitem__(zero_cell.a1, "五")))
    ran = tianbao("annotate", bad)
    assert ran.exit_code == 0 and "已生成" in ran.stdout and "退回_财政局.xlsx" in ran.stdout
    assert (tmp_path / f"退回_{gbk_name('财政局')}.xlsx").is_file()
    roster = tmp_path / "名单.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    (tmp_path / gbk_name("财政局.xlsx")).write_bytes(good)
    merged = tianbao("merge", tmp_path / gbk_name("财政局.xlsx"), "--roster", roster, "-o", tmp_path / "汇总",
                     "--unit-name", "某区")
    assert merged.exit_code == 0, merged.output
    district = json.loads((tmp_path / "汇总" / "district.json").read_text(encoding="utf-8"))
    assert [s["source_file"] for s in district["sources"] if s["source_file"]] == ["财政局.xlsx"]


# ---------------------------------------------------------------------------------------
# 9. Messages that say what the file is and what to do


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name, payload in members.items():
            target.writestr(name, payload)
    return out.getvalue()


def password_xls() -> bytes:
    """An .xls whose workbook globals start with BOF then FILEPASS (RC4 CryptoAPI), as Excel
    and WPS write a workbook with an opening password."""
    bof = b"\x09\x08\x10\x00\x00\x06\x05\x00" + bytes(12)
    filepass = b"\x2f\x00\x36\x00\x01\x00" + bytes(52)
    return OLE2_MAGIC + bytes(504) + "Workbook".encode("utf-16-le") + bytes(1024) + bof + filepass + bytes(512)


def not_workbooks() -> dict[str, tuple[bytes, str]]:
    fods = (b'<?xml version="1.0" encoding="UTF-8"?><office:document xmlns:office="urn:oasis:names:tc:opendocument:'
            b'xmlns:office:1.0" office:mimetype="application/vnd.oasis.opendocument.spreadsheet"/>')
    csv_text = "单位,件数\n区测试局,7\n区教育局,0\n"
    return {
        "二进制.xlsb": (zip_of({"[Content_Types].xml": b"<Types/>", "xl/workbook.bin": b"\x83\x01"}), "（.xlsb）"),
        "苹果.numbers": (zip_of({"Index/Document.iwa": b"\x00", "Metadata/Properties.plist": b""}), "Numbers"),
        "有密码.xls": (password_xls(), "设置了打开密码的旧版 Excel"),
        "单文件.fods": (fods, "（.fods）"),
        "表格.csv": (csv_text.encode("utf-8"), "CSV 文件"),
        "表格gbk.csv": (csv_text.encode("gbk"), "CSV 文件"),
        "D01_区测试局_2025.json": (render_json(), "这是 tianbao 导入后生成的 JSON 文件"),
    }


def render_json() -> bytes:
    from tianbao.form import resolve_form

    return sample_report(resolve_form(None)).to_json().encode("utf-8")


@pytest.mark.parametrize("name", list(not_workbooks()))
def test_each_kind_of_file_gets_its_own_message(tmp_path: Path, form: Form, name: str) -> None:
    content, phrase = not_workbooks()[name]
    outcome = run(tmp_path, form, content, name=name)
    assert summary(outcome.findings) == [("file.unreadable", "error", None, None)]
    message = outcome.findings[0].message
    assert phrase in message, message
    assert "解压" not in message and "文本文件" not in message


def test_an_excel_lock_file_given_by_name_is_called_one(tmp_path: Path, form: Form) -> None:
    owner = tmp_path / "~$财政局.xlsx"
    owner.write_bytes(b"\x08zhangsan" + bytes(53) + b"\x08\x00z\x00h\x00a\x00n\x00g\x00" + bytes(90))
    outcome = import_file(owner, form)
    assert summary(outcome.findings) == [("file.unreadable", "error", None, None)]
    assert "临时锁定文件" in outcome.findings[0].message


def test_importing_a_folder_into_itself_works(tmp_path: Path, good: bytes) -> None:
    inbox = tmp_path / "收回"
    inbox.mkdir()
    (inbox / "区测试局.xlsx").write_bytes(good)
    for _run in range(2):  # again: its own JSON and findings are not taken for inputs
        ran = tianbao("import", inbox, "-o", inbox)
        assert ran.exit_code == 0, ran.output
        assert "共 1 个文件：接收 1 个" in ran.stdout
    assert sorted(p.name for p in inbox.iterdir()) == [
        "D01_区测试局_2025.json", "findings.csv", "findings.xlsx", "区测试局.xlsx",
    ]


def test_files_of_one_name_in_sub_folders_are_shown_by_their_path(tmp_path: Path, form: Form, good: bytes) -> None:
    inbox, out = tmp_path / "收回", tmp_path / "导入"
    for folder, code, name in (("甲", "D01", "区测试局"), ("乙", "D02", "区教育局")):
        (inbox / folder).mkdir(parents=True)
        data = render(form, sample_report(form, code=code, name=name))
        (inbox / folder / "年报.xlsx").write_bytes(data if folder == "甲" else data[:800])
    ran = tianbao("import", inbox, "-o", out)
    first, second = str(Path("甲") / "年报.xlsx"), str(Path("乙") / "年报.xlsx")
    assert f"退回 {second}：" in ran.stdout
    assert findings_by_file(out) == {second: "退回"}
    data = json.loads((out / "D01_区测试局_2025.json").read_text(encoding="utf-8"))
    assert data["provenance"]["source_file"] == first
    checked = tianbao("check", inbox)
    assert first in checked.stdout and second in checked.stdout


# ---------------------------------------------------------------------------------------
# 7. --convert leaves no LibreOffice running and no temporary folder behind


def processes_mentioning(marker: str) -> list[str]:
    """Command lines of running processes that mention `marker` (Linux: /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if marker in line:
            found.append(line)
    return found


@pytest.mark.slow
@pytest.mark.libreoffice
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="processes are listed through /proc")
def test_a_convert_batch_cut_off_by_its_deadline_leaves_no_libreoffice_and_no_temporary_folder(
    tmp_path: Path, good: bytes, soffice: str
) -> None:
    source = tmp_path / "报送.xlsx"
    source.write_bytes(good)
    inbox = tmp_path / "收回"
    inbox.mkdir()
    for number in range(2):  # LibreOffice takes longer than the deadline to start
        (inbox / f"旧格式{number}.xls").write_bytes(convert(source, "xls", tmp_path / "xls").read_bytes())
    scratch = tmp_path / "临时"
    scratch.mkdir()
    ran = tianbao("import", inbox, "-o", tmp_path / "导入", "--convert", "--limit", "max_seconds=1", "--jobs", "2",
                  env={"TMPDIR": str(scratch)})
    assert ran.exit_code == 1 and "退回 2 个" in ran.stdout
    assert findings_by_file(tmp_path / "导入") == {"旧格式0.xls": "退回", "旧格式1.xls": "退回"}
    assert processes_mentioning(str(scratch)) == []
    assert list(scratch.iterdir()) == []


@pytest.mark.libreoffice
def test_libreoffice_that_cannot_open_a_file_gives_a_chinese_message_naming_no_file(
    tmp_path: Path, good: bytes, soffice: str
) -> None:
    locked = tmp_path / "input.xlsx"
    locked.write_bytes(encrypted(good))  # LibreOffice headless cannot ask for the password
    with pytest.raises(OfficeError) as raised:
        convert(locked, "xlsx", tmp_path / "out")
    assert str(raised.value) == "LibreOffice 无法打开或转换这个文件（可能已损坏或设置了密码）"


def test_a_password_protected_xls_with_convert_says_so_in_chinese(tmp_path: Path, form: Form) -> None:
    outcome = run(tmp_path, form, password_xls(), name="有密码.xls", convert=True)
    [finding] = outcome.findings
    assert "设置了打开密码" in finding.message and "input" not in finding.message
