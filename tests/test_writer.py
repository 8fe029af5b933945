"""The generated workbook, read back with openpyxl: labels, locks, validation, names, identity."""

from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from tianbao.cells import Cell, Range
from tianbao.form import Form
from tianbao.form.grammar import expand_rule
from tianbao.report import Unit, empty_report
from tianbao.rules.check import recompute
from tianbao.rules.excel import CHECK_OK
from tianbao.workbook.layout import META_SHEET
from tianbao.workbook.protect import legacy_password_hash
from tianbao.workbook.write import Annotation, WriteOptions, identity_locks, render_workbook

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference" / "format-2021.md"


@pytest.fixture(scope="module")
def blank(form: Form) -> openpyxl.Workbook:
    data = render_workbook(form, empty_report(form, Unit(name=""), 0), WriteOptions(password="pw"))
    return openpyxl.load_workbook(io.BytesIO(data))


def _merged_at(sheet: Worksheet, cell: Cell) -> str:
    for merged in sheet.merged_cells.ranges:
        if merged.min_row == cell.row + 1 and merged.min_col == cell.col + 1:
            return merged.coord
    return cell.a1


def test_sheets_in_filling_order(form: Form, blank: openpyxl.Workbook) -> None:
    assert blank.sheetnames == [*form.sheet_names, META_SHEET]
    assert blank[META_SHEET].sheet_state == "veryHidden"
    assert all(blank[name].sheet_state == "visible" for name in form.sheet_names)


def test_every_official_label_exact_and_merged_as_defined(form: Form, blank: openpyxl.Workbook) -> None:
    for table in form.tables:
        sheet = blank[table.sheet]
        origin = form.origin(table)
        assert sheet.cell(1, origin.col + 1).value == table.title
        for label in table.labels:
            target = Range.parse(label.range).shifted(origin)
            assert sheet.cell(target.first.row + 1, target.first.col + 1).value == label.text
            assert _merged_at(sheet, target.first) == target.a1, label.text


def test_labels_match_the_official_reference(form: Form) -> None:
    """Each label of the definition appears verbatim in the official layout summary."""
    reference = REFERENCE.read_text(encoding="utf-8")
    for table in form.tables:
        assert table.title in reference
        for label in table.labels:
            assert label.text in reference, label.text


def test_official_grid_of_table_three(form: Form) -> None:
    """Spot checks against format-2021.md §4: header bands and the merged group labels."""
    table = form.table("t3")
    ranges = {label.text: label.range for label in table.labels}
    assert ranges["申请人情况"] == "D1:J1"
    assert ranges["总计"] == "J2:J3"
    assert ranges["法人或其他组织"] == "E2:I2"
    assert ranges["三、本年度办理结果"] == "A6:A27"
    assert ranges["（三）不予公开"] == "B8:B15"
    assert ranges["（七）总计"] == "B27:C27"
    assert "3.危及“三安全一稳定”" in ranges
    assert len([c for c in form.input_cells if c.section == "t3"]) == 144
    assert len([k for k in form.computed_cells if k[0] == "t3"]) == 31


def test_protection_everywhere(form: Form, blank: openpyxl.Workbook) -> None:
    assert blank.security.lockStructure
    for sheet in blank.worksheets:
        assert sheet.protection.sheet, sheet.title


def test_structure_protection_in_schema_order(form: Form) -> None:
    data = render_workbook(form, empty_report(form, Unit(name=""), 0), WriteOptions(password="secret"))
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/workbook.xml").decode()
    order = [m.group(1) for m in re.finditer(r"<(\w+)[ />]", xml)]
    assert order.index("workbookPr") < order.index("workbookProtection") < order.index("bookViews")
    assert f'workbookPassword="{legacy_password_hash("secret")}"' in xml


def test_password_hash_known_value() -> None:
    # Excel's legacy hash of "password", as documented in ECMA-376 examples and used by Excel.
    assert legacy_password_hash("password") == "83AF"


def test_inputs_unlocked_validated_named_others_locked(form: Form, blank: openpyxl.Workbook) -> None:
    inputs = {(c.sheet, cell.a1) for c in form.input_cells for cell in (c.merge.cells() if c.merge else [c.cell])}
    names = blank.defined_names
    for cell in form.input_cells:
        sheet = blank[cell.sheet]
        assert sheet[cell.a1].protection.locked is False, (cell.sheet, cell.a1)
        validated = [dv for dv in sheet.data_validations.dataValidation if cell.a1 in dv.sqref]
        assert validated, f"no validation on {cell.sheet}!{cell.a1}"
        assert validated[0].promptTitle and validated[0].error
        assert names[cell.defined_name].attr_text.replace("'", "") == f"{cell.sheet}!{cell.cell.absolute}"
        assert cell.defined_name.isascii()
    for sheet in blank.worksheets:
        for row in sheet.iter_rows():
            for value_cell in row:
                if (sheet.title, value_cell.coordinate) not in inputs:
                    assert value_cell.protection.locked is not False, (sheet.title, value_cell.coordinate)


