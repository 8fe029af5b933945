"""Reading returned workbooks: every bad input gives the right finding at the right cell.

Bad workbooks are built here from a generated one (openpyxl edits, zip surgery); no binary
fixtures are committed.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from tianbao.cells import Cell, Range
from tianbao.errors import InputFileError
from tianbao.form import Form
from tianbao.form.query import InputCell
from tianbao.io.roster import Roster, RosterUnit
from tianbao.report import Finding, Report, Unit, empty_report
from tianbao.rules.excel import computed_formula
from tianbao.stages.intake import ImportOutcome, import_file
from tianbao.workbook.layout import META_SHEET
from tianbao.workbook.limits import Limits
from tianbao.workbook.package import XlsxPackage, shift_formula
from tianbao.workbook.sniff import sniff
from tianbao.workbook.write import WriteOptions, render_workbook

YEAR = 2025


def sample_report(form: Form, code: str = "D01", name: str = "区测试局", year: int = YEAR) -> Report:
    """A valid report: some applications received and answered (R1 holds), a fee, texts."""
    levels = form.identity_section_choices("unit_level") or [""]
    report = empty_report(form, Unit(code=code, name=name, level=levels[1 % len(levels)]), year)
    rows = report.tables["t3"]
    rows["new"]["natural_person"] = 7
    rows["carried_over"]["natural_person"] = 2
    rows["disclosed"]["natural_person"] = 6
    rows["carried_forward"]["natural_person"] = 3
    fees = report.tables["t2"]["fees"]
    fees["amount"] = Decimal("12.3456")
    report.fields["overview"]["proactive"] = "本年度主动公开信息 120 条。"
    report.fields["basic"]["fill_date"] = "2026-01-15"
    report.fields["other"]["fee_count"] = 0
    report.fields["other"]["fee_amount"] = Decimal("0.00")
    return report


def render(form: Form, report: Report) -> bytes:
    return render_workbook(form, report, WriteOptions(password="pw", generated_at="2026-01-01T00:00:00+08:00"))


def edited(data: bytes, change: Callable[[openpyxl.Workbook], None]) -> bytes:
    """The workbook as a clerk's spreadsheet program would save it after `change`."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    change(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def replace_member(data: bytes, name: str, payload: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, payload if info.filename == name else source.read(info))
    return out.getvalue()


def run(tmp_path: Path, form: Form, data: bytes, name: str = "报送.xlsx", **options: object) -> ImportOutcome:
    path = tmp_path / name
    path.write_bytes(data)
    return import_file(path, form, **options)  # type: ignore[arg-type]


def input_cell(form: Form, section: str, *key: str) -> InputCell:
    return next(c for c in form.input_cells if c.section == section and c.key == key)


def only(outcome: ImportOutcome, rule: str) -> Finding:
    """The one finding of `rule` (other rules may be present too)."""
    found = [f for f in outcome.findings if f.rule == rule]
    assert len(found) == 1, [f"{f.rule} {f.cell} {f.message}" for f in outcome.findings]
    return found[0]


def exactly(outcome: ImportOutcome, rule: str, *others: str) -> Finding:
    """The one finding of `rule`, when the outcome has exactly these findings and no other."""
    assert sorted(f.rule for f in outcome.findings) == sorted([rule, *others]), [
        f"{f.rule} {f.cell} {f.message}" for f in outcome.findings]
    return only(outcome, rule)


@pytest.fixture(scope="module")
def report(form: Form) -> Report:
    return sample_report(form)


@pytest.fixture(scope="module")
def good(form: Form, report: Report) -> bytes:
    return render(form, report)


@pytest.fixture(scope="module")
def count_cell(form: Form) -> InputCell:
    return input_cell(form, "t3", "new", "natural_person")


# ---------------------------------------------------------------------------------------
# A good workbook


def test_good_workbook_reads_back_every_value(tmp_path: Path, form: Form, report: Report, good: bytes) -> None:
    outcome = run(tmp_path, form, good)
    assert not outcome.rejected
    assert outcome.findings == []
    got = outcome.report
    assert got is not None
    assert got.unit == report.unit and got.year == YEAR
    assert got.tables == report.tables
    assert got.tables["t2"]["fees"]["amount"] == Decimal("12.3456")
    assert got.fields["overview"]["proactive"] == report.fields["overview"]["proactive"]
    assert got.fields["basic"]["fill_date"] == "2026-01-15"
    assert got.provenance.source_kind == "workbook"
    assert got.provenance.source_file == "报送.xlsx"
    assert got.provenance.sha256 == outcome.sha256 and len(outcome.sha256) == 64
    assert got.provenance.generated_at == "2026-01-01T00:00:00+08:00"
    assert got.provenance.imported_at and got.provenance.tool_version


