"""Published reports for the document-reader tests: generated, then damaged in code.

`filled_report` makes a report with non-zero numbers that satisfy the form's rules;
`published` renders it with the real publisher (`tianbao.document.publish`) in any of its formats.
The damage helpers change the text the way copied web pages and PDFs are changed. Labels
come from the Form, never from literals, so the helpers follow the definition.
"""

from __future__ import annotations

import io
import random
import re
import zipfile
from decimal import Decimal

from tianbao.document.publish import render
from tianbao.document.publish.document import build_document
from tianbao.form import Form
from tianbao.form.spec import TableSection
from tianbao.report import Report, Unit, empty_report
from tianbao.rules.check import check_report, recompute

UNIT = "示例区教育局"
YEAR = 2025


def filled_report(form: Form, seed: int = 7, *, unit: str = UNIT, year: int = YEAR) -> Report:
    """Random non-zero inputs; the row that closes R1 (t3 carried_forward) is derived."""
    rng = random.Random(seed)
    report = empty_report(form, Unit(name=unit, level=""), year)
    for cell in form.input_cells:
        if cell.section not in report.tables:
            continue
        row, column = cell.key
        decimal = Decimal(rng.randint(1, 99999)) / Decimal(1000)
        report.tables[cell.section][row][column] = decimal if cell.type == "decimal" else rng.randint(1, 9)
    t3 = report.tables["t3"]
    for column in t3["new"]:
        t3["new"][column] = 250  # enough that carried_forward stays >= 0
    recompute(form, report.tables)
    for column in t3["carried_forward"]:
        if form.is_computed("t3", "carried_forward", column):
            continue
        t3["carried_forward"][column] = (
            t3["new"][column] + t3["carried_over"][column] - t3["results_total"][column]
        )
    t2 = report.tables["t2"]
    for column in t2["regulations"]:
        t2["regulations"][column] = 0  # a district department makes no 规章
    recompute(form, report.tables)
    assert not check_report(form, report), "fixture must satisfy the form's rules"
    total = t3["new"]["total"]
    report.fields["overview"] = {
        "proactive": "本年度主动公开政府信息 1200 条。\n通过门户网站及时发布各类信息。",
        "on_request": f"本年度共收到政府信息公开申请{total}件，均已按时答复。",
        "management": "加强政府信息管理，规范发布流程。",
        "platform": "完善政府门户网站信息公开专栏。",
        "oversight": "开展政务公开培训 2 次。",
    }
    report.fields["problems"] = {"text": "一是公开深度不够；二是解读形式单一。下一步将加强培训。"}
    report.fields["other"] = {"text": "无其他需要报告的事项。", "fee_count": 2, "fee_amount": Decimal("150.00")}
    return report


def published(form: Form, report: Report, fmt: str) -> bytes:
    """The report as `tianbao publish` writes it (html, docx, md or txt)."""
    return render(build_document(form, report), fmt)


def table_values(report: Report) -> dict:
    return {t: {r: dict(cols) for r, cols in rows.items()} for t, rows in report.tables.items()}


# ---------------------------------------------------------------------------------------
# Damage, as real pages are damaged


def half_width(text: str) -> str:
    return text.translate(str.maketrans({"（": "(", "）": ")", "，": ",", "：": ":", "；": ";"}))


def lose_tabs(text: str) -> str:
    """Copying from a web page: cells separated by single spaces, blank cells gone."""
    return "\n".join(re.sub(r"\t+", " ", line).strip() for line in text.split("\n"))


def one_cell_per_line(text: str) -> str:
    """Copying from a PDF: every cell on a line of its own."""
    return "\n".join(cell for line in text.split("\n") for cell in line.split("\t"))


def break_header_words(form: Form, text: str) -> str:
    """Header words broken over two lines ("结果" / "维持"), as PDFs print narrow columns."""
    for table in form.tables:
        for label in table.labels:
            words = label.text
            if len(words) == 4 and words not in (r.label for r in table.rows):
                text = text.replace(words, f"{words[:2]}\n{words[2:]}")
    return text


def replace_label(text: str, label: str, variant: str) -> str:
    assert label in text, label
    return text.replace(label, variant)


def table_lines(form: Form, text: str, table: TableSection) -> tuple[int, int]:
    """(first, last) line index of a table in published text: from its title to the next title."""
    lines = text.split("\n")
    titles = [s.title for s in form.sections if s.in_document]
    start = lines.index(table.title)
    later = [i for i, line in enumerate(lines) if line in titles and i > start]
    return start, (later[0] if later else len(lines))


def edit_row(text: str, row_label: str, edit) -> str:
    """Apply `edit(cells) -> cells` to the tab-separated line whose label ends with `row_label`."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        cells = line.split("\t")
        if cells[0].endswith(row_label):
            lines[index] = "\t".join(edit(cells))
            return "\n".join(lines)
    raise AssertionError(f"row not found: {row_label}")


def truncated_docx(data: bytes) -> bytes:
    return data[: len(data) // 2]


def docx_without_body(data: bytes) -> bytes:
    """A .docx package whose main part is not XML any more."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            payload = source.read(item.filename)
            if item.filename == "word/document.xml":
                payload = b"<w:document"
            target.writestr(item, payload)
    return out.getvalue()


def sample_with_numbers(form: Form, sample: str, report: Report) -> str:
    """The real sample's text (its irregular tab layout) with the report's numbers in place of
    its zeros: the sample prints every table value as "0", in the order of the form."""
    lines = sample.split("\n")
    for table in form.tables:
        values = iter([report.tables[table.id][r][c] for r, c in form.table_value_keys(table)])
        start = next(i for i, line in enumerate(lines) if line.strip() == table.title)
        titles = [s.title for s in form.sections if s.in_document]
        end = next((i for i in range(start + 1, len(lines)) if lines[i].strip() in titles), len(lines))
        for index in range(start, end):
            cells = lines[index].split("\t")
            lines[index] = "\t".join(str(next(values)) if cell.strip() == "0" else cell for cell in cells)
        assert next(values, None) is None, table.id
    return "\n".join(lines)
