"""Published reports read back: the real sample, publish round trips, damaged copies, checks."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import docx
import pytest
import yaml

from clirun import tianbao
from fixtures_docs import (
    UNIT,
    YEAR,
    break_header_words,
    docx_without_body,
    edit_row,
    filled_report,
    half_width,
    lose_tabs,
    one_cell_per_line,
    published,
    replace_label,
    sample_with_numbers,
    table_lines,
    truncated_docx,
)
from tianbao.document.read import Hints, read_document, read_document_bytes, sniff_document
from tianbao.document.read.legacy import load_legacy_formats
from tianbao.document.read.parts import find_title
from tianbao.document.read.text import chinese_number, normalize, similarity, split_numbering
from tianbao.form import Form, load_form, parse_form
from tianbao.io.roster import load_roster
from tianbao.report import Report, Unit, empty_report
from tianbao.rules.check import recompute
from tianbao.stages.intake import import_file
from tianbao.stages.office import convert

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "sample-report-2024.txt"  # a real published report
FORMATS = ("txt", "md", "html", "docx")


@pytest.fixture(scope="module")
def report(form: Form) -> Report:
    return filled_report(form)


@pytest.fixture(scope="module")
def text(form: Form, report: Report) -> str:
    return published(form, report, "txt").decode("utf-8")


def read_text(form: Form, text: str, name: str = "年报.txt", encoding: str = "utf-8") -> tuple[Report | None, list]:
    return read_document_bytes(text.encode(encoding), name, form)


def rules(findings: list) -> list[str]:
    return [f.rule for f in findings]


def errors(findings: list) -> list:
    return [f for f in findings if f.severity == "error"]


# ---------------------------------------------------------------------------------------
# The real published sample


def test_sample_report_reads_into_json_with_all_tables_and_every_part(form: Form) -> None:
    report, findings = read_document(SAMPLE, form)
    assert report is not None, findings
    assert findings == []
    assert report.year == 2024 and report.unit.name.endswith("局") and " " not in report.unit.name
    assert report.provenance.source_kind == "document" and report.provenance.sha256
    for table in form.tables:
        values = [v for row in report.tables[table.id].values() for v in row.values()]
        assert len(values) == len(form.table_value_keys(table)) and set(values) == {0}
    for section in form.field_sections:
        if not section.in_document:
            continue
        for field in section.fields:
            if field.document_role != "hidden":
                text = report.fields[section.id][field.id]
                assert isinstance(text, str) and len(text) > 10, (section.id, field.id)
    # Sub-part headings numbered "一主动公开情况。" are headings, not text.
    first = form.field_sections[1].fields[0]
    assert not report.fields[form.field_sections[1].id][first.id].startswith("一")
    assert "".join(report.to_json().split()).count('"source_kind":"document"') == 1


def test_sample_report_in_gb18030_and_as_utf16_reads_the_same(form: Form) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    expected, _ = read_text(form, text)
    for encoding in ("gb18030", "utf-16"):
        got, findings = read_text(form, text, encoding=encoding)
        assert got is not None and findings == [], encoding
        assert got.tables == expected.tables and got.fields == expected.fields


# ---------------------------------------------------------------------------------------
# Round trip through `tianbao publish`


@pytest.mark.parametrize("fmt", FORMATS)
def test_published_documents_read_back_to_the_same_report(form: Form, report: Report, fmt: str) -> None:
    data = published(form, report, fmt)
    assert sniff_document(data) == {"md": "txt"}.get(fmt, fmt)
    got, findings = read_document_bytes(data, f"年报.{fmt}", form)
    assert got is not None and findings == []
    assert got.tables == report.tables
    assert got.fields == report.fields  # texts, and the fee fields from the generated sentence
    assert (got.unit.name, got.year) == (UNIT, YEAR)


def test_publish_command_output_reads_back(tmp_path: Path, form: Form, report: Report) -> None:
    source = tmp_path / "report.json"
    source.write_text(report.to_json(), encoding="utf-8")
    for fmt in ("html", "docx", "txt"):
        out = tmp_path / f"年报.{fmt}"
        result = tianbao("publish", str(source), "-o", str(out))
        assert result.exit_code == 0, result.output
        got, findings = read_document(out, form)
        assert got is not None and findings == [] and got.tables == report.tables, fmt


# ---------------------------------------------------------------------------------------
# Damaged copies read the same numbers


def test_damaged_text_reads_the_same_numbers(form: Form, report: Report, text: str) -> None:
    t2_row = form.table("t2").rows[1].label
    t3_long = next(label.text for label in form.table("t3").labels if "（" in label.text[3:] and len(label.text) > 20)
    typo = replace_label(replace_label(text, t2_row, t2_row[2:]), t3_long, t3_long.replace("情形", "情况"))
    variants = {
        "half-width": half_width(text),
        "lost tabs": lose_tabs(text),
        "one cell per line": one_cell_per_line(text),
        "broken header words": break_header_words(form, text),
        "label variants": typo,
        "everything": one_cell_per_line(half_width(break_header_words(form, typo))),
        "pipes": text.replace("\t", " | "),
        "nbsp and ideographic spaces": text.replace("\t", "\u3000\u3000"),
    }
    for name, damaged in variants.items():
        got, findings = read_text(form, damaged)
        assert got is not None, name
        assert errors(findings) == [] and findings == [], (name, findings)
        assert got.tables == report.tables, name


def test_subpart_numbering_variants(form: Form, report: Report, text: str) -> None:
    overview = form.field_sections[1]
    labels = [f.label for f in overview.fields]
    styles = ["1.{b}", "{n}是{b}方面", "({n}){b}情况", "{n}、{b}", "{n} {b}"]
    for index, (label, style) in enumerate(zip(labels, styles, strict=True), start=1):
        text = text.replace(label, style.format(n=chinese_number(index), b=split_numbering(label)[1]))
    got, findings = read_text(form, text)
    assert got is not None and findings == []
    assert got.fields[overview.id] == report.fields[overview.id]


def test_html_tables_flattened_into_paragraphs(form: Form, report: Report) -> None:
    html = published(form, report, "html").decode("utf-8")
    flat = re.sub(r"<caption[^>]*>(.*?)</caption>", r"<p>\1</p>", html)
    flat = re.sub(r"<tr>", "<p>", flat).replace("</tr>", "</p>")
    flat = re.sub(r"</?(?:table|thead|tbody|colgroup|col)\b[^>]*>", "", flat)
    flat = re.sub(r"<t[dh][^>]*>(.*?)</t[dh]>", r"\1 ", flat)
    assert "<table" not in flat
    got, findings = read_document_bytes(flat.encode("utf-8"), "page.html", form)
    assert got is not None and findings == [] and got.tables == report.tables


def test_html_rowspan_and_colspan_rebuild_the_grid(form: Form, report: Report) -> None:
    """A hand-made page: one row per grid row, merged cells by rowspan/colspan, no caption."""
    html = published(form, report, "html").decode("utf-8")
    html = re.sub(r"<caption[^>]*>(.*?)</caption>", "", html)
    titles = [t.title for t in form.tables]
    parts = re.split(r"(<table)", html)
    rebuilt = parts[0] + "".join(
        f"<h2>{titles[i // 2]}</h2>" + parts[i + 1] + parts[i + 2] for i in range(0, len(parts) - 1, 2)
    )
    assert "rowspan" in rebuilt and "colspan" in rebuilt
    got, findings = read_document_bytes(rebuilt.encode("gb18030"), "page.htm", form)
    assert got is not None and findings == [] and got.tables == report.tables


def test_word_file_with_tables_typed_as_text(form: Form, report: Report, text: str) -> None:
    """A .docx whose tables were pasted as tab-separated paragraphs."""
    document = docx.Document()
    for line in text.split("\n"):
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    got, findings = read_document_bytes(out.getvalue(), "年报.docx", form)
    assert got is not None and findings == [] and got.tables == report.tables


# ---------------------------------------------------------------------------------------
# Blank and placeholder cells, missing totals


def test_slash_dash_and_wu_cells_become_zero_with_a_warning_naming_row_and_column(form: Form, text: str) -> None:
    t2 = form.table("t2")
    row = t2.rows[1]
    damaged = edit_row(text, row.label, lambda cells: [cells[0], "/", "—", "无"])
    got, findings = read_text(form, damaged)
    assert got is not None and errors(findings) == []
    assert got.tables["t2"][row.id] == {c.id: 0 for c in form.row_columns(t2, row)}
    assert rules(findings) == ["value.blank"] * 3
    for finding, column in zip(findings, form.row_columns(t2, row), strict=True):
        assert row.label in finding.message and column.label in finding.message
        assert finding.sheet == t2.sheet and finding.cell == form.table_cell(t2, row.id, column.id).a1


def test_blank_total_column_is_recomputed_with_warnings(form: Form, report: Report, text: str) -> None:
    t3 = form.table("t3")
    total = t3.columns[-1]
    start, end = table_lines(form, text, t3)
    lines = text.split("\n")
    width = len(t3.columns) + 1
    for i in range(start, end):
        cells = lines[i].split("\t")
        if len(cells) == width and cells[-1].isdigit():
            lines[i] = "\t".join([*cells[:-1], ""])
    blank = "\n".join(lines)
    for damaged in (blank, lose_tabs(blank)):
        got, findings = read_text(form, damaged)
        assert got is not None and errors(findings) == []
        assert got.tables == report.tables
        assert len(findings) == len(t3.rows) and all(total.label in f.message for f in findings)


# ---------------------------------------------------------------------------------------
# Rules and narrative checks


def test_stated_total_that_does_not_add_up_is_an_error_at_its_cell(form: Form, report: Report, text: str) -> None:
    t3 = form.table("t3")
    row = t3.rows[0]
    damaged = edit_row(text, row.label, lambda cells: [*cells[:-1], "9999"])
    got, findings = read_text(form, damaged)
    assert got is not None
    assert got.tables["t3"][row.id]["total"] == report.tables["t3"][row.id]["total"]  # recomputed
    [finding] = findings
    assert finding.severity == "error" and finding.found == "9999"
    assert finding.cell == form.table_cell(t3, row.id, t3.columns[-1].id).a1


def test_rule_r1_mismatch_is_reported(form: Form, text: str) -> None:
    t3 = form.table("t3")
    row = t3.rows[1]
    damaged = edit_row(text, row.label, lambda c: [c[0], str(int(c[1]) + 5), *c[2:-1], str(int(c[-1]) + 5)])
    got, findings = read_text(form, damaged)
    assert got is not None
    assert sorted(rules(findings)) == ["R1", "R1"]
    assert {f.found for f in findings} and all("相差 5" in f.message for f in findings)


def test_narrative_numbers_that_contradict_the_tables_quote_the_sentence(form: Form, report: Report,
                                                                         text: str) -> None:
    received = report.tables["t3"]["new"]["total"]
    sentence = f"本年度共收到政府信息公开申请{received - 1}件，结转下年度继续办理3件，发生行政复议1件、行政诉讼2件。"
    damaged = text.replace(report.fields["overview"]["on_request"], sentence)
    got, findings = read_text(form, damaged)
    assert got is not None and got.tables == report.tables
    assert rules(findings) == ["R8"] * 4
    assert all(sentence in f.message and f.severity == "warning" for f in findings)
    assert findings[0].found == str(received - 1) and findings[0].expected == str(received)
    # Consistent sentences stay quiet.
    fine = f"本年度共收到政府信息公开申请{received}件。"
    got, findings = read_text(form, text.replace(report.fields["overview"]["on_request"], fine))
    assert findings == []


def test_fee_stated_twice_differently(form: Form, text: str) -> None:
    other = form.field_sections[-1]
    damaged = text.replace("\n\n" + other.title + "\n\n", "\n\n" + other.title + "\n\n本年度收取信息处理费100元。\n")
    got, findings = read_text(form, damaged)
    assert got is not None
    assert rules(findings) == ["R8"]
    assert "100" in findings[0].message and "150" in findings[0].message


def test_fee_only_stated_in_the_text_fills_the_fields(form: Form, report: Report) -> None:
    copy = report.model_copy(deep=True)
    other = form.field_sections[-1]
    fee_fields = [f.id for f in other.fields if f.is_number]
    copy.fields[other.id] = {"text": "本年度收取信息处理费2件，共计380元。", **dict.fromkeys(fee_fields)}
    got, findings = read_document_bytes(published(form, copy, "txt"), "a.txt", form)
    assert got is not None and findings == []
    assert [got.fields[other.id][f] for f in fee_fields] == [2, Decimal(380)]


def test_rule_r7_applies_once_the_roster_gives_the_level(tmp_path: Path, form: Form, report: Report) -> None:
    copy = report.model_copy(deep=True)
    copy.tables["t2"]["regulations"]["issued"] = 1
    path = tmp_path / "年报.docx"
    path.write_bytes(published(form, copy, "docx"))
    level = next(v for v in form.spec.rules if v.id == "R7").when.values[2]
    roster = tmp_path / "名单.csv"
    roster.write_text(f"code,name,level\nX01,{UNIT},{level}\n", encoding="utf-8")
    outcome = import_file(path, form, roster=load_roster(roster), year=YEAR)
    assert outcome.report is not None and rules(outcome.findings) == ["R7"]
    assert outcome.report.unit.code == "X01" and outcome.report.provenance.source_kind == "document"


def test_import_checks_year_and_roster_for_documents(tmp_path: Path, form: Form, report: Report) -> None:
    path = tmp_path / "年报.html"
    path.write_bytes(published(form, report, "html"))
    roster = tmp_path / "名单.csv"
    roster.write_text("code,name,level\nX02,别的单位,乡镇\n", encoding="utf-8")
    outcome = import_file(path, form, roster=load_roster(roster), year=YEAR + 1)
    # A published report cannot be sent back: it is kept, with its errors.
    assert not outcome.rejected and outcome.report is not None
    assert set(rules(errors(outcome.findings))) == {"identity.year", "identity.roster"}


def test_check_command_reads_a_published_report(tmp_path: Path, form: Form, report: Report) -> None:
    path = tmp_path / "年报.txt"
    path.write_bytes(published(form, report, "txt"))
    result = tianbao("check", str(path))
    assert result.exit_code == 0, result.output
    assert "接收" in result.output


# ---------------------------------------------------------------------------------------
# Documents that cannot be read fail with a clear message


def test_unreadable_documents_fail_with_a_clear_message(tmp_path: Path, form: Form, report: Report,
                                                        text: str) -> None:
    docx_data = published(form, report, "docx")
    cases = {
        "乱码.txt": (bytes(range(256)) * 4, "不是可以读取的年报文档"),
        "空.txt": (b"", "不是可以读取的年报文档"),
        "截断.docx": (truncated_docx(docx_data), "不是可以读取的年报文档"),
        "坏.docx": (docx_without_body(docx_data), "Word 文件已损坏"),
        "无标题.txt": ("\n".join(text.split("\n")[1:]).encode(), "找不到报告标题"),
        "随便.txt": (f"{UNIT}{YEAR}年政府信息公开工作年度报告\n今天天气很好。\n".encode(), "找不到报告的任何一个部分"),
    }
    for name, (data, phrase) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        got, findings = read_document(path, form)
        assert got is None, name
        [finding] = findings
        assert finding.severity == "error" and phrase in finding.message, (name, finding.message)
    got, findings = read_document(tmp_path / "不存在.txt", form)
    assert got is None and "无法读取文件" in findings[0].message


def test_title_from_the_file_name_when_the_text_has_none(tmp_path: Path, form: Form, text: str) -> None:
    path = tmp_path / f"{UNIT}{YEAR}年政府信息公开工作年度报告.txt"
    path.write_text("\n".join(text.split("\n")[1:]), encoding="utf-8")
    got, findings = read_document(path, form)
    assert got is not None and (got.unit.name, got.year) == (UNIT, YEAR) and findings == []


def test_row_label_beyond_recognition_is_an_error_naming_the_row(form: Form, text: str) -> None:
    t2 = form.table("t2")
    row = t2.rows[2]
    got, findings = read_text(form, replace_label(text, row.label, "其他事项"))
    assert got is not None
    missing = [f for f in findings if f.rule == "table.row_missing"]
    assert len(missing) == 1 and row.label in missing[0].message and missing[0].severity == "error"


def test_missing_table_heading_still_finds_the_table(form: Form, report: Report, text: str) -> None:
    t3 = form.table("t3")
    got, findings = read_text(form, text.replace(t3.title + "\n", "\n"))
    assert got is not None and got.tables == report.tables
    assert rules(findings) == ["document.part"] and t3.title in findings[0].message


def test_a_row_with_too_few_numbers_is_an_error(form: Form, text: str) -> None:
    t3 = form.table("t3")
    row = t3.rows[4]
    damaged = lose_tabs(edit_row(text, row.label.split()[-1], lambda cells: cells[:4]))
    got, findings = read_text(form, damaged)
    assert got is not None
    counted = [f for f in findings if f.rule == "table.count"]
    assert len(counted) == 1 and counted[0].severity == "error" and "3 个" in counted[0].message


# ---------------------------------------------------------------------------------------
# The 2019 trial format


def legacy_2019_text(form: Form, report: Report, text: str) -> str:
    """The report as a 2019-format page: the old table two, and （六） without sub-rows."""
    legacy = load_legacy_formats(form)[0]
    old = legacy.tables["t2"]
    t2 = form.table("t2")
    rows = {r.id: r.label for r in t2.rows}
    values = report.tables["t2"]
    made, published_, total, _procurement, item9, last_year = legacy.markers
    old_t2 = "\n".join([
        t2.title, "", "第二十条第（一）项",
        f"信息内容\t{made}\t{published_}\t{total}",
        f"{rows['regulations']}\t0\t0\t0",
        f"{rows['normative_documents'][2:]}\t3\t3\t12",
        "第二十条第（五）项",
        f"信息内容\t{last_year}\t本年增/减\t处理决定数量",
        f"{rows['licensing']}\t12\t+1\t{values['licensing']['decisions']}",
        f"{old.stop_labels[0]}\t4\t0\t5",
        "第二十条第（六）项",
        f"信息内容\t{last_year}\t本年增/减\t处理决定数量",
        f"{rows['penalty']}\t6\t减2\t{values['penalty']['decisions']}",
        f"{rows['enforcement']}\t3\t0\t{values['enforcement']['decisions']}",
        "第二十条第（八）项",
        f"信息内容\t{last_year}\t本年增/减",
        f"{rows['fees']}\t2\t0",
        item9,
        "信息内容\t采购项目数量\t采购总金额",
        f"{old.stop_labels[1]}\t4\t120.5",
        "",
    ])
    start, end = table_lines(form, text, t2)
    lines = text.split("\n")
    body = "\n".join(lines[:start]) + "\n" + old_t2 + "\n" + "\n".join(lines[end:])
    t3 = form.table("t3")
    split = [r for r in t3.rows if r.id.startswith("other_")]
    joined = legacy.tables["t3"].anchors["other_other"][0]
    sums = [sum(report.tables["t3"][r.id][c.id] for r in split) for c in t3.columns]
    out = []
    for line in body.split("\n"):
        label = line.split("\t")[0]
        if any(label.endswith(r.label.split()[-1]) for r in split[:-1]):
            continue
        if label.endswith(split[-1].label.split()[-1]):
            line = "\t".join([joined, *map(str, sums)])
        out.append(line)
    return "\n".join(out)


def test_2019_trial_format_is_reported_and_read_as_far_as_it_maps(form: Form, report: Report, text: str) -> None:
    got, findings = read_text(form, legacy_2019_text(form, report, text))
    assert got is not None and errors(findings) == []
    assert findings[0].rule == "legacy.format" and "2019" in findings[0].message
    unmapped = {f.cell for f in findings if f.rule == "legacy.unmapped"}
    t2, t3 = form.table("t2"), form.table("t3")
    assert len(unmapped) == 5
    for table_id in ("t2", "t3"):
        table = form.table(table_id)
        for row_id in load_legacy_formats(form)[0].tables[table_id].unmapped:
            assert all(v == 0 for v in got.tables[table_id][row_id].values()), row_id
            first = form.row_columns(table, next(r for r in table.rows if r.id == row_id))[0]
            assert any(form.table_cell(table, row_id, first.id).a1 in cell for cell in unmapped)
    for row_id in ("licensing", "penalty", "enforcement"):
        assert got.tables["t2"][row_id] == report.tables["t2"][row_id]
    assert got.tables["t3"]["results_total"] == report.tables["t3"]["results_total"]
    assert got.tables["t3"]["other_other"]["total"] == sum(
        report.tables["t3"][r.id]["total"] for r in t3.rows if r.id.startswith("other_"))
    assert got.tables["t4"] == report.tables["t4"]
    assert t2.sheet and not any(f.rule.startswith("R") for f in findings)


def test_a_current_report_is_not_taken_for_the_2019_format(form: Form, text: str) -> None:
    _, findings = read_text(form, text)
    assert "legacy.format" not in rules(findings)


# ---------------------------------------------------------------------------------------
# Building blocks


def test_sniff_by_content(form: Form, report: Report) -> None:
    assert sniff_document(published(form, report, "docx")) == "docx"
    assert sniff_document(b"<table><tr><td>1</td></tr></table>") == "html"
    assert sniff_document("纯文本".encode("gb18030")) == "txt"
    assert sniff_document(b"PK\x03\x04 not a zip") is None
    assert sniff_document(bytes(range(256))) is None
    assert sniff_document(b"  \n") is None


def test_normalisation_and_fuzzy_labels() -> None:
    assert normalize("（二） 部分公开、") == normalize("(二)部分公开，")
    assert similarity(normalize("行政规范性文件"), normalize("规范性文件")) >= 0.8
    assert similarity(normalize("（一）予以公开"), normalize("三、本年度办理结果 / (一) 予以公开")) == 1.0
    assert similarity(normalize("规章"), normalize("行政规范性文件")) < 0.78
    assert split_numbering("一是主动公开") == (1, "主动公开")
    assert split_numbering("(3)政府信息管理") == (3, "政府信息管理")
    assert split_numbering("五 监督保障") == (5, "监督保障")
    assert split_numbering("2024年") == (None, "2024年")


def test_a_second_form_definition_needs_no_code_change(tmp_path: Path, form: Form) -> None:
    """Relabel rows and titles in a copy of the definition: the reader follows the data."""
    source = Path(form.source).read_text(encoding="utf-8")
    renames = {"行政许可": "许可决定", "行政处罚": "处罚决定", "二、主动公开政府信息情况": "二、主动公开信息统计"}
    for old, new in renames.items():
        source = source.replace(old, new)
    path = tmp_path / "other-form.yaml"
    path.write_text(source, encoding="utf-8")
    other = parse_form(source, str(path))
    report = filled_report(other)
    got, findings = read_document_bytes(published(other, report, "txt"), "a.txt", other)
    assert got is not None and findings == [] and got.tables == report.tables


def test_title_variants(form: Form) -> None:
    suffix = form.spec.document_title.split("}")[-1]
    titles = {
        f"{UNIT} {YEAR} {suffix}": UNIT,
        f"附件：{UNIT}二〇二五{suffix}": UNIT,
        f"{UNIT}{YEAR}{suffix[0]}度{suffix[1:]}": UNIT,
    }
    for title, unit in titles.items():
        found = find_title(form, ["", title, "正文"])
        assert found is not None and (found.unit_name, found.year) == (unit, YEAR), title
    assert find_title(form, [f"{YEAR}年工作总结"]) is None


def test_a_table_without_numbers_is_one_clear_error(form: Form, report: Report, text: str) -> None:
    """The table was an image: its heading is there, its rows are not."""
    t3 = form.table("t3")
    start, end = table_lines(form, text, t3)
    lines = text.split("\n")
    got, findings = read_text(form, "\n".join([*lines[:start + 1], "（见图片）", *lines[end:]]))
    assert got is not None
    assert rules(findings) == ["table.missing", "R8"]  # and the text's count no longer matches
    finding = findings[0]
    assert finding.severity == "error" and t3.title in finding.message
    assert got.tables["t2"] == report.tables["t2"] and got.tables["t4"] == report.tables["t4"]


def test_sample_layout_with_real_numbers(form: Form, report: Report) -> None:
    """The sample's own irregular label fields, filled with non-zero numbers, also damaged."""
    text = sample_with_numbers(form, SAMPLE.read_text(encoding="utf-8"), report)
    for name, variant in {"as published": text, "lost tabs": lose_tabs(text),
                          "one cell per line": one_cell_per_line(text), "half-width": half_width(text)}.items():
        got, findings = read_text(form, variant)
        assert got is not None and got.tables == report.tables, (name, findings)
        # The sample's text says no applications were received: with numbers that is an R8 warning.
        assert rules(findings) == ["R8"], (name, findings)


