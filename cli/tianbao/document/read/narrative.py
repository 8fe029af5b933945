"""Numbers in the narrative parts: generated sentences read back, stated numbers checked.

Two kinds of knowledge come from the form. `document_sentences` are the sentences the
publisher writes for structured fields (such as the processing fee): a document that contains
one gives those fields back exactly. `narrative_checks` are sentence patterns ("received N
applications"); each number they find is compared with the tables (rule R8), and a field no
generated sentence stated takes the first value its text gives.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from tianbao.cells import Cell, column_index
from tianbao.form import Form
from tianbao.form.spec import FieldDef, FieldsSection, NarrativeCheck
from tianbao.report import FieldValue, Finding, Number, Report

_SENTENCE_END = "。；;！!？?\n"
_NUMBER = r"\d+(?:\.\d+)?"


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def read_generated_sentences(section: FieldsSection, lines: list[str]) -> tuple[list[str], dict[str, FieldValue]]:
    """Take out the lines the publisher generated for this section's structured fields."""
    fields = {f.id: f for f in section.fields}
    values: dict[str, FieldValue] = {}
    kept = []
    for line in lines:
        compact = _compact(line)
        for sentence in section.document_sentences:
            if sentence.zero_text and compact == _compact(sentence.zero_text):
                values.update({name: _typed(fields[name], "0") for name in sentence.zero_when})
                break
            match = _sentence_regex(sentence.text).fullmatch(compact)
            if match:
                values.update({name: _typed(fields[name], text) for name, text in match.groupdict().items()})
                break
        else:
            kept.append(line)
    return kept, values


def _sentence_regex(template: str) -> re.Pattern[str]:
    pattern = ""
    for piece in re.split(r"(\{\w+\})", template):
        if piece.startswith("{") and piece.endswith("}"):
            pattern += f"(?P<{piece[1:-1]}>{_NUMBER})"
        else:
            pattern += re.escape(_compact(piece))
    return re.compile(pattern)


def _typed(field: FieldDef, text: str) -> FieldValue:
    if field.type == "decimal":
        return Decimal(text)
    if field.type in ("int", "year"):
        return int(Decimal(text))
    return text


# ---------------------------------------------------------------------------------------
# R8


def narrative_findings(form: Form, report: Report, lines: list[str]) -> list[Finding]:
    """Compare every number the text states with the report; fill fields the text alone states."""
    findings: list[Finding] = []
    for check in form.spec.narrative_checks:
        regex = re.compile(check.pattern)
        for line in lines:
            text = unicodedata.normalize("NFKC", line)
            # Quote the clerk's own characters when normalising kept the positions.
            quoted = line if len(line) == len(text) else text
            for match in regex.finditer(text):
                stated = check.value if check.value is not None else Decimal(match.group("n"))
                finding = _compare(form, report, check, stated, _sentence(quoted, match.start(), match.end()))
                if finding is not None:
                    findings.append(finding)
    return findings


def _compare(form: Form, report: Report, check: NarrativeCheck, stated: Decimal, sentence: str) -> Finding | None:
    if check.from_year is not None and report.year < check.from_year:
        return None
    if len(check.compare) == 1 and check.compare[0].count(".") == 1:
        section_id, field_id = check.compare[0].split(".")
        field = form.field(section_id, field_id)
        section = form.fields_section(section_id)
        if section_id == form.identity_section.id:
            expected: Number = report.field_value(form, section_id, field_id)  # type: ignore[assignment]
        else:
            values = report.fields.setdefault(section_id, {})
            if values.get(field_id) is None:
                values[field_id] = _typed(field, str(stated))  # the text is the only source of this field
                return None
            expected = values[field_id]  # type: ignore[assignment]
        sheet, cells = section.sheet, [Cell(field.row - 1, column_index(section.input_column)).a1]
    else:
        expected, sheet, cells = _cells_sum(form, report, check.compare)
        if check.percent_of:
            whole = _cells_sum(form, report, check.percent_of)[0]
            if whole == 0:
                return None
            places = -stated.as_tuple().exponent  # type: ignore[operator]
            expected = (Decimal(expected) * 100 / Decimal(whole)).quantize(Decimal(1).scaleb(-places))
        elif any(_cells_sum(form, report, refs)[0] == stated for refs in check.or_compare):
            return None
    if Decimal(expected) == stated:
        return None
    return Finding(
        rule=check.rule,
        severity=check.severity,
        message=check.message.format(stated=_plain(stated), expected=_plain(expected), sentence=sentence),
        sheet=sheet,
        cell=",".join(cells),
        expected=_plain(expected),
        found=_plain(stated),
    )


def _cells_sum(form: Form, report: Report, refs: list[str]) -> tuple[Number, str | None, list[str]]:
    total: Number = 0
    cells = []
    sheet = None
    for ref in refs:
        table_id, row_id, column_id = ref.split(".")
        table = form.table(table_id)
        total += report.tables[table_id][row_id][column_id]
        sheet = sheet or table.sheet
        cells.append(form.table_cell(table, row_id, column_id).a1)
    return total, sheet, cells


def _plain(value: Number) -> str:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return str(int(value))
    return str(value)


def _sentence(text: str, start: int, end: int) -> str:
    """The whole sentence around a match, so the clerk can find it in the document."""
    begin = max((text.rfind(ch, 0, start) for ch in _SENTENCE_END), default=-1) + 1
    stops = [i for i in (text.find(ch, end) for ch in _SENTENCE_END) if i >= 0]
    finish = min(stops) + 1 if stops else len(text)
    return text[begin:finish].strip()
