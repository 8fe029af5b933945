"""The published document as plain data: what it says, independent of any output format.

Everything here comes from the report and the form definition: the title pattern, the
sections in order with their titles, which fields print as sub-headings or plain text, the
generated sentences, and the official table grids.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from tianbao.document.publish.grid import Grid, build_grid, format_number
from tianbao.errors import UserError
from tianbao.form import Form
from tianbao.form.spec import FieldDef, FieldsSection, TableSection
from tianbao.report import FieldValue, Report
from tianbao.reviews import overridden

# Characters XML 1.0 (and so DOCX and well-formed HTML) cannot carry; a pasted text may hold them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


@dataclass(frozen=True)
class Heading:
    text: str
    level: int  # 1: a part (一、…), 2: a sub-part (（一）…)


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class TableBlock:
    grid: Grid  # the grid's title is the part title


Block = Heading | Paragraph | TableBlock


@dataclass(frozen=True)
class Document:
    title: str
    blocks: tuple[Block, ...]
    signature: tuple[str, ...]  # unit name and date, closing the document
    trace: str | None  # footer line: the data file and its hash, and errors a reviewer overrode


@dataclass(frozen=True)
class Trace:
    """The data file a document was published from, so a number can be traced back."""

    file_name: str
    sha256: str


def clean_text(text: str) -> str:
    return _CONTROL.sub("", text)


def paragraphs(text: str) -> list[str]:
    """A narrative split into paragraphs: one per non-blank line, surrounding blanks dropped."""
    lines = (line.strip() for line in clean_text(text).replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return [line for line in lines if line]


def parse_date(text: str) -> dt.date | None:
    """2026-01-20, 2026/1/20 or 2026年1月20日 (a time part is ignored); None when unreadable."""
    match = _DATE.match(text)
    if not match:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def build_document(
    form: Form,
    report: Report,
    *,
    intro: str | None = None,
    date: dt.date | None = None,
    trace: Trace | None = None,
) -> Document:
    """The document for one report; `date` overrides the report's own date."""
    names = {role: report.identity_value(role) for role in form.identity_fields}
    try:
        title = clean_text(form.spec.document_title.format_map(names))
    except (KeyError, IndexError, ValueError) as exc:
        known = "、".join("{" + role + "}" for role in names)
        raise UserError(f"表单定义的 document_title 只能使用 {known}：{form.spec.document_title}") from exc
    blocks: list[Block] = [Paragraph(p) for p in paragraphs(intro or "")]
    for section in form.sections:
        if not section.in_document:
            continue
        if isinstance(section, TableSection):
            blocks.append(TableBlock(build_grid(form, section, report.tables[section.id])))
        else:
            blocks.append(Heading(clean_text(section.title), 1))
            blocks.extend(_fields_blocks(form, report, section))
    signature = (clean_text(report.unit.name), _signature_date(form, report, date))
    return Document(title=title, blocks=tuple(blocks), signature=signature, trace=_trace_line(report, trace))


def _trace_line(report: Report, trace: Trace | None) -> str | None:
    """The data file's hash when asked for; overridden errors always, so a document never hides them."""
    parts = [f"数据文件 {trace.file_name} 的 SHA-256 校验值：{trace.sha256}"] if trace else []
    if count := len(overridden(report.findings)):
        parts.append(f"本报告数据中有 {count} 处校验错误经审核确认后保留。")
    return "。".join(parts) or None


def _fields_blocks(form: Form, report: Report, section: FieldsSection) -> list[Block]:
    blocks: list[Block] = []
    printed: list[str] = []
    for field in section.fields:
        role = field.document_role
        if role == "hidden":
            continue
        text = _display(field, report.field_value(form, section.id, field.id))
        printed.append(text)
        if role == "heading":
            blocks.append(Heading(clean_text(field.label), 2))
        blocks.extend(Paragraph(p) for p in paragraphs(text))
    sentences = _sentences(form, report, section, "\n".join(printed))
    said_nothing = [p for p in blocks if isinstance(p, Paragraph) and _says_nothing(p.text)]
    if sentences and said_nothing and all(_says_nothing(text) or not text.strip() for text in printed):
        # "无。" then "本年度共收取……" would contradict the unit's own words: when the unit
        # wrote only that there is nothing to report, a sentence stating a fee takes its place
        # and a sentence stating there was none is not added.
        zero = {s.zero_text for s in section.document_sentences}
        if all(sentence in zero for sentence in sentences):
            return blocks
        blocks = [b for b in blocks if b not in said_nothing]
    blocks.extend(Paragraph(p) for p in sentences)
    return blocks


# What a unit writes when it has nothing to report in a section.
_NOTHING = {"无", "没有", "暂无"}


def _says_nothing(text: str) -> bool:
    return text.strip().rstrip("。.；;！!").strip() in _NOTHING


def _sentences(form: Form, report: Report, section: FieldsSection, printed: str) -> list[str]:
    """The definition's generated sentences, unless the department's own text already says it."""
    values = {field.id: report.field_value(form, section.id, field.id) for field in section.fields}
    # A blank count reads as 0 in a sentence; a blank text stays blank.
    shown = {f.id: _display(f, values[f.id]) or ("0" if f.is_number else "") for f in section.fields}
    found = []
    for sentence in section.document_sentences:
        if sentence.unless_text_contains in printed:
            continue
        if sentence.zero_when and all(_is_zero(values[name]) for name in sentence.zero_when):
            text = sentence.zero_text
        else:
            text = sentence.text.format_map(shown)
        found.extend(paragraphs(text))
    return found


def _display(field: FieldDef, value: FieldValue) -> str:
    if value is None:
        return ""
    if field.is_number and not isinstance(value, str):
        return format_number(value)
    return str(value)


def _is_zero(value: FieldValue) -> bool:
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    return not isinstance(value, str) and value == 0


def _signature_date(form: Form, report: Report, date: dt.date | None) -> str:
    """The given date, else the report's own date field (the identity section's first date
    field, the filling date), else today."""
    if date is not None:
        return chinese_date(date)
    section = form.identity_section
    for field in section.fields:
        if field.type != "date":
            continue
        value = report.field_value(form, section.id, field.id)
        if value is None or not str(value).strip():
            break
        parsed = parse_date(str(value))
        return chinese_date(parsed) if parsed else clean_text(str(value).strip())
    return chinese_date(dt.date.today())
