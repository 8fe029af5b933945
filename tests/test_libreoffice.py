"""The real-client test: LibreOffice opens our workbook, recalculates, saves it again.

Inputs are filled with openpyxl (which stores no cached formula results), so every total
and check value in LibreOffice's saved copy was computed by LibreOffice itself.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from factories import filled_without_results, random_report
from tianbao.form import Form
from tianbao.form.grammar import expand_rule
from tianbao.report import Unit, empty_report
from tianbao.rules.check import recompute
from tianbao.rules.excel import check_value
from tianbao.stages.office import convert
from tianbao.workbook.layout import META_SHEET
from tianbao.workbook.write import render_workbook


@pytest.mark.slow
@pytest.mark.libreoffice
def test_libreoffice_recalculates_to_python_values(form: Form, soffice: str, tmp_path: Path) -> None:
    reports = [random_report(form, seed) for seed in (1, 2)]
    converted = []
    for index, report in enumerate(reports):
        filled = filled_without_results(form, report, tmp_path / f"filled{index}.xlsx")
        converted.append(convert(filled, "xlsx", tmp_path / "lo"))

    for report, path in zip(reports, converted, strict=True):
        recompute(form, report.tables)
        values = openpyxl.load_workbook(path, data_only=True)
        for (table_id, row_id, column_id), cell in form.computed_cells.items():
            got = values[cell.sheet][cell.a1].value
            assert Decimal(str(got)) == report.tables[table_id][row_id][column_id], (cell.sheet, cell.a1)
        for rule in form.spec.rules:
            for instance in expand_rule(form, rule):
                assert values[rule.check.sheet][instance.check_cell].value == check_value(form, report, instance)

        saved = openpyxl.load_workbook(path)
        assert META_SHEET in saved.sheetnames and saved[META_SHEET].sheet_state != "visible"
        for sheet in saved.worksheets:
            assert sheet.protection.sheet, sheet.title
        for cell in form.input_cells:
            sheet = saved[cell.sheet]
            assert sheet[cell.a1].protection.locked is False, (cell.sheet, cell.a1)
            assert any(cell.a1 in dv.sqref for dv in sheet.data_validations.dataValidation), cell.a1
        # LibreOffice keeps a <workbookProtection/> element but drops lockStructure on export.
        assert saved.security is not None or b"workbookProtection" in _workbook_xml(path)


def _workbook_xml(path: Path) -> bytes:
    import zipfile

    return zipfile.ZipFile(path).read("xl/workbook.xml")


@pytest.mark.slow
@pytest.mark.libreoffice
def test_libreoffice_opens_structure_protected_workbook(form: Form, soffice: str, tmp_path: Path) -> None:
    source = tmp_path / "blank.xlsx"
    source.write_bytes(render_workbook(form, empty_report(form, Unit(name="甲"), 2025)))
    pdf = convert(source, "pdf", tmp_path / "pdf")
    assert pdf.stat().st_size > 1000
