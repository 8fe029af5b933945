"""Round trip: any valid report, written as a workbook and imported again, comes back equal.

Also through LibreOffice: open, recalculate, save as .xlsx (the path a WPS/LibreOffice user's
file takes before it is returned).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from clirun import tianbao
from tianbao.form import Form, resolve_form
from tianbao.form.query import InputCell
from tianbao.report import FieldValue, Report, Unit, empty_report
from tianbao.rules.check import check_report, recompute
from tianbao.stages.intake import import_file
from tianbao.stages.office import convert
from tianbao.workbook.write import WriteOptions, render_workbook

FORM = resolve_form(None)

_CHINESE = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
_ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
_PUNCTUATION = st.sampled_from(list("，。、：；“”（）《》—…"))


def _text(max_size: int, multiline: bool) -> st.SearchStrategy[str]:
    alphabet = st.one_of(_CHINESE, _ASCII, _PUNCTUATION, *([st.just("\n")] if multiline else []))
    base = st.text(alphabet, min_size=1, max_size=max_size)
    # Text that looks like a formula must stay text; blank-looking text is no value.
    return st.one_of(base, base.map(lambda t: ("=" + t)[:max_size])).filter(lambda t: t.strip() != "")


def _value(cell: InputCell) -> st.SearchStrategy[FieldValue]:
    if cell.type == "int":
        return st.integers(0, 1_000_000)
    if cell.type == "decimal":
        # In the canonical form the reader gives (exactly `places` digits), so JSON compares equal.
        step = Decimal(1).scaleb(-cell.places)
        return st.decimals(min_value=0, max_value=1_000_000, places=cell.places, allow_nan=False,
                           allow_infinity=False).map(lambda d: d.quantize(step))
    if cell.type == "year":
        return st.integers(2000, 2100)
    if cell.type == "date":
        return st.dates(date(2000, 1, 1), date(2100, 12, 31)).map(date.isoformat)
    if cell.type == "choice":
        return st.sampled_from(cell.choices)
    size = min(cell.max_length or 200, 200 if cell.type == "longtext" else 60)
    optional = not cell.required
    text = _text(size, cell.type == "longtext")
    return st.one_of(st.none(), text) if optional else text


def balance(form: Form, report: Report) -> None:
    """Make R1 hold (new + carried over == results total + carried forward) per column."""
    recompute(form, report.tables)
    rows = report.tables["t3"]
    for column in rows["new"]:
        if form.is_computed("t3", "new", column):
            continue
        received = rows["new"][column] + rows["carried_over"][column]
        gap = received - rows["results_total"][column] - rows["carried_forward"][column]
        if gap > 0:
            rows["carried_forward"][column] += gap
        else:
            rows["carried_over"][column] -= gap
    recompute(form, report.tables)


@st.composite
def reports(draw: st.DrawFn, form: Form = FORM) -> Report:
    report = empty_report(form, Unit(name="x"), 2025)
    identity = {field_id: role for role, field_id in form.identity_fields.items()}
    unit: dict[str, object] = {}
    for cell in form.input_cells:
        value = draw(_value(cell), label=cell.defined_name)
        role = identity.get(cell.key[0]) if cell.section == form.identity_section.id else None
        if role == "year":
            report.year = value  # type: ignore[assignment]
        elif role is not None:
            unit[role] = value or ""
        elif cell.section in report.tables:
            report.tables[cell.section][cell.key[0]][cell.key[1]] = value  # type: ignore[assignment]
        else:
            report.fields[cell.section][cell.key[0]] = value
    report.unit = Unit(code=str(unit["unit_code"]), name=str(unit["unit_name"]), level=str(unit["unit_level"]))
    balance(form, report)
    assert not [f for f in check_report(form, report) if f.is_error]
    return report


def assert_same(original: Report, imported: Report | None) -> None:
    assert imported is not None
    assert imported.unit == original.unit
    assert imported.year == original.year
    assert imported.tables == original.tables
    assert imported.fields == original.fields
    for rows in imported.tables.values():
        for values in rows.values():
            assert all(isinstance(v, int | Decimal) and not isinstance(v, bool) for v in values.values())


def _warnings_allowed(form: Form) -> set[str]:
    return {rule.id for rule in form.spec.rules if rule.severity == "warning"}


def comparable(report: Report) -> dict[str, object]:
    """The report JSON apart from provenance and findings."""
    data = json.loads(report.to_json())
    del data["provenance"], data["findings"]
    return data


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow, HealthCheck.data_too_large])
@given(report=reports())
@pytest.mark.slow
def test_any_valid_report_survives_new_prefill_and_import(tmp_path: Path, report: Report) -> None:
    prefill = tmp_path / "prefill.json"
    prefill.write_text(report.to_json(), encoding="utf-8")
    path = tmp_path / "round.xlsx"
    result = tianbao("new", "-o", str(path), "--prefill", str(prefill), "--password", "pw")
    assert result.exit_code == 0, result.output
    outcome = import_file(path, FORM)
    assert not outcome.rejected, outcome.findings
    assert {f.rule for f in outcome.findings} <= _warnings_allowed(FORM), outcome.findings
    assert_same(report, outcome.report)
    assert outcome.report is not None and comparable(outcome.report) == comparable(report)


@settings(max_examples=1, deadline=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(batch=st.lists(reports(), min_size=3, max_size=3))
@pytest.mark.slow
@pytest.mark.libreoffice
def test_round_trip_through_libreoffice(tmp_path: Path, soffice: str, batch: list[Report]) -> None:
    for index, report in enumerate(batch):
        source = tmp_path / f"unit{index}.xlsx"
        source.write_bytes(render_workbook(FORM, report.model_copy(deep=True), WriteOptions(password="pw")))
        saved = convert(source, "xlsx", tmp_path / "saved")
        outcome = import_file(saved, FORM)
        assert not outcome.rejected, outcome.findings
        assert {f.rule for f in outcome.findings} <= _warnings_allowed(FORM), outcome.findings
        assert_same(report, outcome.report)