def test_html_article_inside_a_layout_table_with_implied_end_tags(form: Form, report: Report) -> None:
    """Older CMS pages: the whole article sits in a layout table, cells and rows left unclosed."""
    html = published(form, report, "html").decode("utf-8")
    body = html[html.index("<body"):html.index("</body>")]
    body = re.sub(r"</t[dh]>|</tr>", "", body)
    older = form.spec.document_title.format(unit_name=UNIT, year=YEAR - 1)  # a link to last year's report
    page = (f"<html><head><title>政务公开</title></head><body><TABLE width=100%><tr><td><a>{older}</a></td></tr>"
            f"<tr><td>{body}</td></tr><tr><td>版权所有</td></tr></TABLE></body></html>")
    got, findings = read_document_bytes(page.encode("utf-8"), "page.html", form)
    assert got is not None and findings == [], findings
    assert got.year == YEAR and got.tables == report.tables and got.fields == report.fields


def test_part_one_without_subheadings_keeps_all_text_in_the_first(form: Form, report: Report, text: str) -> None:
    overview = form.field_sections[1]
    for field in overview.fields:
        text = text.replace(field.label + "\n", "")
    got, findings = read_text(form, text)
    assert got is not None and got.tables == report.tables
    assert rules(findings) == ["document.subparts"] and findings[0].severity == "warning"
    first = got.fields[overview.id][overview.fields[0].id]
    assert all(report.fields[overview.id][f.id] in first for f in overview.fields)


