"""The district's own text for its merged report (`merge --text FILE`).

The district office fills a workbook made by `tianbao new` (or writes a .docx/.md in the
official outline); the narrative fields of that report (those a published document prints:
总体情况 sub-headings, 存在问题, 其他事项 …, by the form's `document` roles) are copied into
the district report, whose numbers stay the sums.
"""

from __future__ import annotations

from pathlib import Path

from tianbao.errors import UserError
from tianbao.form import Form
from tianbao.report import Report


def read_text_source(form: Form, path: Path) -> Report:
    from tianbao.document.read import read_document_bytes, sniff_document
    from tianbao.stages.intake import import_file

    if not path.is_file():
        raise UserError(f"找不到本级报告文字的文件：{path}")
    data = path.read_bytes()
    if path.suffix.lower() in (".md", ".txt", ".docx", ".html", ".htm") and sniff_document(data):
        report, findings = read_document_bytes(data, path.name, form)
    else:
        outcome = import_file(path, form)
        report, findings = outcome.report, outcome.findings
    if report is None:
        reason = findings[0].message if findings else "无法读取"
        raise UserError(f"{path.name} 不能作为本级报告的文字：{reason}")
    return report


def apply_text(form: Form, district: Report, path: Path) -> int:
    """Copy the narrative fields; returns how many were filled."""
    source = read_text_source(form, path)
    filled = 0
    for section in form.field_sections:
        for field in section.fields:
            if field.document_role == "hidden" or field.is_number:
                continue
            value = source.fields.get(section.id, {}).get(field.id)
            if isinstance(value, str) and value.strip():
                district.fields.setdefault(section.id, {})[field.id] = value
                filled += 1
    if filled == 0:
        raise UserError(f"{path.name} 中没有填写任何文字部分（总体情况、存在问题等）")
    return filled
