"""`tianbao merge`: sums, completeness statuses, duplicates, hierarchy, R6, and the outputs.

Unit reports are generated from the form definition: random inputs, then each equality rule
is made to hold by topping up one of its input cells, so no label or layout is hard-coded.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from clirun import tianbao
from factories import satisfy_rules
from tianbao.cli.console import key_rows_table
from tianbao.errors import UserError
from tianbao.form import Form, parse_form
from tianbao.form.grammar import expand_rule
from tianbao.io.reports import load_report
from tianbao.report import Finding, Provenance, Report, Review, Unit, empty_report
from tianbao.rules.check import check_report, recompute
from tianbao.stages.batch import FINDINGS_XLSX
from tianbao.stages.detail import HEADER_ROWS, detail_columns
from tianbao.stages.merge import (
    DETAIL_XLSX,
    DISTRICT_JSON,
    STATUS_DUPLICATE,
    STATUS_INVALID,
    STATUS_MISSING,
    STATUS_OFF_ROSTER,
    STATUS_PASSED,
    STATUS_UNREADABLE,
    STATUS_WARNINGS,
    SUMMARY_XLSX,
    VALUES_CSV,
    VALUES_PARQUET,
    MergeOptions,
    MergeResult,
    merge,
)
from tianbao.stages.summary import STATUS_SHEET, TEXTS_SHEET, write_outputs
from tianbao.stages.sums import numeric_fields

YEAR = 2025


# ---------------------------------------------------------------------------------------
# Generated units


def unit_level(form: Form) -> str:
    """A level no conditional rule applies to, so random reports stay free of warnings."""
    conditional = {v for rule in form.spec.rules if rule.when for v in rule.when.values}
    return next(c for c in form.identity_section_choices("unit_level") or [""] if c not in conditional)


def make_unit(form: Form, code: str, name: str, seed: int, year: int = YEAR, imported_at: str | None = None) -> Report:
    rng = random.Random(seed)
    report = empty_report(form, Unit(code=code, name=name, level=unit_level(form)), year)
    for cell in form.input_cells:
        if len(cell.key) == 2:
            row, column = cell.key
            value = Decimal(rng.randint(0, 999_999)) / 10_000 if cell.type == "decimal" else rng.randint(0, 30)
            report.tables[cell.section][row][column] = value
    for section, field_id, field_type in numeric_fields(form):
        report.fields[section][field_id] = Decimal(rng.randint(0, 9999)) / 100 if field_type == "decimal" else seed
    for section in form.field_sections:
        for field in section.fields:
            if field.type == "longtext":
                report.fields[section.id][field.id] = f"{name}的{field.label}"
    satisfy_rules(form, report)
    assert check_report(form, report) == []
    report.provenance = Provenance(
        source_kind="workbook", source_file=f"{code}.xlsx", imported_at=imported_at or "2026-01-10T09:00:00+08:00"
    )
    return report


def break_rule(form: Form, report: Report) -> None:
    """Add 1 to an input of the first unconditional rule, so that it fails with an error."""
    rule = next(r for r in form.spec.rules if r.when is None and r.severity == "error")
    ref = next(t.ref for t in expand_rule(form, rule)[0].left if t.ref)
    report.tables[ref.table][ref.row][ref.column] += 1
    recompute(form, report.tables)
    assert any(f.is_error for f in check_report(form, report))


def save(report: Report, folder: Path, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{report.unit.code}.json")
    path.write_text(report.to_json(), encoding="utf-8")
    return path


def write_roster(path: Path, units: list[tuple[str, str, str]], level: str) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["code", "name", "level", "parent"])
    writer.writerows([code, name, level, parent] for code, name, parent in units)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def value_keys(form: Form) -> list[tuple[str, str, str]]:
    return [(t.id, r, c) for t in form.tables for r, c in form.table_value_keys(t)]


def expected_tables(form: Form, reports: list[Report]) -> dict[tuple[str, str, str], int | Decimal]:
    """Plain cell-by-cell sums of every value, totals included (sums are linear)."""
    return {(t, r, c): sum((rep.tables[t][r][c] for rep in reports), 0) for t, r, c in value_keys(form)}


def district_values(form: Form, district: Report) -> dict[tuple[str, str, str], int | Decimal]:
    return {(t, r, c): district.tables[t][r][c] for t, r, c in value_keys(form)}


# ---------------------------------------------------------------------------------------
# A district with every kind of submission


@pytest.fixture
def district(tmp_path: Path, form: Form) -> dict:
    """Roster U1..U5: U1-U3 valid, U4 fails a rule, U5 missing; X9 off the roster; one broken file.
    U1's name starts with "=" to prove department text never becomes a formula."""
    names = {"U1": "=HYPERLINK(\"http://x\")甲局", "U2": "乙局", "U3": "丙镇", "U4": "丁街道", "U5": "戊办"}
    level = unit_level(form)
    roster = write_roster(tmp_path / "roster.csv", [(c, n, "") for c, n in names.items()], level)
    inbox = tmp_path / "inbox"
    reports = {
        code: make_unit(form, code, name, seed) for seed, (code, name) in enumerate(names.items()) if code != "U5"
    }
    break_rule(form, reports["U4"])
    for report in reports.values():
        save(report, inbox)
    save(make_unit(form, "X9", "外单位", 99), inbox)
    (inbox / "broken.json").write_text("{not json", encoding="utf-8")
    return {"roster": roster, "inbox": inbox, "reports": reports, "names": names}