def test_text_before_the_first_subheading_is_kept(form: Form, report: Report, text: str) -> None:
    overview = form.field_sections[1]
    intro = "本机关认真贯彻落实《条例》。"
    got, findings = read_text(form, text.replace(overview.title + "\n", overview.title + "\n" + intro + "\n", 1))
    assert got is not None and findings == []
    first = overview.fields[0].id
    assert got.fields[overview.id][first] == intro + "\n" + report.fields[overview.id][first]


def test_amount_written_with_its_unit_and_thousands_separator(form: Form, report: Report, text: str) -> None:
    t2 = form.table("t2")
    fees = next(r for r in t2.rows if form.row_columns(t2, r)[0].type == "decimal")
    column = form.row_columns(t2, fees)[0]
    damaged = edit_row(text, fees.label, lambda cells: [cells[0], f"1,234.5{column.unit}"])
    got, findings = read_text(form, damaged)
    assert got is not None and findings == []
    assert got.tables["t2"][fees.id][column.id] == Decimal("1234.5")


def test_the_mini_form_of_the_second_form_tests_round_trips(form: Form) -> None:
    """tests/forms/mini.yaml: other titles, numbering (甲、乙), an unnumbered sub-heading."""
    mini = load_form(Path(__file__).parent / "forms" / "mini.yaml")
    report = empty_report(mini, Unit(name=UNIT), YEAR)
    table = mini.tables[0]
    for cell in mini.input_cells:
        if cell.section == table.id:  # later rows smaller: the form's "<=" rule holds
            row_index = [r.id for r in table.rows].index(cell.key[0])
            report.tables[table.id][cell.key[0]][cell.key[1]] = 9 - 4 * row_index
    recompute(mini, report.tables)
    notes = mini.field_sections[1]
    report.fields[notes.id][notes.fields[0].id] = "全年工作正常。"
    for fmt in FORMATS:
        got, findings = read_document_bytes(published(mini, report, fmt), f"a.{fmt}", mini)
        assert got is not None and findings == [], fmt
        assert got.tables == report.tables and got.fields == report.fields, fmt


