"""Batch import, wrong kinds of file, outputs, the CLI commands and `annotate`."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import docx
import jsonschema
import openpyxl
import pytest

from clirun import tianbao
from corpus import encrypted
from test_reader import edited, input_cell, render, sample_report
from tianbao.form import Form, load_form, resolve_form
from tianbao.io.reports import load_report
from tianbao.report import Finding, Unit, empty_report, report_schema
from tianbao.rules.check import recompute
from tianbao.stages.annotate import annotate
from tianbao.stages.batch import FINDINGS_CSV, FINDINGS_XLSX, import_batch
from tianbao.stages.intake import import_file
from tianbao.stages.office import convert
from tianbao.workbook.layout import ANNOTATION_SHEET
from tianbao.workbook.sniff import OLE2_MAGIC

SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "report.schema.json"
MINI = Path(__file__).resolve().parent / "forms" / "mini.yaml"


@pytest.fixture(scope="module")
def good(form: Form) -> bytes:
    return render(form, sample_report(form))


def ods() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        target.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        target.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


def xls_header() -> bytes:
    # The OLE2 signature and a directory entry named "Workbook", as in every BIFF8 file.
    return OLE2_MAGIC + bytes(504) + "Workbook".encode("utf-16-le") + bytes(1024)


def word() -> bytes:
    out = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("政府信息公开工作年度报告")
    document.save(out)
    return out.getvalue()


def not_workbooks(good: bytes) -> dict[str, tuple[bytes, str]]:
    """File name -> (content, a phrase the rejection must contain)."""
    return {
        "旧格式.xls": (xls_header(), ".xls"),
        "表格.xlsx": (ods(), ".ods"),
        "加密.xlsx": (encrypted(good), "文件设置了打开密码，请取消密码后重新保存"),
        "报告.pdf.xlsx": (b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n", "PDF"),
        "空.xlsx": (b"", "空的"),
        "截断.xlsx": (good[: len(good) // 3], "损坏或不完整"),
        "文档.xlsx": (word(), "Word 文档"),
        "乱码.xlsx": (bytes(range(256)) * 8, "无法识别"),
    }


def test_every_kind_of_wrong_file_gets_its_own_message(tmp_path: Path, form: Form, good: bytes) -> None:
    for name, (content, phrase) in not_workbooks(good).items():
        path = tmp_path / name
        path.write_bytes(content)
        outcome = import_file(path, form)
        assert outcome.report is None and outcome.rejected, name
        assert len(outcome.findings) == 1, name
        finding = outcome.findings[0]
        assert finding.severity == "error" and finding.rule == "file.unreadable"
        assert phrase in finding.message, (name, finding.message)


def test_missing_file_is_a_rejection_not_a_traceback(tmp_path: Path, form: Form) -> None:
    outcome = import_file(tmp_path / "不存在.xlsx", form)
    assert outcome.rejected and outcome.findings[0].rule == "file.unreadable"


@pytest.mark.slow
@pytest.mark.libreoffice
def test_convert_xls_with_libreoffice(tmp_path: Path, form: Form, good: bytes, soffice: str) -> None:
    source = tmp_path / "报送.xlsx"
    source.write_bytes(good)
    xls = convert(source, "xls", tmp_path / "xls")
    refused = import_file(xls, form)
    assert refused.rejected and ".xls" in refused.findings[0].message
    outcome = import_file(xls, form, convert=True)
    assert not outcome.rejected, outcome.findings
    assert [f.rule for f in outcome.findings] == ["file.converted"]
    assert outcome.report is not None
    expected = sample_report(form)
    recompute(form, expected.tables)
    assert outcome.report.tables == expected.tables
    assert outcome.sha256 == hashlib.sha256(xls.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------
# Batches


@pytest.mark.slow
def test_batch_of_200_with_10_bad(tmp_path: Path, form: Form, good: bytes) -> None:
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    bad: set[str] = set()
    cell = input_cell(form, "t3", "new", "natural_person")
    wrong = list(not_workbooks(good).values())
    for number in range(200):
        name = f"{number:03d}.xlsx"
        if number % 20 == 7:
            if len(bad) < len(wrong):
                content = wrong[len(bad)][0]
            else:
                report = sample_report(form, code=f"U{number:03d}", name=f"单位{number}")
                content = edited(render(form, report), lambda book: book[cell.sheet].__setitem__(cell.a1, "五"))
            bad.add(name)
        else:
            content = render(form, sample_report(form, code=f"U{number:03d}", name=f"单位{number}"))
        (inbox / name).write_bytes(content)
    assert len(bad) == 10
    outdir = tmp_path / "导入"
    done = []
    result = import_batch(sorted(inbox.iterdir()), form, outdir, year=2025, jobs=2, on_done=done.append)
    assert len(done) == 200
    reports = sorted(outdir.glob("*.json"))
    assert len(reports) == 190
    assert len(list(outdir.iterdir())) == 192  # and findings.csv/.xlsx: no staging files left
    assert {o.source.name for o in result.rejected} == bad
    with (outdir / FINDINGS_CSV).open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["文件"] for r in rows if r["导入结果"] == "退回"} == bad
    loaded = load_report(reports[0], form)
    assert loaded.unit.code == "U000" and loaded.year == 2025
    assert (outdir / FINDINGS_XLSX).is_file()


def test_same_unit_twice_refuses_both(tmp_path: Path, form: Form, good: bytes) -> None:
    for name in ("a.xlsx", "b.xlsx"):
        (tmp_path / name).write_bytes(good)
    result = import_batch([tmp_path / "a.xlsx", tmp_path / "b.xlsx"], form, tmp_path / "out")
    assert [o.name for o in result.rejected] == ["a.xlsx", "b.xlsx"]
    for outcome in result.rejected:
        assert [f.rule for f in outcome.findings if f.rule == "identity.duplicate"] == ["identity.duplicate"]
        assert outcome.report is not None and outcome.report.findings == outcome.findings
    with (tmp_path / "out" / FINDINGS_CSV).open(encoding="utf-8-sig") as handle:
        listed = [(r["文件"], r["规则"]) for r in csv.DictReader(handle)]
    assert listed.count(("a.xlsx", "identity.duplicate")) == 1
    assert listed.count(("b.xlsx", "identity.duplicate")) == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [FINDINGS_CSV, FINDINGS_XLSX]


def test_findings_csv_neutralises_formulas(tmp_path: Path, form: Form, good: bytes) -> None:
    text = input_cell(form, "basic", "unit_level")
    (tmp_path / "a.xlsx").write_bytes(edited(good, lambda book: book[text.sheet].__setitem__(text.a1, "=HYPERLINK(1)")))
    import_batch([tmp_path / "a.xlsx"], form, tmp_path / "out")
    content = (tmp_path / "out" / FINDINGS_CSV).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][0] == "文件"
    cells = [cell for row in rows[1:] for cell in row]
    assert "'=HYPERLINK(1)" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


# ---------------------------------------------------------------------------------------
# Commands


def test_import_command(tmp_path: Path, form: Form, good: bytes) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "好.xlsx").write_bytes(good)
    (folder / "~$好.xlsx").write_bytes(b"lock file of an open workbook")
    (folder / "Thumbs.db").write_bytes(OLE2_MAGIC)
    (folder / "__MACOSX").mkdir()
    (folder / "__MACOSX" / "._好.xlsx").write_bytes(b"resource fork")
    result = tianbao("import", str(folder), "-o", str(tmp_path / "out"), "--year", "2025")
    assert result.exit_code == 0, result.output
    assert "接收 1 个" in result.output
    data = json.loads((tmp_path / "out" / "D01_区测试局_2025.json").read_text(encoding="utf-8"))
    assert data["tables"]["t2"]["fees"]["amount"] == "12.3456"
    assert "\\u" not in (tmp_path / "out" / "D01_区测试局_2025.json").read_text(encoding="utf-8")

    (folder / "坏.xlsx").write_bytes(b"")
    result = tianbao("import", str(folder), "-o", str(tmp_path / "out2"), "--jobs", "2")
    assert result.exit_code == 1
    assert "退回 1 个" in result.output and "坏.xlsx" in result.output


def test_check_command(tmp_path: Path, form: Form, good: bytes) -> None:
    (tmp_path / "好.xlsx").write_bytes(good)
    result = tianbao("check", str(tmp_path / "好.xlsx"))
    assert result.exit_code == 0, result.output
    cell = input_cell(form, "t3", "new", "natural_person")
    (tmp_path / "坏.xlsx").write_bytes(edited(good, lambda book: book[cell.sheet].__setitem__(cell.a1, "0件")))
    result = tianbao("check", str(tmp_path / "好.xlsx"), str(tmp_path / "坏.xlsx"))
    assert result.exit_code == 1
    assert "坏.xlsx" in result.output and f"{cell.sheet}!{cell.a1}" in result.output and "0件" in result.output
    assert "Traceback" not in result.output


def test_annotate_builds_a_fresh_workbook_and_leaves_the_original_alone(
    tmp_path: Path, form: Form, good: bytes
) -> None:
    cell = input_cell(form, "t3", "new", "natural_person")
    total = next(c for c in form.computed_cells.values() if c.table == "t3" and c.row == "disclosed")

    text = input_cell(form, "overview", "proactive")
    blank = input_cell(form, "t4", "cases", "review_upheld")
    assert text.max_length
    long_text = "很长的文字" * (text.max_length // 5 + 1)

    def spoil(book: openpyxl.Workbook) -> None:
        book[cell.sheet][cell.a1] = "五"
        book[total.sheet][total.a1] = 999
        book[text.sheet][text.a1] = long_text
        book[blank.sheet][blank.a1] = None

    source = tmp_path / "报送.xlsx"
    source.write_bytes(edited(good, spoil))
    before = source.read_bytes()
    target = tmp_path / "退回_报送.xlsx"
    result = tianbao("annotate", str(source), "-o", str(target), "--strict")
    assert result.exit_code == 0, result.output
    assert source.read_bytes() == before

    book = openpyxl.load_workbook(target)
    assert book.sheetnames[0] == ANNOTATION_SHEET
    listing = book[ANNOTATION_SHEET]
    links = {c.value: c.hyperlink.location for row in listing.iter_rows() for c in row if c.hyperlink}
    assert links[f"{cell.sheet}!{cell.a1}"] == f"'{cell.sheet}'!{cell.a1}"
    assert f"{total.sheet}!{total.a1}" in links
    sheet = book[cell.sheet]
    assert sheet[cell.a1].value == "五"
    assert sheet[cell.a1].comment is not None and "五" in sheet[cell.a1].comment.text
    assert sheet[total.a1].comment is not None and "999" in sheet[total.a1].comment.text
    # What the clerk typed comes back in full; a blank stays a number cell, not a placeholder.
    assert book[text.sheet][text.a1].value == long_text
    assert book[blank.sheet][blank.a1].value == 0 and book[blank.sheet][blank.a1].comment is not None
    # The sent-back workbook is itself a valid tianbao workbook: fixing "五" makes it importable.
    fixed = tmp_path / "改好.xlsx"

    def fix(book: openpyxl.Workbook) -> None:
        book[cell.sheet][cell.a1] = 7
        book[text.sheet][text.a1] = "改短了"

    fixed.write_bytes(edited(target.read_bytes(), fix))
    outcome = import_file(fixed, form)
    assert not outcome.rejected, outcome.findings


def test_annotate_refuses_a_file_that_is_no_workbook(tmp_path: Path, form: Form) -> None:
    (tmp_path / "a.xlsx").write_bytes(b"%PDF-1.4")
    with pytest.raises(Exception, match="PDF"):
        annotate(tmp_path / "a.xlsx", form, tmp_path / "out.xlsx")
    result = tianbao("annotate", str(tmp_path / "a.xlsx"))
    assert result.exit_code == 2 and "PDF" in result.output


def test_committed_schema_describes_the_json_we_write(form: Form) -> None:
    """The committed schema has the model's shape and validates real report JSON.

    (Compared by shape, not text: pydantic releases spell the same schema differently.)"""
    committed = json.loads(SCHEMA.read_text(encoding="utf-8"))
    generated = json.loads(report_schema())
    assert set(committed["properties"]) == set(generated["properties"]), "run: tianbao schema > docs/report.schema.json"
    assert committed["$defs"].keys() == generated["$defs"].keys()
    for name, definition in generated["$defs"].items():
        assert set(committed["$defs"][name].get("properties", {})) == set(definition.get("properties", {})), name
    report = sample_report(form)
    report.findings.append(Finding(rule="R1", severity="error", message="示例", sheet="表三", cell="D6"))
    jsonschema.validate(json.loads(report.to_json()), committed)
    result = tianbao("schema")
    assert result.exit_code == 0 and json.loads(result.output)["title"] == "Report"


def test_a_second_form_imports_without_code_changes(tmp_path: Path) -> None:
    mini = load_form(MINI)
    report = empty_report(mini, Unit(code="M1", name="小单位", level="甲类"), 2025)
    report.tables["counts"]["received"].update(h1=5, h2=4)
    report.tables["counts"]["closed"].update(h1=3, h2=4)
    report.fields["notes"]["summary"] = "概述文字"
    (tmp_path / "mini.xlsx").write_bytes(render(mini, report))
    command = ["import", str(tmp_path / "mini.xlsx"), "-o", str(tmp_path / "out"), "--form", str(MINI)]
    result = tianbao(*command)
    assert result.exit_code == 0, result.output
    loaded = load_report(tmp_path / "out" / "M1_小单位_2025.json", mini)
    recompute(mini, report.tables)
    assert loaded.tables == report.tables and loaded.fields == report.fields

    table = mini.table("counts")
    cell = mini.table_cell(table, "closed", "h1")
    bad = edited((tmp_path / "mini.xlsx").read_bytes(), lambda book: book[table.sheet].__setitem__(cell.a1, 9))
    (tmp_path / "bad.xlsx").write_bytes(bad)
    outcome = import_file(tmp_path / "bad.xlsx", mini)
    assert [(f.rule, f.severity) for f in outcome.findings if f.rule == "S3"] == [("S3", "error")]
    # The national form refuses the other form's workbook, saying which form it is.
    national = import_file(tmp_path / "mini.xlsx", resolve_form(None))
    assert national.report is None and "mini-survey" in national.findings[0].message