def test_after_openpyxl_save_cached_totals_are_gone_but_values_are_not(
    tmp_path: Path, form: Form, report: Report, good: bytes
) -> None:
    outcome = run(tmp_path, form, edited(good, lambda book: None))
    assert not outcome.rejected, outcome.findings
    assert outcome.report is not None and outcome.report.tables == report.tables


# ---------------------------------------------------------------------------------------
# Count cells


@pytest.mark.parametrize(
    ("typed", "rule", "severity", "value"),
    [
        ("五", "value.text", "error", None),
        ("无", "value.text", "error", None),
        ("0件", "value.text", "error", None),
        (-3, "value.negative", "error", None),
        (2.5, "value.fraction", "error", None),
        ("１２", "value.normalised", "warning", 12),
        ("12 ", "value.normalised", "warning", 12),
        ("1,234", "value.normalised", "warning", 1234),
        ("12.0", "value.normalised", "warning", 12),
        (None, "value.blank", "warning", 0),
        (123_456_789_012, "value.magnitude", "error", None),
    ],
)
def test_count_cell_values(
    tmp_path: Path, form: Form, good: bytes, count_cell: InputCell, typed: object, rule: str, severity: str,
    value: int | None,
) -> None:
    data = edited(good, lambda book: book[count_cell.sheet].__setitem__(count_cell.a1, typed))
    outcome = run(tmp_path, form, data)
    finding = only(outcome, rule)
    assert finding.severity == severity
    assert (finding.sheet, finding.cell) == (count_cell.sheet, count_cell.a1)
    if typed is not None:
        assert finding.found == str(typed)
    assert count_cell.label in finding.message
    if value is not None:
        assert outcome.report is not None
        assert outcome.report.tables["t3"]["new"]["natural_person"] == value


def test_blank_count_is_an_error_when_strict(tmp_path: Path, form: Form, good: bytes, count_cell: InputCell) -> None:
    data = edited(good, lambda book: book[count_cell.sheet].__setitem__(count_cell.a1, None))
    finding = only(run(tmp_path, form, data, strict=True), "value.blank")
    assert finding.severity == "error" and finding.cell == count_cell.a1


def test_formula_referring_to_another_file_is_rejected(
    tmp_path: Path, form: Form, good: bytes, count_cell: InputCell
) -> None:
    data = edited(good, lambda book: book[count_cell.sheet].__setitem__(count_cell.a1, "='[1]Sheet1'!A1"))
    finding = only(run(tmp_path, form, data), "value.external")
    assert finding.severity == "error" and finding.cell == count_cell.a1
    assert "[1]Sheet1" in (finding.found or "")


def test_external_links_and_strict_open_xml(tmp_path: Path, form: Form, good: bytes) -> None:
    workbook = zipfile.ZipFile(io.BytesIO(good)).read("xl/workbook.xml")
    linked = workbook.replace(b"<definedNames>", b'<externalReferences><externalReference r:id="rId99"/>'
                                                 b"</externalReferences><definedNames>")
    finding = only(run(tmp_path, form, replace_member(good, "xl/workbook.xml", linked)), "tamper.external_link")
    assert finding.severity == "warning" and finding.found == "1"
    strict = workbook.replace(b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                              b"http://purl.oclc.org/ooxml/spreadsheetml/main")
    outcome = run(tmp_path, form, replace_member(good, "xl/workbook.xml", strict))
    assert outcome.report is None and "Strict Open XML" in only(outcome, "file.unreadable").message