def run_merge(form: Form, case: dict, tmp_path: Path, **options: object) -> MergeResult:
    opts = MergeOptions(unit_name="某某区", unit_code="D1", **options)  # type: ignore[arg-type]
    return merge(form, [case["inbox"]], case["roster"], opts, tmp_path / "out")


def statuses(result: MergeResult) -> dict[tuple[str, str], str]:
    return {(e.code, e.submission.source.name if e.submission else ""): e.status for e in result.entries}


def test_sums_only_valid_units_and_names_every_status(form: Form, district: dict, tmp_path: Path) -> None:
    result = run_merge(form, district, tmp_path)
    reports = district["reports"]
    assert district_values(form, result.district) == expected_tables(form, [reports[c] for c in ("U1", "U2", "U3")])
    assert statuses(result) == {
        ("U1", "U1.json"): STATUS_PASSED,
        ("U2", "U2.json"): STATUS_PASSED,
        ("U3", "U3.json"): STATUS_PASSED,
        ("U4", "U4.json"): STATUS_INVALID,
        ("U5", ""): STATUS_MISSING,
        ("X9", "X9.json"): STATUS_OFF_ROSTER,
        ("", "broken.json"): STATUS_UNREADABLE,
    }
    assert [e.code for e in result.entries if e.owing] == ["U4", "U5"]
    invalid = next(e for e in result.entries if e.code == "U4")
    assert invalid.note and not invalid.summed
    district_report = result.district
    assert district_report.kind == "district"
    assert (district_report.unit.name, district_report.unit.code, district_report.year) == ("某某区", "D1", YEAR)
    assert district_report.findings == []
    # Number fields add up; narrative fields are left to the district's writer.
    for section, field_id, _ in numeric_fields(form):
        assert district_report.fields[section][field_id] == sum(
            reports[c].fields[section][field_id] for c in ("U1", "U2", "U3")
        )
    texts = [(s.id, f.id) for s in form.field_sections for f in s.fields if f.type == "longtext"]
    assert texts and all(district_report.fields[s][f] is None for s, f in texts)
    sources = {(s.unit_code, s.status): s for s in district_report.sources}
    assert sources[("U1", STATUS_PASSED)].summed and len(sources[("U1", STATUS_PASSED)].sha256 or "") == 64
    assert not sources[("U4", STATUS_INVALID)].summed
    assert sources[("U5", STATUS_MISSING)].source_file is None


def test_rules_are_rerun_but_reader_findings_are_kept(form: Form, district: dict, tmp_path: Path) -> None:
    """A stale rule verdict stored in a JSON does not count; how the workbook was filled does."""
    stale = district["reports"]["U1"].model_copy(deep=True)
    stale.findings = [Finding(rule=form.spec.rules[0].id, severity="error", message="旧的校验结果")]
    save(stale, district["inbox"])
    flagged = district["reports"]["U2"].model_copy(deep=True)
    flagged.findings = [Finding(rule="value.text", severity="error", message="件数单元格填了文字")]
    save(flagged, district["inbox"])
    result = run_merge(form, district, tmp_path)
    assert statuses(result)[("U1", "U1.json")] == STATUS_PASSED
    assert statuses(result)[("U2", "U2.json")] == STATUS_INVALID
    assert next(e for e in result.entries if e.code == "U2").note == "件数单元格填了文字"


