"""A second, independent spreadsheet engine: Gnumeric (`ssconvert --recalc`).

Inputs are typed in by openpyxl (no cached results), Gnumeric recalculates and re-saves the
workbook as .xlsx. Its totals and check cells must equal what tianbao computes (as
LibreOffice's do, tests/test_libreoffice.py), and its re-saved file must import with the same
values; what Gnumeric loses on the way (the sheet protection of the workbook, the very-hidden
state of the identity sheet) gets a clear finding or is accepted, never a wrong number.
"""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from factories import filled_without_results, random_report, satisfy_rules
from tianbao.form import Form
from tianbao.form.grammar import expand_rule
from tianbao.rules.check import recompute
from tianbao.rules.excel import check_value
from tianbao.stages.intake import import_file

pytestmark = pytest.mark.gnumeric


def recalculated(ssconvert: str, source: Path) -> Path:
    target = source.with_name(f"{source.stem}-gnumeric.xlsx")
    done = subprocess.run([ssconvert, "--recalc", str(source), str(target)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0 and target.is_file(), done.stderr
    return target


@pytest.mark.parametrize("seed", [1, 2])
def test_gnumeric_computes_the_same_totals_and_checks(form: Form, ssconvert: str, tmp_path: Path, seed: int) -> None:
    report = random_report(form, seed)
    path = recalculated(ssconvert, filled_without_results(form, report, tmp_path / "filled.xlsx"))
    recompute(form, report.tables)
    values = openpyxl.load_workbook(path, data_only=True)
    for (table_id, row_id, column_id), cell in form.computed_cells.items():
        got = values[cell.sheet][cell.a1].value
        assert Decimal(str(got)) == report.tables[table_id][row_id][column_id], (cell.sheet, cell.a1)
    checks = 0
    for rule in form.spec.rules:
        for instance in expand_rule(form, rule):
            assert values[rule.check.sheet][instance.check_cell].value == check_value(form, report, instance)
            checks += 1
    assert checks > 0


def test_a_workbook_saved_by_gnumeric_imports_with_the_same_values(form: Form, ssconvert: str,
                                                                   tmp_path: Path) -> None:
    report = random_report(form, 3)
    for column in report.tables["t2"]["regulations"]:  # a department makes no 规章 (R7)
        report.tables["t2"]["regulations"][column] = 0
    for section, fields in report.fields.items():
        for field_id, value in fields.items():
            if value is None and form.field(section, field_id).type in ("int", "decimal"):
                fields[field_id] = 0
    satisfy_rules(form, report)
    path = recalculated(ssconvert, filled_without_results(form, report, tmp_path / "filled.xlsx"))
    outcome = import_file(path, form)
    assert outcome.report is not None and not outcome.rejected, outcome.findings
    assert outcome.report.tables == report.tables
    # Gnumeric shows the very-hidden identity sheet as an ordinary hidden one: said, not refused.
    assert [(f.rule, f.severity) for f in outcome.findings] == [("identity.meta_visible", "warning")]