def test_formula_inside_the_workbook_is_a_warning(
    tmp_path: Path, form: Form, good: bytes, count_cell: InputCell
) -> None:
    # As a spreadsheet program saves it: the formula and its result.
    sheet = zipfile.ZipFile(io.BytesIO(good)).read(_member_of(good, count_cell.sheet)).decode("utf-8")
    patched = re.sub(rf'<c r="{count_cell.a1}"( s="\d+")?>.*?</c>', rf'<c r="{count_cell.a1}"\1><f>3+4</f><v>7</v></c>',
                     sheet, count=1)
    outcome = run(tmp_path, form, replace_member(good, _member_of(good, count_cell.sheet), patched.encode("utf-8")))
    assert [(f.rule, f.severity, f.cell, f.found) for f in outcome.findings] == [
        ("value.formula", "warning", count_cell.a1, "=3+4"),
    ]
    assert outcome.report is not None and outcome.report.tables["t3"]["new"]["natural_person"] == 7


# ---------------------------------------------------------------------------------------
# Amounts, dates, text


@pytest.mark.parametrize(
    ("typed", "rule", "value"),
    [
        ("4068.208", "value.normalised", Decimal("4068.2080")),
        (4068.2080000000002, None, Decimal("4068.2080")),
        (1.23456, "value.places", None),
        ("１２.５", "value.normalised", Decimal("12.5000")),
    ],
)
def test_amounts_are_exact(tmp_path: Path, form: Form, good: bytes, typed: object, rule: str | None,
                           value: Decimal | None) -> None:
    cell = input_cell(form, "t2", "fees", "amount")
    outcome = run(tmp_path, form, edited(good, lambda book: book[cell.sheet].__setitem__(cell.a1, typed)))
    if rule == "value.normalised" and isinstance(typed, str) and typed.isascii():
        rule = None  # a plain number stored as text needs no note
    if rule is None:
        assert not [f for f in outcome.findings if f.cell == cell.a1], outcome.findings
    else:
        assert only(outcome, rule).cell == cell.a1
    if value is not None:
        assert outcome.report is not None
        amount = outcome.report.tables["t2"]["fees"]["amount"]
        assert isinstance(amount, Decimal) and amount == value and str(amount) == str(value)


def test_dates_text_and_choices(tmp_path: Path, form: Form, good: bytes) -> None:
    date = input_cell(form, "basic", "fill_date")
    level = input_cell(form, "basic", "unit_level")
    text = input_cell(form, "overview", "proactive")
    assert text.max_length

    def change(book: openpyxl.Workbook) -> None:
        book[date.sheet][date.a1] = "2026年1月20日"
        book[level.sheet][level.a1] = "不存在的层级"
        book[text.sheet][text.a1] = "字" * (text.max_length + 1)

    outcome = run(tmp_path, form, edited(good, change))
    assert only(outcome, "value.normalised").cell == date.a1
    assert outcome.report is not None and outcome.report.fields["basic"]["fill_date"] == "2026-01-20"
    assert only(outcome, "value.choice").cell == level.a1
    too_long = only(outcome, "value.too_long")
    assert too_long.cell == text.a1 and too_long.found == f"{text.max_length + 1} 字"


# ---------------------------------------------------------------------------------------
# Tampering


def test_total_overwritten_with_a_number(tmp_path: Path, form: Form, good: bytes) -> None:
    computed = next(c for c in form.computed_cells.values() if c.table == "t3" and c.row == "disclosed")
    data = edited(good, lambda book: book[computed.sheet].__setitem__(computed.a1, 999))
    outcome = run(tmp_path, form, data)
    tamper = exactly(outcome, "tamper.formula", "R3")
    assert tamper.severity == "error"
    assert (tamper.sheet, tamper.cell, tamper.found) == (computed.sheet, computed.a1, "999")
    assert f"{computed.sheet}!{computed.a1} 的合计公式被改为数值 999" in tamper.message
    assert tamper.expected == computed_formula(form, "t3", "disclosed", computed.column)
    stated = only(outcome, computed.rule)
    assert stated.severity == "warning" and stated.cell == computed.a1 and stated.found == "999"
    assert outcome.report is not None and outcome.report.tables["t3"]["disclosed"][computed.column] == 6


def test_label_edited(tmp_path: Path, form: Form, good: bytes) -> None:
    table = form.table("t3")
    label = table.labels[-1]
    target = form.origin(table)
    cell = Range.parse(label.range).shifted(target).first
    data = edited(good, lambda book: book[table.sheet].__setitem__(cell.a1, "随便改的标签"))
    finding = exactly(run(tmp_path, form, data), "tamper.label")
    assert (finding.severity, finding.sheet, finding.cell) == ("error", table.sheet, cell.a1)
    assert (finding.expected, finding.found) == (label.text, "随便改的标签")