def test_overridden_errors_are_named_in_the_status_line(form: Form, district: dict, tmp_path: Path) -> None:
    """An error a reviewer overrode counts, but the summary's 报送情况 says so, with the reason."""
    reviewed = district["reports"]["U2"].model_copy(deep=True)
    reviewed.findings = [
        Finding(rule="value.text", severity="error", message="件数单元格填了文字", sheet="表三", cell="D6",
                review=Review(decision="override", reason="原表如此，经核实无误")),
        Finding(rule="value.blank", severity="warning", message="有单元格没有填写", sheet="表三", cell="D7"),
    ]
    save(reviewed, district["inbox"])
    result = run_merge(form, district, tmp_path)
    entry = next(e for e in result.entries if e.code == "U2")
    note = "有 1 个错误经审核覆盖（理由：原表如此，经核实无误）；有单元格没有填写"
    assert (entry.status, entry.summed, entry.note) == (STATUS_WARNINGS, True, note)
    write_outputs(result, tmp_path / "out")
    sheet = openpyxl.load_workbook(tmp_path / "out" / SUMMARY_XLSX)[STATUS_SHEET]
    row = next(r for r in sheet.iter_rows(values_only=True) if r[1] == "U2")
    assert row[3:7] + row[10:] == (STATUS_WARNINGS, "是", 0, 2, note)


def test_include_invalid_sums_the_failing_unit_but_still_lists_it(form: Form, district: dict, tmp_path: Path) -> None:
    result = run_merge(form, district, tmp_path, include_invalid=True)
    reports = district["reports"]
    assert district_values(form, result.district) == expected_tables(
        form, [reports[c] for c in ("U1", "U2", "U3", "U4")]
    )
    invalid = next(e for e in result.entries if e.code == "U4")
    assert invalid.summed and invalid.owing
    assert any(f.is_error for f in result.district.findings)  # the rule fails on the sums too