def _soffice_convert(soffice: str, sources: list[Path], target: str, outdir: Path) -> None:
    profile = outdir / "profile"
    command = [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
               "--convert-to", target, "--outdir", str(outdir), *map(str, sources)]
    subprocess.run(command, capture_output=True, timeout=180, check=False, env={**os.environ, "HOME": str(profile)})


@pytest.mark.slow
@pytest.mark.libreoffice
def test_documents_saved_again_by_libreoffice(tmp_path: Path, form: Form, report: Report, soffice: str) -> None:
    """A page opened and saved as Word, a Word file saved as plain text (tables one cell per line)."""
    (tmp_path / "page.html").write_bytes(published(form, report, "html"))
    (tmp_path / "word.docx").write_bytes(published(form, report, "docx"))
    _soffice_convert(soffice, [tmp_path / "page.html"], "docx:MS Word 2007 XML", tmp_path / "docx")
    _soffice_convert(soffice, [tmp_path / "word.docx"], "txt:Text (encoded):UTF8", tmp_path / "txt")
    for path in (tmp_path / "docx" / "page.docx", tmp_path / "txt" / "word.txt"):
        got, findings = read_document(path, form)
        assert got is not None and findings == [], (path.name, findings)
        assert got.tables == report.tables and got.fields == report.fields, path.name