def test_row_inserted(tmp_path: Path, form: Form, good: bytes) -> None:
    table = form.table("t3")
    row = form.table_cell(table, "withheld_state_secret", "natural_person").row + 1
    outcome = run(tmp_path, form, edited(good, lambda book: book[table.sheet].insert_rows(row)))
    assert outcome.rejected
    # A moved row breaks much else as well; what matters is that the moved labels are named.
    moved = [f for f in outcome.findings if f.rule == "tamper.label"]
    assert moved and all(f.sheet == table.sheet for f in moved)
    assert any("插入、删除或移动" in f.message for f in moved)


def test_moved_input_cell_is_found_through_its_defined_name(tmp_path: Path, form: Form, good: bytes) -> None:
    cell = input_cell(form, "t3", "new", "natural_person")
    workbook = zipfile.ZipFile(io.BytesIO(good)).read("xl/workbook.xml").decode("utf-8")
    name = f'<definedName name="{cell.defined_name}">'
    start = workbook.index(name) + len(name)
    end = workbook.index("</definedName>", start)
    moved = workbook[:start] + "'表三'!$D$7" + workbook[end:]
    finding = exactly(run(tmp_path, form, replace_member(good, "xl/workbook.xml", moved.encode())), "tamper.input")
    assert (finding.severity, finding.cell, finding.expected, finding.found) == ("error", cell.a1, "表三!D6", "表三!D7")
    deleted = workbook[:start] + "'表三'!#REF!" + workbook[end:]
    finding = exactly(run(tmp_path, form, replace_member(good, "xl/workbook.xml", deleted.encode())), "tamper.input")
    assert "已被删除" in finding.message


def test_sheet_renamed(tmp_path: Path, form: Form, good: bytes) -> None:
    def rename(book: openpyxl.Workbook) -> None:
        book["表四"].title = "Sheet4"

    finding = exactly(run(tmp_path, form, edited(good, rename)), "tamper.sheet")
    assert finding.severity == "error" and finding.sheet == "表四" and finding.found == "Sheet4"
    assert "改名" in finding.message


def test_sheet_deleted(tmp_path: Path, form: Form, good: bytes) -> None:
    outcome = run(tmp_path, form, edited(good, lambda book: book.remove(book["表四"])))
    finding = exactly(outcome, "tamper.sheet")
    assert finding.severity == "error" and finding.sheet == "表四"
    assert outcome.rejected


def test_content_outside_the_form_is_a_warning(tmp_path: Path, form: Form, good: bytes) -> None:
    def scribble(book: openpyxl.Workbook) -> None:
        book["表三"]["L40"] = "备注：数据待核"
        book["表三"]["M41"] = 5

    finding = exactly(run(tmp_path, form, edited(good, scribble)), "tamper.outside")
    assert finding.severity == "warning" and finding.sheet == "表三"
    assert finding.cell == "L40,M41" and "L40" in finding.message


def test_rules_run_on_the_values(tmp_path: Path, form: Form, good: bytes, count_cell: InputCell) -> None:
    data = edited(good, lambda book: book[count_cell.sheet].__setitem__(count_cell.a1, 8))
    findings = [f for f in run(tmp_path, form, data).findings if f.rule == "R1"]
    # The natural-person column and the total column both break.
    assert len(findings) == 2 and all(f.severity == "error" for f in findings)
    assert count_cell.a1 in (findings[0].cell or "") and findings[0].found == "10"


# ---------------------------------------------------------------------------------------
# Identity


def test_another_year(tmp_path: Path, form: Form) -> None:
    data = render(form, sample_report(form, year=2024))
    finding = exactly(run(tmp_path, form, data, year=YEAR), "identity.year")
    assert finding.severity == "error" and (finding.expected, finding.found) == ("2025", "2024")
    assert finding.cell == input_cell(form, "basic", "year").a1


def test_another_unit_against_the_roster(tmp_path: Path, form: Form, good: bytes) -> None:
    roster = Roster("名单", (RosterUnit("D02", "区另一局", "区县政府部门"),))
    finding = exactly(run(tmp_path, form, good, roster=roster), "identity.roster")
    assert finding.severity == "error" and "D01" in (finding.found or "")
    listed = Roster("名单", (RosterUnit("D01", "区测试局", "区县政府部门"),))
    assert not run(tmp_path, form, good, roster=listed).rejected