def test_outputs_round_trip_and_neutralise_text(
    form: Form, district: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tianbao.io.values.CHUNK_UNITS", 2)  # values files written in two chunks
    inputs = {p: p.read_bytes() for p in district["inbox"].iterdir()}
    result = run_merge(form, district, tmp_path)
    outdir = tmp_path / "out"
    write_outputs(result, outdir)
    assert {p: p.read_bytes() for p in district["inbox"].iterdir()} == inputs  # inputs untouched
    back = load_report(outdir / DISTRICT_JSON, form)
    assert back.kind == "district"
    assert district_values(form, back) == district_values(form, result.district)
    assert back.sources == result.district.sources

    frame = pd.read_parquet(outdir / VALUES_PARQUET)
    assert list(frame.columns) == ["unit_code", "unit_name", "scope", "year", "table", "row", "column", "value"]
    keys = value_keys(form)
    assert len(frame) == len(keys) * 4  # three summed units and the total
    totals = frame[frame["scope"] == "total"]
    assert {(r.table, r.row, r.column): r.value for r in totals.itertuples()} == district_values(form, result.district)
    units = frame[frame["scope"] == "unit"]
    assert sorted(units["unit_code"].unique()) == ["U1", "U2", "U3"]
    assert set(units["unit_name"]) == {district["names"][c] for c in ("U1", "U2", "U3")}  # raw in parquet

    text = (outdir / VALUES_CSV).read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(frame)
    assert {r["unit_name"] for r in rows if r["unit_code"] == "U1"} == {"'" + district["names"]["U1"]}
    decimal_cells = [(t, r, c) for t, r, c in keys if isinstance(result.district.tables[t][r][c], Decimal)]
    t, r, c = decimal_cells[0]
    stated = next(
        x["value"] for x in rows if x["scope"] == "total" and (x["table"], x["row"], x["column"]) == (t, r, c)
    )
    assert Decimal(stated) == result.district.tables[t][r][c]


def test_summary_workbook_contents(form: Form, district: dict, tmp_path: Path) -> None:
    result = run_merge(form, district, tmp_path)
    write_outputs(result, tmp_path / "out")
    path = tmp_path / "out" / SUMMARY_XLSX
    book = openpyxl.load_workbook(path)
    # Official tables: district sums in every input cell, every input locked, totals as formulas.
    for cell in form.input_cells:
        if len(cell.key) != 2:
            continue
        ws_cell = book[cell.sheet][cell.a1]
        assert ws_cell.value == pytest.approx(float(result.district.tables[cell.section][cell.key[0]][cell.key[1]]))
        assert ws_cell.protection.locked
    for computed in form.computed_cells.values():
        assert str(book[computed.sheet][computed.a1].value).startswith("=")

    assert "填表说明" not in book.sheetnames  # nobody fills the summary in
    assert book.sheetnames[0] == STATUS_SHEET
    assert all(not str(c.value).startswith("=LEN(") for ws in book for row in ws.iter_rows() for c in row)

    detail = openpyxl.load_workbook(tmp_path / "out" / DETAIL_XLSX)
    summed = [e for e in result.entries if e.summed]
    columns = detail_columns(form)
    assert detail.sheetnames == list(dict.fromkeys(c.sheet for c in columns))
    for sheet_name in detail.sheetnames:
        sheet = detail[sheet_name]
        mine = [c for c in columns if c.sheet == sheet_name]
        assert [sheet.cell(HEADER_ROWS + 1 + i, 1).value for i in range(len(summed))] == ["U1", "U2", "U3"]
        name_cell = sheet.cell(HEADER_ROWS + 1, 2)
        assert name_cell.value == district["names"]["U1"] and name_cell.data_type == "s"  # text, not a formula
        total_row = HEADER_ROWS + 1 + len(summed)
        assert sheet.cell(total_row, 1).value == "合计"
        for index, column in enumerate(mine):
            assert sheet.cell(total_row, 3 + index).value.startswith("=SUM(")
            unit_value = sheet.cell(HEADER_ROWS + 1, 3 + index).value
            assert unit_value == pytest.approx(float(column.value(summed[0].report) or 0))
            assert sheet.cell(HEADER_ROWS, 3 + index).value == column.label
        assert sheet.auto_filter.ref
        assert sheet.print_title_rows == "$1:$2"

    status = book[STATUS_SHEET]
    cells = [c for row in status.iter_rows(values_only=True) for c in row if c is not None]
    for label in (STATUS_PASSED, STATUS_INVALID, STATUS_MISSING, STATUS_OFF_ROSTER, STATUS_UNREADABLE,
                  "broken.json", "催报名单（尚未报送合格报告的单位，共 2 个）"):
        assert label in cells
    texts = book[TEXTS_SHEET]
    text_cells = [c for row in texts.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    longtext = next(f for s in form.field_sections for f in s.fields if f.type == "longtext")
    assert f"丁街道的{longtext.label}" in text_cells  # invalid units' texts are material too
    with zipfile.ZipFile(path) as package:
        chart = next(n for n in package.namelist() if n.startswith("xl/charts/chart"))
        assert "<c:barChart>" in package.read(chart).decode("utf-8")


@pytest.mark.slow
def test_summary_recalculates_in_libreoffice(form: Form, district: dict, tmp_path: Path, soffice: str) -> None:
    from tianbao.stages.office import convert

    result = run_merge(form, district, tmp_path)
    write_outputs(result, tmp_path / "out")
    converted = convert(tmp_path / "out" / SUMMARY_XLSX, "xlsx", tmp_path / "lo")
    book = openpyxl.load_workbook(converted, data_only=True)
    for (table_id, row_id, column_id), computed in form.computed_cells.items():
        value = book[computed.sheet][computed.a1].value
        assert value == pytest.approx(float(result.district.tables[table_id][row_id][column_id]))
    detail = openpyxl.load_workbook(convert(tmp_path / "out" / DETAIL_XLSX, "xlsx", tmp_path / "lo"), data_only=True)
    total_row = HEADER_ROWS + 1 + len(result.summed)
    for sheet_name in detail.sheetnames:
        mine = [c for c in detail_columns(form) if c.sheet == sheet_name]
        for index, column in enumerate(mine):
            assert detail[sheet_name].cell(total_row, 3 + index).value == pytest.approx(
                float(column.value(result.district) or 0)
            )
    checks = [cell for rule in form.spec.rules if rule.check for cell in rule.check.cells]
    rule_sheets = {cell: rule.check.sheet for rule in form.spec.rules if rule.check for cell in rule.check.cells}
    assert all(book[rule_sheets[c]][c].value == "✓" for c in checks)


# ---------------------------------------------------------------------------------------
# Duplicates, year and form


def test_duplicates_are_an_error_naming_both_files(form: Form, district: dict, tmp_path: Path) -> None:
    later = make_unit(form, "U2", "乙局", 42, imported_at="2026-02-01T09:00:00+08:00")
    save(later, district["inbox"], "U2_resubmitted.json")
    with pytest.raises(UserError) as caught:
        run_merge(form, district, tmp_path)
    assert "U2.json" in str(caught.value) and "U2_resubmitted.json" in str(caught.value)

    result = run_merge(form, district, tmp_path, latest=True)
    assert statuses(result)[("U2", "U2_resubmitted.json")] == STATUS_PASSED
    assert statuses(result)[("U2", "U2.json")] == STATUS_DUPLICATE
    reports = district["reports"]
    assert district_values(form, result.district) == expected_tables(form, [reports["U1"], later, reports["U3"]])


def test_reports_of_another_year_or_form_version_stop_the_merge(form: Form, district: dict, tmp_path: Path) -> None:
    stray = save(make_unit(form, "U5", "戊办", 7, year=YEAR - 1), district["inbox"])
    with pytest.raises(UserError, match=r"U5\.json"):
        run_merge(form, district, tmp_path)
    with pytest.raises(UserError, match=rf"U5\.json（{YEAR - 1} 年）"):
        run_merge(form, district, tmp_path, year=YEAR)
    raw = json.loads(make_unit(form, "U5", "戊办", 7).to_json())
    raw["form"]["version"] = "1999.1"
    stray.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(UserError, match=r"U5\.json 使用的表单"):
        run_merge(form, district, tmp_path)


@pytest.mark.slow
def test_cli_merge_prints_status_and_exits_by_outcome(form: Form, district: dict, tmp_path: Path) -> None:
    args = ["merge", str(district["inbox"]), "--roster", str(district["roster"]), "-o", str(tmp_path / "out"),
            "--unit-name", "某某区"]
    done = tianbao(*args, env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    printed = done.output.replace("\n", "")  # rich wraps long paths at the console width
    for text in (STATUS_INVALID, STATUS_MISSING, "U4", "U5", "X9", "broken.json", DISTRICT_JSON):
        assert text in printed
    assert (tmp_path / "out" / SUMMARY_XLSX).is_file()
    save(make_unit(form, "U1", "甲局", 3), district["inbox"], "again.json")
    refused = tianbao(*args)
    assert refused.exit_code == 2
    message = refused.output.replace("\n", "")
    assert "U1.json" in message and "again.json" in message and "Traceback" not in message
    (district["inbox"] / "again.json").unlink()
    # Writing into the input folder: a rerun leaves its own district.json and summary.xlsx out.
    inplace = [*args[:5], str(district["inbox"]), *args[6:]]
    assert tianbao(*inplace).exit_code == 0
    again = tianbao(*inplace)
    assert again.exit_code == 0
    listing = again.output.split("已写入")[0]
    assert "broken.json" in listing and DISTRICT_JSON not in listing and SUMMARY_XLSX not in listing


# ---------------------------------------------------------------------------------------
# Hierarchy: a city merges districts


def test_merging_district_summaries_equals_merging_all_units(form: Form, tmp_path: Path) -> None:
    level = unit_level(form)
    units = [(f"A{i}", f"甲区单位{i}", "DA") for i in range(4)] + [(f"B{i}", f"乙区单位{i}", "DB") for i in range(3)]
    roster = write_roster(
        tmp_path / "roster.csv", [("C", "某某市", ""), ("DA", "甲区", "C"), ("DB", "乙区", "C"), *units], level
    )
    inbox = tmp_path / "units"
    for seed, (code, name, _) in enumerate(units):
        save(make_unit(form, code, name, seed), inbox)

    districts = tmp_path / "districts"
    for code in ("DA", "DB"):
        result = merge(form, [inbox], roster, MergeOptions(parent=code), tmp_path / code)
        assert result.district.unit.code == code  # identity defaults to the parent's roster line
        mine = [c for c, _, parent in units if parent == code]
        assert [e.code for e in result.entries if e.summed] == mine
        # The other district's units sit in the same folder: listed, never summed.
        assert {e.status for e in result.entries if not e.summed} == {STATUS_OFF_ROSTER}
        save(result.district, districts)

    city = merge(form, [districts], roster, MergeOptions(parent="C"), tmp_path / "C")
    assert city.district.unit.name == "某某市"
    assert [e.code for e in city.entries if e.summed] == ["DA", "DB"]

    flat = write_roster(tmp_path / "flat.csv", [(c, n, "") for c, n, _ in units], level)
    direct = merge(form, [inbox], flat, MergeOptions(unit_name="某某市"), tmp_path / "flat")
    assert district_values(form, city.district) == district_values(form, direct.district)
    assert city.district.fields == direct.district.fields
    # And written out, the city's JSON carries the same values.
    write_outputs(city, tmp_path / "C")
    assert district_values(form, load_report(tmp_path / "C" / DISTRICT_JSON, form)) == district_values(
        form, direct.district
    )


# ---------------------------------------------------------------------------------------
# R6 across years


def last_year_of(form: Form, report: Report, seed: int) -> Report:
    """Last year's report of the same unit whose continuing rows match this year's."""
    before = make_unit(form, report.unit.code, report.unit.name, seed, year=report.year - 1)
    for link in form.spec.year_links:
        for column_id, value in report.tables[link.table][link.current_row].items():
            if not form.is_computed(link.table, link.previous_row, column_id):
                before.tables[link.table][link.previous_row][column_id] = value
    recompute(form, before.tables)
    return before


def test_previous_year_links_are_checked_per_unit_and_for_the_district(
    form: Form, district: dict, tmp_path: Path
) -> None:
    link = form.spec.year_links[0]
    table = form.table(link.table)
    column = next(c.id for c in table.columns if not form.is_computed(link.table, link.previous_row, c.id))
    reports = district["reports"]
    last_year = tmp_path / "last_year"
    for seed, code in enumerate(("U1", "U2", "U3")):
        before = last_year_of(form, reports[code], 100 + seed)
        if code == "U2":
            before.tables[link.table][link.previous_row][column] += 5
            recompute(form, before.tables)
        save(before, last_year)

    result = run_merge(form, district, tmp_path, previous=last_year)
    u2 = next(e for e in result.entries if e.code == "U2")
    assert u2.status == STATUS_INVALID and not u2.summed
    assert any(f.rule == link.rule for f in u2.submission.findings)
    assert statuses(result)[("U1", "U1.json")] == STATUS_PASSED
    # Last year's district total includes U2, this year's sums do not: the district link fails too.
    assert {f.rule for f in result.district.findings} == {link.rule}

    # A last-year district file checks the district only (no unit can be checked against it):
    # one whose carried-forward row matches this year's sums passes.
    last_district = last_year_of(form, run_merge(form, district, tmp_path).district, 7)
    last_district.kind = "district"
    path = save(last_district, tmp_path, "last_district.json")
    again = run_merge(form, district, tmp_path, previous=path)
    assert again.district.findings == []
    last_district.tables[link.table][link.previous_row][column] += 1
    path.write_text(last_district.to_json(), encoding="utf-8")
    mismatch = run_merge(form, district, tmp_path, previous=path)
    assert [f.rule for f in mismatch.district.findings] == [link.rule]
    assert mismatch.district.findings[0].expected != mismatch.district.findings[0].found
    # Last year must be last year.
    last_district.year = YEAR - 2
    path.write_text(last_district.to_json(), encoding="utf-8")
    with pytest.raises(UserError, match=f"{YEAR - 1} 年"):
        run_merge(form, district, tmp_path, previous=path)


# ---------------------------------------------------------------------------------------
# Workbooks as inputs


def test_workbooks_are_imported_on_the_fly_beside_json(form: Form, district: dict, tmp_path: Path) -> None:
    from tianbao.workbook.write import WriteOptions, identity_locks, render_workbook

    reports = district["reports"]
    for code in ("U2", "U4"):
        (district["inbox"] / f"{code}.json").unlink()
        book = render_workbook(form, reports[code].model_copy(deep=True), WriteOptions(locked=identity_locks(form)))
        (district["inbox"] / f"{code}.xlsx").write_bytes(book)
    (district["inbox"] / "not_a_workbook.xlsx").write_bytes(b"%PDF-1.4 not a workbook")
    (district["inbox"] / FINDINGS_XLSX).write_bytes(b"written by tianbao import: not a report")

    result = run_merge(form, district, tmp_path)
    assert statuses(result) == {
        ("U1", "U1.json"): STATUS_PASSED,
        ("U2", "U2.xlsx"): STATUS_PASSED,
        ("U3", "U3.json"): STATUS_PASSED,
        ("U4", "U4.xlsx"): STATUS_INVALID,
        ("U5", ""): STATUS_MISSING,
        ("X9", "X9.json"): STATUS_OFF_ROSTER,
        ("", "broken.json"): STATUS_UNREADABLE,
        ("", "not_a_workbook.xlsx"): STATUS_UNREADABLE,
    }
    assert district_values(form, result.district) == expected_tables(form, [reports[c] for c in ("U1", "U2", "U3")])
    workbook_entry = next(e for e in result.entries if e.code == "U2")
    assert workbook_entry.submission.sha256 == hashlib.sha256((district["inbox"] / "U2.xlsx").read_bytes()).hexdigest()
    assert workbook_entry.submission.imported_at


def test_a_form_without_summary_hints_merges_without_chart(form: Form, tmp_path: Path) -> None:
    """Nothing in the merge depends on the optional `summary` key of the definition."""
    raw = yaml.safe_load(Path(form.source).read_text(encoding="utf-8"))
    raw.pop("summary")
    bare = parse_form(yaml.safe_dump(raw, allow_unicode=True), "bare.yaml")
    inbox = tmp_path / "inbox"
    units = [("U1", "甲局", ""), ("U2", "乙局", "")]
    for seed, (code, name, _) in enumerate(units):
        save(make_unit(bare, code, name, seed), inbox)
    roster = write_roster(tmp_path / "roster.csv", units, unit_level(bare))
    result = merge(bare, [inbox], roster, MergeOptions(unit_name="某某区"), tmp_path / "out")
    write_outputs(result, tmp_path / "out")
    assert (tmp_path / "out" / DETAIL_XLSX).is_file()
    with zipfile.ZipFile(tmp_path / "out" / SUMMARY_XLSX) as package:
        assert not any("chart" in name for name in package.namelist())
    assert key_rows_table(result) is None


# ---------------------------------------------------------------------------------------
# On paper


def pdf_text(pdftotext: str, pdf: Path, layout: bool) -> str:
    import subprocess

    args = [pdftotext, *(["-layout"] if layout else []), str(pdf), "-"]
    return subprocess.run(args, capture_output=True, check=True).stdout.decode("utf-8")


@pytest.mark.slow
def test_summary_prints_on_eight_pages_with_every_text_whole(
    form: Form, district: dict, tmp_path: Path, excel_metrics: str, pdftotext: str
) -> None:
    """The 5-unit summary through LibreOffice to PDF: at most 8 A4 pages; titles, headers and
    names on one line each; the longest 说明 whole (wrapped, not cut); local times."""
    from pypdf import PdfReader

    from tianbao.io.times import shown_time
    from tianbao.stages.office import convert

    result = run_merge(form, district, tmp_path)
    write_outputs(result, tmp_path / "out")
    pdf = convert(tmp_path / "out" / SUMMARY_XLSX, "pdf", tmp_path / "pdf")
    pages = PdfReader(pdf).pages
    assert len(pages) <= 8
    for page in pages:  # A4, either way round
        assert sorted(round(float(x)) for x in page.mediabox.upper_right) == [595, 842]
    laid_out = pdf_text(pdftotext, pdf, layout=True)
    for whole in ("某某区2025年度报告报送情况", "哈希（前12位）", "催报名单（尚未报送合格报告的单位，共 2 个）",
                  "某某区2025年度各单位文字材料", "丁街道", "戊办", "乙局"):
        assert whole in laid_out
    assert re.search(r"第\s*1\s*页\s*共\s*\d+\s*页", laid_out)  # the footer (pdftotext squeezes its spaces)
    assert "填表说明" not in laid_out and "/5000" not in laid_out  # no filling aids
    assert shown_time(next(e for e in result.entries if e.code == "U1").submission.imported_at) in laid_out
    flat = "".join(pdf_text(pdftotext, pdf, layout=False).split())
    longest = max((e.note for e in result.entries), key=len)
    assert len(longest) > 40 and "".join(longest.split()) in flat
    longtext = next(f for s in form.field_sections for f in s.fields if f.type == "longtext")
    assert f"丁街道的{longtext.label}" in flat


def test_long_texts_continue_over_rows_that_fit_and_lose_nothing() -> None:
    from tianbao.io.printing import MAX_ROW_HEIGHT, row_height, split_for_rows

    paragraph = "本年度依法依规做好政府信息公开工作，" * 40  # 720 characters, one paragraph
    text = "\n".join([paragraph, "短段落。", paragraph * 3, "结尾。"])  # about 3,600 characters
    pieces = split_for_rows(text, 54)
    assert len(pieces) > 3
    assert all(row_height([(piece, 54)]) < MAX_ROW_HEIGHT for piece in pieces)  # none is cut at Excel's limit
    assert "".join(p.replace("\n", "") for p in pieces) == text.replace("\n", "")
    assert pieces[1].endswith("短段落。")  # cut between paragraphs where one fits
    assert split_for_rows("", 54) == [""]
    assert split_for_rows("一段。", 54) == ["一段。"]


def test_beyond_the_detail_limit_the_drill_down_is_in_parquet_only(form: Form, district: dict, tmp_path: Path) -> None:
    """Over --detail-limit summed units: no detail.xlsx or values.csv (a stale one from an
    earlier run is removed), values.parquet complete, and 报送情况 says where the numbers are."""
    import inspect

    from tianbao.cli.app import merge_command
    from tianbao.stages.detail import DETAIL_LIMIT

    assert inspect.signature(merge_command).parameters["detail_limit"].default == DETAIL_LIMIT
    result = run_merge(form, district, tmp_path)
    outdir = tmp_path / "out"
    names = [p.name for p in write_outputs(result, outdir, detail_limit=3)]
    assert names == [DISTRICT_JSON, SUMMARY_XLSX, VALUES_PARQUET, VALUES_CSV, DETAIL_XLSX]
    names = [p.name for p in write_outputs(result, outdir, detail_limit=2)]
    assert names == [DISTRICT_JSON, SUMMARY_XLSX, VALUES_PARQUET]
    assert sorted(p.name for p in outdir.iterdir()) == sorted(names)
    assert len(pd.read_parquet(outdir / VALUES_PARQUET)) == len(value_keys(form)) * 4
    line = openpyxl.load_workbook(outdir / SUMMARY_XLSX)[STATUS_SHEET]["A2"].value
    assert line.endswith("单位数超过 2 个，分单位明细只写入 values.parquet（可用 DuckDB 等工具查询），"
                         "不再生成 detail.xlsx 和 values.csv。")


# ---------------------------------------------------------------------------------------
# Analysts: the DuckDB example of docs/用户手册.md, run as written


def documented_queries() -> list[str]:
    manual = (Path(__file__).resolve().parents[1] / "docs" / "用户手册.md").read_text(encoding="utf-8")
    after = manual.split("<!-- duckdb-example:", 1)[1]
    return [block.split("```", 1)[0] for block in after.split("```sql\n")[1:3]]


@pytest.mark.slow
def test_documented_duckdb_queries_read_values_parquet_of_several_years(
    form: Form, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    duckdb = pytest.importorskip("duckdb")
    units = [("U1", "甲局", ""), ("U2", "乙局", ""), ("U3", "丙镇", "")]
    roster = write_roster(tmp_path / "roster.csv", units, unit_level(form))
    new_total: dict[tuple[int, str], int] = {}
    for year in (2024, 2025):
        inbox = tmp_path / f"in{year}"
        for seed, (code, name, _) in enumerate(units):
            report = make_unit(form, code, name, seed + year, year=year)
            new_total[(year, code)] = report.tables["t3"]["new"]["total"]
            save(report, inbox)
        result = merge(form, [inbox], roster, MergeOptions(unit_name="某某区"), tmp_path / "汇总" / str(year))
        write_outputs(result, tmp_path / "汇总" / str(year))
    monkeypatch.chdir(tmp_path)
    by_year, change = documented_queries()
    assert duckdb.sql(by_year).fetchall() == [
        (year, sum(v for (y, _), v in new_total.items() if y == year)) for year in (2024, 2025)
    ]
    expected = sorted(
        ((code, name, new_total[(2025, code)] - new_total[(2024, code)]) for code, name, _ in units),
        key=lambda row: (-abs(row[2]), row[0]),
    )
    assert duckdb.sql(change).fetchall() == expected


def test_rechecking_many_reports_at_once_agrees_with_one_by_one(form: Form) -> None:
    """The merge re-checks all reports as one matrix: the same totals, and exactly the reports
    check_report finds a failing rule on, whatever is spoiled (inputs nudged, stale totals,
    every unit level so that conditional rules apply or not)."""
    from tianbao.rules.vector import recheck_many

    rng = random.Random(14)
    levels = form.identity_section_choices("unit_level") or [""]
    reports = []
    for seed in range(60):
        report = make_unit(form, f"U{seed}", f"单位{seed}", seed)
        report.unit.level = levels[seed % len(levels)]
        inputs = [c for c in form.input_cells if len(c.key) == 2]
        for cell in rng.sample(inputs, seed % 4):  # nudge 0 to 3 inputs: some rules break
            report.tables[cell.section][cell.key[0]][cell.key[1]] += rng.choice((1, 2, 5))
        for table_id, row_id, column_id in list(form.computed_cells)[:seed % 3]:
            report.tables[table_id][row_id][column_id] = 999  # a stale stored total
        reports.append(report)
    one_by_one = [r.model_copy(deep=True) for r in reports]
    expected = []
    for report in one_by_one:
        recompute(form, report.tables)
        expected.append(bool(check_report(form, report)))
    assert recheck_many(form, reports) == expected
    assert 0 < sum(expected) < len(expected)  # both kinds are there
    assert [r.tables for r in reports] == [r.tables for r in one_by_one]