# ---------------------------------------------------------------------------------------
# The corpus of published reports (tests/corpus: real pages' shapes, hand-written expectations)

CORPUS = Path(__file__).resolve().parent / "corpus"
EXPECTED = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))


def expected_tables(form: Form, values: dict[str, int]) -> dict:
    tables = empty_report(form, Unit(name="x"), YEAR).tables
    for key, value in values.items():
        table_id, row_id, column_id = key.split(".")
        tables[table_id][row_id][column_id] = value
    return tables


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_report_reads_as_written_by_hand(form: Form, name: str) -> None:
    expected = EXPECTED[name]
    source = (CORPUS / name).read_text(encoding="utf-8")
    assert source.startswith("来源：http")  # every fixture names the page it reproduces
    got, findings = read_document(CORPUS / name, form, Hints(**expected.get("hints", {})))
    assert got is not None, findings
    assert (got.unit.name, got.year) == (expected["unit"], expected["year"])
    assert got.tables == expected_tables(form, expected["values"])
    assert rules(findings) == expected["rules"], findings


# ---------------------------------------------------------------------------------------
# Titles and identity


def without_title(text: str) -> str:
    return "\n".join(text.split("\n")[1:])


def test_title_shapes(form: Form, text: str) -> None:
    body = without_title(text)
    suffix = form.spec.document_title.split("}")[-1]  # "年政府信息公开工作年度报告"
    shapes = {
        "year first": f"{YEAR}{suffix[0]}{UNIT}{suffix[1:]}\n{body}",
        "year first, 年度": f"{YEAR}{suffix[0]}度{UNIT}{suffix[1:]}\n{body}",
        "two lines": f"{UNIT}\n{YEAR}{suffix}\n{body}",
        "toolbar junk before": f"】打印\n字号：大 中 小\n{UNIT}{YEAR}{suffix}\n{body}",
        "only in the introduction": f"根据条例，现将{UNIT}{YEAR}{suffix}予以公布。\n{body}",
    }
    for shape, variant in shapes.items():
        got, findings = read_text(form, variant)
        assert got is not None and findings == [], (shape, findings)
        assert (got.unit.name, got.year) == (UNIT, YEAR), shape