def test_another_form_version(tmp_path: Path, form: Form, good: bytes) -> None:
    outcome = run(tmp_path, form, edited(good, lambda book: _set_meta(book, "form_version", "2019.1")))
    assert outcome.report is None and outcome.rejected
    finding = exactly(outcome, "identity.version")
    assert finding.found == "2019.1" and "2021.1" in finding.message


def _set_meta(book: openpyxl.Workbook, key: str, value: str) -> None:
    for row in book[META_SHEET].iter_rows():
        if row[0].value == key:
            row[1].value = value


def test_another_fingerprint_is_a_warning_only_when_labels_match(tmp_path: Path, form: Form, good: bytes) -> None:
    outcome = run(tmp_path, form, edited(good, lambda book: _set_meta(book, "fingerprint", "0" * 64)))
    assert not outcome.rejected
    assert exactly(outcome, "identity.fingerprint").severity == "warning"

    def also_relabel(book: openpyxl.Workbook) -> None:
        _set_meta(book, "fingerprint", "0" * 64)
        book["表四"]["A4"] = "改过的标签"

    outcome = run(tmp_path, form, edited(good, also_relabel))
    exactly(outcome, "tamper.label")


def test_identity_survives_without_the_hidden_sheet(tmp_path: Path, form: Form, good: bytes) -> None:
    # Defined names and document properties are the fallbacks when the meta sheet is lost.
    outcome = run(tmp_path, form, edited(good, lambda book: book.remove(book[META_SHEET])))
    assert not outcome.rejected, outcome.findings


def test_not_a_tianbao_workbook(tmp_path: Path, form: Form) -> None:
    book = openpyxl.Workbook()
    book.active["A1"] = "自己做的表"
    out = io.BytesIO()
    book.save(out)
    outcome = run(tmp_path, form, out.getvalue())
    assert outcome.report is None
    assert "不是用 tianbao 生成的填报工作簿" in only(outcome, "identity.form").message