def test_validation_types(form: Form, blank: openpyxl.Workbook) -> None:
    kinds = {}
    for cell in form.input_cells:
        sheet = blank[cell.sheet]
        dv = next(dv for dv in sheet.data_validations.dataValidation if cell.a1 in dv.sqref)
        kinds.setdefault(cell.type, set()).add(dv.type)
    assert kinds["int"] == {"whole"}
    assert kinds["decimal"] == {"decimal"}
    assert kinds["longtext"] == {"textLength"}
    assert kinds["choice"] == {"list"}


def test_identity_embedded_three_ways(form: Form) -> None:
    report = empty_report(form, Unit(code="A01", name="某某区财政局", level="区县政府部门"), 2025)
    book = openpyxl.load_workbook(io.BytesIO(render_workbook(form, report)))
    meta = {row[0]: row[1] for row in book[META_SHEET].iter_rows(values_only=True)}
    assert meta["form_id"] == form.id and meta["form_version"] == form.version
    assert meta["fingerprint"] == form.fingerprint
    assert (meta["unit_code"], meta["unit_name"], meta["year"]) == ("A01", "某某区财政局", "2025")
    assert book.defined_names["tianbao_unit_name"].attr_text == '"某某区财政局"'
    props = {p.name: p.value for p in book.custom_doc_props.props}
    assert props["tianbao_form_id"] == form.id and props["tianbao_year"] == "2025"


def test_cached_totals_and_checks_are_right(form: Form) -> None:
    report = empty_report(form, Unit(name="x"), 2025)
    t3 = report.tables["t3"]
    t3["new"]["natural_person"] = 7
    t3["new"]["business"] = 2
    t3["disclosed"]["natural_person"] = 5
    t3["carried_forward"]["natural_person"] = 2
    report.tables["t4"]["cases"]["review_upheld"] = 3
    report.tables["t2"]["fees"]["amount"] = Decimal("4068.208")
    data = render_workbook(form, report)
    book = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    recompute(form, report.tables)
    for (table_id, row_id, column_id), cell in form.computed_cells.items():
        assert book[cell.sheet][cell.a1].value == report.tables[table_id][row_id][column_id]
    checks = []
    for rule in form.spec.rules:
        for instance in expand_rule(form, rule):
            checks.append(book[rule.check.sheet][instance.check_cell].value)
    # Business column: 2 new, nothing handled -> R1 fails there and in the total column.
    assert checks.count(CHECK_OK) == len(checks) - 2
    assert book["表二"]["B16"].value == pytest.approx(4068.208)


def test_formulas_are_portable(form: Form) -> None:
    book = openpyxl.load_workbook(io.BytesIO(render_workbook(form, empty_report(form, Unit(name=""), 0))))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    assert "_xlfn" not in cell.value and "_xlws" not in cell.value
                    used = set(re.findall(r"([A-Z]+)\(", cell.value))
                    assert used <= {"SUM", "IF", "ABS", "OR", "LEN"}, used


def test_conditional_fill_sets_both_colours(form: Form) -> None:
    data = render_workbook(form, empty_report(form, Unit(name=""), 0))
    styles = zipfile.ZipFile(io.BytesIO(data)).read("xl/styles.xml").decode()
    dxfs = re.search(r"<dxfs.*?</dxfs>", styles, re.S)
    assert dxfs and "fgColor" in dxfs.group(0) and "bgColor" in dxfs.group(0)


def test_prefill_and_locks(form: Form) -> None:
    report = empty_report(form, Unit(code="B2", name="某某街道办事处", level="街道"), 2024)
    report.tables["t3"]["carried_over"]["natural_person"] = 4
    report.fields["overview"]["proactive"] = "=HYPERLINK(\"http://x\")"
    locks = identity_locks(form) | {("t3", ("carried_over", "natural_person"))}
    book = openpyxl.load_workbook(io.BytesIO(render_workbook(form, report, WriteOptions(locked=locks))))
    t3 = form.table("t3")
    cell = form.table_cell(t3, "carried_over", "natural_person")
    assert book["表三"][cell.a1].value == 4
    assert book["表三"][cell.a1].protection.locked is True
    name_cell = next(c for c in form.input_cells if c.key == ("unit_name",))
    assert book[name_cell.sheet][name_cell.a1].value == "某某街道办事处"
    assert book[name_cell.sheet][name_cell.a1].protection.locked is True
    text_cell = next(c for c in form.input_cells if c.key == ("proactive",))
    assert book[text_cell.sheet][text_cell.a1].value == '=HYPERLINK("http://x")'
    assert book[text_cell.sheet][text_cell.a1].data_type == "s"  # text, never a formula


def test_annotations_become_comments(form: Form) -> None:
    target = form.input_cells[20]
    note = Annotation(target.sheet, target.a1, "这里填写了文字“五”，请改为数字 5。")
    book = openpyxl.load_workbook(io.BytesIO(render_workbook(form, empty_report(form, Unit(name=""), 0),
                                                             WriteOptions(annotations=[note]))))
    assert "请改为数字" in book[target.sheet][target.a1].comment.text


def test_print_setup(form: Form, blank: openpyxl.Workbook) -> None:
    for table in form.tables:
        sheet = blank[table.sheet]
        assert sheet.page_setup.paperSize in (9, "9")
        assert sheet.page_setup.orientation == ("landscape" if table.landscape else "portrait")
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.freeze_panes is not None
    assert blank["表三"].print_title_rows == "$3:$5"