def test_junk_lines_never_become_the_unit_name(form: Form) -> None:
    suffix = form.spec.document_title.split("}")[-1]
    for junk in ("】打印", "【关闭】", "|", "2024"):
        assert find_title(form, [f"{junk}{YEAR}{suffix}"]) is None, junk


def test_no_title_is_refused_with_how_to_supply_it_and_hints_fill_it(form: Form, text: str) -> None:
    body = without_title(text)
    got, findings = read_text(form, body, name="page.txt")
    assert got is None
    [finding] = findings
    assert finding.rule == "document.title" and "--unit-name" in finding.message and "改名" in finding.message
    got, findings = read_document_bytes(body.encode(), "page.txt", form, Hints(UNIT, YEAR))
    assert got is not None and findings == [] and (got.unit.name, got.year) == (UNIT, YEAR)
    # The statistics period gives the year when only the unit is supplied.
    period = f"本报告所列数据的统计期限为{YEAR}年1月1日至{YEAR}年12月31日。\n"
    got, findings = read_document_bytes((period + body).encode(), "page.txt", form, Hints(UNIT))
    assert got is not None and findings == [] and got.year == YEAR


# ---------------------------------------------------------------------------------------
# Pipes, page marks, annotated cells, sub-headings


def cells_of(line: str) -> list[str]:
    return line.split("\t")


def test_three_pipe_conventions_read_the_same_numbers(form: Form, report: Report, text: str) -> None:
    def per_line(line: str) -> list[str]:
        return [f"{c} |" if c else "|" for c in cells_of(line)] if "\t" in line else [line]

    def separated(line: str) -> list[str]:
        return [x for c in cells_of(line) for x in (c, "|")][:-1] if "\t" in line else [line]

    def markdown(line: str) -> str:
        return "| " + " | ".join(cells_of(line)) + " | ||" if "\t" in line else line

    lines = text.split("\n")
    variants = {
        "cell per line ending in |": "\n".join(x for line in lines for x in per_line(line)),
        "values between lone | lines": "\n".join(x for line in lines for x in separated(line)),
        "markdown outer pipes": "\n".join(markdown(line) for line in lines),
    }
    for name, variant in variants.items():
        got, findings = read_text(form, variant)
        assert got is not None and findings == [], (name, findings)
        assert got.tables == report.tables, name


def test_page_numbers_inside_a_table_are_dropped(form: Form, report: Report, text: str) -> None:
    t3 = form.table("t3")
    lines = text.split("\n")
    start, end = table_lines(form, text, t3)
    middle = (start + end) // 2
    for mark in ("— 5 —", "第 5 页", "- 5 -", "第5页 共9页"):
        got, findings = read_text(form, "\n".join([*lines[:middle], mark, *lines[middle:]]))
        assert got is not None and findings == [] and got.tables == report.tables, mark


def test_annotated_cell_reads_its_number_and_keeps_the_note(form: Form, report: Report, text: str) -> None:
    t2 = form.table("t2")
    row = t2.rows[1]
    value = report.tables["t2"][row.id]["issued"]
    damaged = edit_row(text, row.label, lambda c: [c[0], f"{c[1]}（其中修订 1 件）", *c[2:]])
    got, findings = read_text(form, damaged)
    assert got is not None and got.tables == report.tables
    [finding] = findings
    assert finding.rule == "table.note" and finding.severity == "warning"
    assert finding.found == f"{value}（其中修订 1 件）" and "其中修订 1 件" in finding.message


def test_numbered_subheading_is_not_taken_for_a_part_heading(form: Form, report: Report, text: str) -> None:
    overview = form.field_sections[1]
    t2 = form.table("t2")
    subheading = "（一）" + split_numbering(t2.title)[1]  # "（一）主动公开政府信息情况"
    first = overview.fields[0]
    damaged = text.replace(first.label + "\n", subheading + "\n", 1)
    got, findings = read_text(form, damaged)
    assert got is not None and got.tables == report.tables
    assert got.fields[overview.id] == report.fields[overview.id]
    assert findings == []


# ---------------------------------------------------------------------------------------
# Rows found anywhere, paired in order, sub-tables, lost cells


def t2_block(form: Form, text: str) -> tuple[list[str], int, int]:
    lines = text.split("\n")
    start, end = table_lines(form, text, form.table("t2"))
    return lines, start, end


def test_rows_printed_out_of_the_forms_order_are_found(form: Form, report: Report, text: str) -> None:
    lines, start, end = t2_block(form, text)
    body = lines[start + 1:end]
    first_group = body.index(next(line for line in body if line.startswith(form.table("t2").labels[0].text)), 1)
    moved = [lines[start], *body[first_group:], *body[:first_group]]  # 许可…收费 before 规章
    got, findings = read_text(form, "\n".join([*lines[:start], *moved, *lines[end:]]))
    assert got is not None and findings == [] and got.tables == report.tables