# ---------------------------------------------------------------------------------------
# Hostile packages


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol4;</t></si></sst>"""


def test_xml_bomb_is_refused(tmp_path: Path, form: Form, good: bytes) -> None:
    outcome = run(tmp_path, form, replace_member(good, "xl/sharedStrings.xml", BILLION_LAUGHS))
    assert outcome.report is None
    assert "不安全的 XML" in only(outcome, "file.unreadable").message


def test_external_entity_is_refused(good: bytes) -> None:
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><sst><si><t>&e;</t></si></sst>'
    package = XlsxPackage(replace_member(good, "xl/sharedStrings.xml", evil))
    with pytest.raises(InputFileError, match="不安全"):
        package.shared_strings()


def test_zip_bomb_is_refused_before_decompressing(tmp_path: Path, form: Form, good: bytes) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        with target.open("xl/media/bomb.bin", "w") as handle:
            chunk = bytes(1024 * 1024)
            for _ in range(300):
                handle.write(chunk)
    outcome = run(tmp_path, form, out.getvalue())
    assert outcome.report is None
    assert "压缩炸弹" in only(outcome, "file.unreadable").message


def test_an_archive_declaring_too_many_members_is_refused_before_listing_them(
    tmp_path: Path, form: Form, good: bytes
) -> None:
    end = good.rfind(b"PK\x05\x06")
    forged = good[: end + 8] + (60_000).to_bytes(2, "little") * 2 + good[end + 12 :]
    outcome = run(tmp_path, form, forged)
    assert outcome.report is None and "部件数量" in only(outcome, "file.unreadable").message
    with pytest.raises(InputFileError, match="60000"):
        XlsxPackage(forged)


def test_a_member_that_lies_about_its_size_is_refused(good: bytes) -> None:
    package = XlsxPackage(good, Limits(max_member_bytes=1000))
    with pytest.raises(InputFileError, match="压缩炸弹"):
        package.workbook()


def _with_cell_xml(data: bytes, member: str, a1: str, value: str) -> bytes:
    sheet = zipfile.ZipFile(io.BytesIO(data)).read(member).decode("utf-8")
    patched, count = re.subn(rf'<c r="{a1}"( s="\d+")?>.*?</c>', rf'<c r="{a1}"\1><v>{value}</v></c>', sheet, count=1)
    assert count == 1
    return replace_member(data, member, patched.encode("utf-8"))


def _member_of(data: bytes, sheet_name: str) -> str:
    package = XlsxPackage(data)
    info = next(s for s in package.workbook().sheets if s.name == sheet_name)
    assert info.path is not None
    return info.path


@pytest.mark.parametrize("stored", ["NaN", "Infinity", "-inf", "1E+999999999", "1E-999999999"])
def test_numbers_no_spreadsheet_writes_are_refused_cleanly(
    tmp_path: Path, form: Form, good: bytes, count_cell: InputCell, stored: str
) -> None:
    member = _member_of(good, count_cell.sheet)
    outcome = run(tmp_path, form, _with_cell_xml(good, member, count_cell.a1, stored))
    assert outcome.report is not None
    assert [f.rule for f in outcome.findings if f.cell == count_cell.a1][:1] in (
        ["value.text"], ["value.magnitude"], ["value.fraction"],
    )
    total = next(c for c in form.computed_cells.values() if c.table == "t3" and c.row == "new")
    outcome = run(tmp_path, form, _with_cell_xml(good, member, total.a1, stored))
    assert outcome.report is not None and "file.unreadable" not in {f.rule for f in outcome.findings}


def test_a_damaged_deflate_stream_is_a_clear_rejection(tmp_path: Path, form: Form, good: bytes) -> None:
    archive = zipfile.ZipFile(io.BytesIO(good))
    info = archive.getinfo("xl/workbook.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    damaged = bytearray(good)
    for offset in range(start + 2, start + 40):
        damaged[offset] ^= 0x5A
    outcome = run(tmp_path, form, bytes(damaged))
    finding = only(outcome, "file.unreadable")
    assert outcome.report is None and "已损坏" in finding.message and "error" not in finding.message


def test_sniff_by_content(good: bytes) -> None:
    assert sniff(good) == "xlsx"
    assert sniff(b"") == "empty"
    assert sniff(good[: len(good) // 2]) == "truncated"
    assert sniff(b"%PDF-1.7\n") == "pdf"


HAND_WRITTEN_SHEET = (
    b"<?xml version='1.0' encoding='utf-8'?>\r\n"
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheetData>'
    b'<row r="1"><c r="A1" t="str"><f>"a&amp;b"&amp;CHAR(13)</f><v>a&amp;b&#13;\r\nx&#x4E00;</v></c>'
    b"<c r='B1' s='2' t='s'><v>0</v></c><c r=\"C1\"/><c r=\"D1\"><v/></c>"
    b'<c r="E1"><f t="shared" ref="E1:E3" si="0">SUM(A1:D1)</f><v>3</v></c></row>'
    b'<row r="2"><c r="E2"><f t="shared" si="0"/><v>4</v></c><c r="F2" t="b"><v>1</v></c>'
    b'<c r="G2" t="inlineStr"><is><r><t>A</t></r><r><t xml:space="preserve"> B_x0041_</t></r>'
    b'<rPh sb="0" eb="1"><t>x</t></rPh></is></c></row>'
    b'</sheetData><mergeCells count="1"><mergeCell ref="A5:C5"/></mergeCells></worksheet>'
)


def test_sheet_cells_as_stored(good: bytes) -> None:
    package = XlsxPackage(replace_member(good, "xl/worksheets/sheet1.xml", HAND_WRITTEN_SHEET))
    sheet = package.sheet(package.workbook().sheets[0])
    cells = {Cell(*position).a1: raw for position, raw in sheet.cells.items()}
    assert cells["A1"].value == "a&b\r\nx一" and cells["A1"].formula == '"a&b"&CHAR(13)'
    assert cells["B1"].kind == "s" and cells["B1"].value == package.shared_strings()[0]
    assert "C1" not in cells and cells["D1"].is_empty
    assert (cells["E2"].formula, cells["E2"].value) == ("SUM(A2:D2)", "4")
    assert (cells["F2"].kind, cells["F2"].value) == ("b", "1")
    assert cells["G2"].value == "A BA"


def test_shared_formula_is_shifted_from_its_master() -> None:
    assert shift_formula("SUM(D6:I6)", 2, 0) == "SUM(D8:I8)"
    assert shift_formula("$A$1+B2", 1, 1) == "$A$1+C3"