def test_labels_apart_from_their_numbers_are_paired_in_order_with_a_warning(form: Form, report: Report,
                                                                            text: str) -> None:
    lines, start, end = t2_block(form, text)
    rows = form.table("t2").rows
    labels = [r.label for r in rows]
    values = ["  ".join(str(v) for v in report.tables["t2"][r.id].values()) for r in rows]
    for name, block in {"labels first": labels + values, "no labels": values}.items():
        got, findings = read_text(form, "\n".join([*lines[:start + 1], *block, *lines[end:]]))
        assert got is not None and got.tables == report.tables, name
        assert rules(findings) == ["table.paired"], (name, findings)
        assert labels[0] in findings[0].message and labels[-1] in findings[0].message


def test_table_four_printed_as_three_sub_tables(form: Form, report: Report, text: str) -> None:
    t4 = form.table("t4")
    lines = text.split("\n")
    start, end = table_lines(form, text, t4)
    values = list(report.tables["t4"]["cases"].values())
    groups = [label.text for label in t4.labels if label.range.split(":")[0][1:] in ("1", "2") and ":" in label.range]
    block = [t4.title]
    for index in range(3):
        block += [f"（{chinese_number(index + 1)}）{groups[min(index, len(groups) - 1)]}",
                  "结果维持\t结果纠正\t其他结果\t尚未审结\t总计",
                  "\t".join(str(v) for v in values[index * 5:(index + 1) * 5])]
    got, findings = read_text(form, "\n".join([*lines[:start], *block, "", *lines[end:]]))
    assert got is not None and findings == [] and got.tables == report.tables


def test_a_row_one_number_short_is_a_reading_problem_not_a_shift(form: Form, report: Report, text: str) -> None:
    t3 = form.table("t3")
    row = t3.rows[1]  # 二、上年结转: small numbers, so the row closing R1 stays positive
    # A cell of the row is 0 in the source and its blank was lost: one number fewer, total kept.
    source = report.model_copy(deep=True)
    source.tables["t3"][row.id]["research"] = 0
    source.tables["t3"][row.id]["total"] -= report.tables["t3"][row.id]["research"]
    source.tables["t3"]["carried_forward"]["research"] -= report.tables["t3"][row.id]["research"]
    recompute(form, source.tables)
    printed = published(form, source, "txt").decode("utf-8")
    damaged = edit_row(printed, row.label, lambda c: [x for i, x in enumerate(c) if i != 3])
    got, findings = read_text(form, damaged)
    assert got is not None
    assert got.tables["t3"][row.id]["total"] == source.tables["t3"][row.id]["total"]  # printed total kept
    short = [f for f in findings if f.rule == "table.short_row"]
    assert len(short) == 1 and short[0].severity == "error" and "请核对原文" in short[0].message
    # The columns it could not place differ from R1, as a reading doubt, never as the agency's error.
    assert errors(findings) == short
    assert {f.rule for f in findings} == {"table.short_row", "table.reading"}
    assert all("可能是读取问题，请核对原文" in f.message for f in findings if f.rule == "table.reading")


def test_a_missing_row_keeps_the_printed_totals_and_blames_no_one(form: Form, report: Report, text: str) -> None:
    t3 = form.table("t3")
    row = t3.rows[2]
    got, findings = read_text(form, replace_label(text, row.label.split()[-1], "某某某"))
    assert got is not None
    assert got.tables["t3"]["results_total"] == report.tables["t3"]["results_total"]
    assert [f.rule for f in errors(findings)] == ["table.row_missing"]
    doubts = [f for f in findings if f.rule == "table.reading"]
    assert len(doubts) == len(t3.columns) and all(f.severity == "warning" for f in doubts)
    assert not any(f.rule.startswith("R") for f in findings)


# ---------------------------------------------------------------------------------------
# Narrative checks from the form definition


def with_sentence(report: Report, text: str, sentence: str) -> str:
    return text.replace(report.fields["overview"]["on_request"], sentence)


def test_narrative_counts_of_results_are_checked(form: Form, report: Report, text: str) -> None:
    t3 = report.tables["t3"]

    def total(prefix: str) -> int:
        return sum(cols["total"] for row_id, cols in t3.items() if row_id.startswith(prefix))

    new, carried = t3["new"]["total"], t3["carried_over"]["total"]
    both = t3["disclosed"]["total"] + t3["partly_disclosed"]["total"]
    share = (Decimal(both) * 100 / Decimal(t3["results_total"]["total"])).quantize(Decimal("0.1"))
    consistent = [
        f"共受理政府信息公开申请{new}件。", f"共受理政府信息公开申请{new + carried}件。",
        f"予以公开及部分公开{both}件，无法提供{total('unavailable')}件，不予处理{total('rejected')}件，"
        f"不予公开{total('withheld')}件。", f"予以公开及部分公开占比{share}%。",
    ]
    for sentence in consistent:
        got, findings = read_text(form, with_sentence(report, text, sentence))
        assert got is not None and findings == [], (sentence, findings)
    wrong = {
        f"共受理政府信息公开申请{new + carried + 1}件。": t3["new"]["total"],
        f"予以公开及部分公开{both + 1}件。": both,
        f"无法提供{total('unavailable') + 1}件。": total("unavailable"),
        f"不予处理{total('rejected') + 1}件。": total("rejected"),
        f"不予公开{total('withheld') + 1}件。": total("withheld"),
        "申请均已办结。": t3["carried_forward"]["total"],
        f"予以公开及部分公开占比{share + 1}%。": share,
    }
    for sentence, expected in wrong.items():
        got, findings = read_text(form, with_sentence(report, text, sentence))
        assert got is not None and rules(findings) == ["R8"], (sentence, findings)
        assert findings[0].expected == str(expected) and sentence in findings[0].message, sentence


def test_no_review_check_ignores_correction_wording(form: Form, report: Report) -> None:
    quiet = report.model_copy(deep=True)
    assert quiet.tables["t4"]["cases"]["review_total"] > 0  # the table has reviews
    text = published(form, quiet, "txt").decode("utf-8")
    for sentence, expected in {"未发生政府信息公开工作被行政复议纠错的情况。": [],
                               "未发生被提起行政诉讼败诉的情况。": [],
                               "本年度未发生行政复议。": ["R8"]}.items():
        got, findings = read_text(form, with_sentence(quiet, text, sentence))
        assert got is not None and rules(findings) == expected, (sentence, findings)


def test_superseded_format_and_statistics_period(form: Form, report: Report, text: str) -> None:
    cases = {
        "本报告按国办公开办函〔2019〕60号的格式编制。": ["R9"],
        f"截至{YEAR - 1}年底，共有规范性文件12件。": ["R10"],
        f"本报告统计期限为{YEAR - 1}年1月1日至{YEAR - 1}年12月31日。": ["R10"],
        f"截至{YEAR}年底，共有规范性文件12件。": [],
    }
    for sentence, expected in cases.items():
        got, findings = read_text(form, with_sentence(report, text, sentence))
        assert got is not None and rules(findings) == expected, (sentence, findings)
    # For a report of the 2019 format's own years the citation is right.
    older = filled_report(form, year=2020)
    older_text = published(form, older, "txt").decode("utf-8")
    got, findings = read_text(form, with_sentence(older, older_text, "本报告按国办公开办函〔2019〕60号的格式编制。"))
    assert got is not None and findings == []


# ---------------------------------------------------------------------------------------
# Import: a published report with errors is kept


def test_published_report_with_errors_is_written_with_its_findings(tmp_path: Path, form: Form, text: str) -> None:
    t3 = form.table("t3")
    damaged = edit_row(text, t3.rows[0].label, lambda cells: [*cells[:-1], "9999"])
    source = tmp_path / "in"
    source.mkdir()
    (source / "年报.txt").write_text(damaged, encoding="utf-8")
    (source / "无标题.txt").write_text(without_title(text), encoding="utf-8")
    out = tmp_path / "out"
    result = tianbao("import", source, "-o", out)
    assert result.exit_code == 1, result.output  # one file refused: it names no unit
    [written] = sorted(out.glob("*.json"))
    saved = Report.model_validate_json(written.read_text(encoding="utf-8"))
    assert saved.provenance.source_kind == "document"
    assert [f.rule for f in saved.findings if f.severity == "error"] == ["R3"]
    listing = (out / "findings.csv").read_text(encoding="utf-8-sig")
    assert "接收（已发布的年报，有错误）" in listing and "退回" in listing and "--unit-name" in listing
    # With the unit and year supplied, the second file is read too.
    result = tianbao("import", source / "无标题.txt", "-o", tmp_path / "o2", "--unit-name", UNIT, "--year", YEAR)
    assert result.exit_code == 0, result.output
    [again] = (tmp_path / "o2").glob("*.json")
    assert Report.model_validate_json(again.read_text(encoding="utf-8")).unit.name == UNIT
    result = tianbao("check", source / "年报.txt")
    assert result.exit_code == 1 and "有错误的已发布年报 1 个" in result.output


# ---------------------------------------------------------------------------------------
# PDF


def _pdf_readers() -> list[str]:
    readers = ["pdftotext"] if shutil.which("pdftotext") else []
    try:
        import pypdf  # noqa: F401
    except ImportError:
        return readers
    return [*readers, "pypdf"]


def read_pdf_with(reader: str, monkeypatch: pytest.MonkeyPatch, data: bytes, form: Form) -> tuple:
    if reader == "pypdf":
        real = shutil.which
        monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "pdftotext" else real(name, *a, **k))
    return read_document_bytes(data, "年报.pdf", form)


def blank_pdf() -> bytes:
    """A one-page PDF without a text layer, as a scanner makes (the page holds no text)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


@pytest.mark.libreoffice
@pytest.mark.slow
def test_published_pdf_reads_back_to_the_same_report(tmp_path: Path, form: Form, report: Report, soffice: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`tianbao publish` writes the DOCX; LibreOffice prints it to PDF, as an agency does."""
    if not _pdf_readers():
        pytest.skip("neither poppler's pdftotext nor pypdf is installed")
    (tmp_path / "年报.docx").write_bytes(published(form, report, "docx"))
    pdf = convert(tmp_path / "年报.docx", "pdf", tmp_path).read_bytes()
    assert sniff_document(pdf) == "pdf"
    for reader in _pdf_readers():
        with monkeypatch.context() as patch:
            got, findings = read_pdf_with(reader, patch, pdf, form)
        assert got is not None and findings == [], (reader, findings)
        assert got.tables == report.tables and (got.unit.name, got.year) == (UNIT, YEAR), reader
        other = form.field_sections[-1].id
        assert got.fields[other] == report.fields[other], reader  # the fee sentence, rejoined
        if reader == "pdftotext":  # pypdf pads running text with layout spaces
            squeeze = {s: {k: re.sub(r"\s+", "", v) if isinstance(v, str) else v for k, v in f.items()}
                       for s, f in got.fields.items()}
            expected = {s: {k: re.sub(r"\s+", "", v) if isinstance(v, str) else v for k, v in f.items()}
                        for s, f in report.fields.items()}
            assert squeeze == expected


def test_scanned_pdf_gets_a_clear_message(form: Form, monkeypatch: pytest.MonkeyPatch) -> None:
    if not _pdf_readers():
        pytest.skip("neither poppler's pdftotext nor pypdf is installed")
    for reader in _pdf_readers():
        with monkeypatch.context() as patch:
            got, findings = read_pdf_with(reader, patch, blank_pdf(), form)
        assert got is None and len(findings) == 1 and "扫描版 PDF" in findings[0].message, reader


def test_pdf_without_any_pdf_reader_says_what_to_install(form: Form, monkeypatch: pytest.MonkeyPatch) -> None:
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "pdftotext" else real(name, *a, **k))
    monkeypatch.setitem(sys.modules, "pypdf", None)
    got, findings = read_document_bytes(blank_pdf(), "年报.pdf", form)
    assert got is None and "tianbao[pdf]" in findings[0].message and "pdftotext" in findings[0].message
