"""The workbook generator: a locked, validated, self-checking .xlsx from a form definition.

Only input cells are unlocked; totals are live formulas whose cached results are correct;
check cells show ✓/✗ from the same rules the importer runs; the form's identity is embedded
in a very-hidden sheet, ASCII defined names and custom document properties.
XlsxWriter cannot protect workbook structure, so `finish` adds <workbookProtection> to
xl/workbook.xml after writing.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from tianbao import __version__
from tianbao.cells import Cell, Range, column_index, quote_sheet
from tianbao.formdef import FieldDef, FieldsSection, Form, InputCell, TableSection
from tianbao.model import Report, Unit, write_atomic
from tianbao.rules import CHECK_FAIL, check_value, computed_formula, expand_rule, recompute

META_SHEET = "_tianbao"
BODY_FONT = "宋体"
TITLE_FONT = "黑体"
INPUT_FILL = "#FFF2CC"
COMPUTED_FILL = "#E7E6E6"
BAD_FILL = "#FFC7CE"
BAD_FONT = "#9C0006"
OVER_LIMIT = " 超出字数"
MAX_COUNT = 99_999_999
MAX_AMOUNT = 999_999_999

# Identity keys, in the order of the hidden sheet, the defined names and the doc properties.
IDENTITY_KEYS = (
    "form_id",
    "form_version",
    "fingerprint",
    "unit_code",
    "unit_name",
    "unit_level",
    "year",
    "generated_at",
    "tool_version",
    # sha256 of the numbers as distributed: a workbook returned with the same numbers was
    # never filled in (empty in workbooks that are not sent out to be filled).
    "distributed_inputs",
)


def legacy_password_hash(password: str) -> str:
    """The 16-bit hash Excel, WPS and LibreOffice all accept (ECMA-376 Part 4, 14.7.1)."""
    digest = 0
    for char in password[::-1]:
        digest = ((digest >> 14) & 0x01) | ((digest << 1) & 0x7FFF)
        digest ^= ord(char)
    digest = ((digest >> 14) & 0x01) | ((digest << 1) & 0x7FFF)
    digest ^= len(password) ^ 0xCE4B
    return f"{digest:X}"


@dataclass
class Annotation:
    """A problem to show on a cell of the written workbook (used by `tianbao annotate`)."""

    sheet: str
    cell: str
    message: str


@dataclass
class WriteOptions:
    password: str | None = None
    # Inputs written from the report and then locked: (section, key) pairs.
    locked: set[tuple[str, tuple[str, ...]]] = field(default_factory=set)
    annotations: list[Annotation] = field(default_factory=list)
    generated_at: str | None = None
    # A workbook sent out to be filled (distribute, new): it records its numbers as sent.
    distributed: bool = False


class FormWorkbook:
    """Writes a form's sheets into an XlsxWriter workbook held in memory.

    Callers may add sheets of their own through `workbook` and `formats` before `finish`.
    """

    def __init__(self, form: Form, report: Report, options: WriteOptions | None = None) -> None:
        self.form = form
        self.report = report
        self.options = options or WriteOptions()
        self.password = self.options.password or secrets.token_urlsafe(12)
        self.generated_at = self.options.generated_at or datetime.now().astimezone().isoformat(
            timespec="seconds"
        )
        self._buffer = io.BytesIO()
        self.workbook: Workbook = xlsxwriter.Workbook(
            self._buffer,
            {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
             "strings_to_urls": False},
        )
        self.formats = _Formats(self.workbook)
        self._annotations: dict[tuple[str, str], list[str]] = {}
        for note in self.options.annotations:
            self._annotations.setdefault((note.sheet, note.cell), []).append(note.message)
        recompute(form, report.tables)
        self.sheets: dict[str, Worksheet] = {}
        self._validations: dict[str, dict[str, tuple[dict[str, Any], list[str]]]] = {}

    # -- public --------------------------------------------------------------------------
    def write_form(self) -> None:
        form = self.form
        self._write_instructions()
        for section in form.sections:
            sheet = self._add_sheet(section.sheet)
            if isinstance(section, FieldsSection):
                self._write_fields(sheet, section)
            else:
                self._write_table(sheet, section)
        self._write_checks()
        self._write_identity()
        self._write_validations()

    def _write_validations(self) -> None:
        for sheet_name, groups in self._validations.items():
            sheet = self.sheets[sheet_name]
            for rule, cells in groups.values():
                first = Cell.parse(cells[0])
                sheet.data_validation(first.row, first.col, first.row, first.col,
                                      {**rule, "multi_range": " ".join(cells)})

    def add_sheet(self, name: str, first: bool = False) -> Worksheet:
        """A further sheet; `first=True` makes it the active sheet shown on opening."""
        sheet = self._add_sheet(name)
        if first:
            sheet.activate()
            sheet.set_first_sheet()
        return sheet

    def finish(self) -> bytes:
        """Close the workbook and return the .xlsx bytes with workbook structure protected."""
        self.workbook.close()
        return protect_structure(self._buffer.getvalue(), self.password)

    # -- sheets --------------------------------------------------------------------------
    def _add_sheet(self, name: str) -> Worksheet:
        sheet = self.workbook.add_worksheet(name)
        sheet.set_paper(9)  # A4
        sheet.set_margins(left=0.6, right=0.6, top=0.75, bottom=0.75)
        sheet.hide_gridlines(1)  # gridlines on screen help filling; on paper only the borders
        self.sheets[name] = sheet
        return sheet

    def _protect(self, sheet: Worksheet) -> None:
        sheet.protect(
            self.password,
            {"select_locked_cells": True, "select_unlocked_cells": True, "format_columns": True,
             "format_rows": True},
        )

    def _write_instructions(self) -> None:
        spec = self.form.spec.instructions
        sheet = self._add_sheet(spec.sheet)
        fmt = self.formats
        sheet.set_column("A:A", 4)
        sheet.set_column("B:B", 100)
        sheet.merge_range("A1:B1", spec.title, fmt.title)
        sheet.set_row(0, 30)
        for index, line in enumerate(spec.lines, start=1):
            sheet.write_number(index + 1, 0, index, fmt.note_number)
            sheet.write_string(index + 1, 1, line, fmt.note)
            sheet.set_row(index + 1, 15 * (1 + len(line) // 50) + 6)
        sheet.set_portrait()
        sheet.fit_to_pages(1, 0)
        self._protect(sheet)

    def _write_fields(self, sheet: Worksheet, section: FieldsSection) -> None:
        fmt = self.formats
        label_col = column_index(section.label_column)
        input_col = column_index(section.input_column)
        has_long = any(f.type == "longtext" for f in section.fields)
        sheet.set_column(label_col, label_col, 26)
        sheet.set_column(input_col, input_col, 90 if has_long else 40)
        sheet.set_column(input_col + 1, input_col + 1, 12)
        sheet.merge_range(0, label_col, 0, input_col + 1, section.title, fmt.title)
        sheet.set_row(0, 30)
        for cell in self.form.input_cells:
            if cell.section != section.id:
                continue
            definition = self.form.field(section.id, cell.key[0])
            sheet.write_string(cell.cell.row, label_col, definition.label, fmt.label_left)
            if definition.type == "longtext":
                sheet.set_row(cell.cell.row, section.text_height)
            else:
                sheet.set_row(cell.cell.row, 22 if len(definition.label) <= 12 else 36)  # long labels wrap
            self._write_input(sheet, cell, self._field_value(section, definition))
            if cell.max_length and definition.type in ("text", "longtext"):
                # Live character count beside the input, flagged once over the limit (a paste
                # bypasses the length validation). A formula, not conditional formatting:
                # cheaper to write and shown the same by every client.
                length = len(str(self._field_value(section, definition) or ""))
                limit = cell.max_length
                sheet.write_formula(
                    cell.cell.row, input_col + 1,
                    f'=LEN({cell.a1})&"/{limit}"&IF(LEN({cell.a1})>{limit},"{OVER_LIMIT}","")',
                    fmt.counter, f"{length}/{limit}" + (OVER_LIMIT if length > limit else ""),
                )
        sheet.freeze_panes(1, 0)
        sheet.set_portrait()
        sheet.fit_to_pages(1, 0)
        self._protect(sheet)

    def _write_table(self, sheet: Worksheet, table: TableSection) -> None:
        form, fmt = self.form, self.formats
        origin = form.origin(table)
        width = max(column_index(c.span_to or c.col) for c in table.columns)
        width = max([width] + [Range.parse(lbl.range).last.col for lbl in table.labels])
        for letters, chars in table.column_widths.items():
            col = column_index(letters) + origin.col
            sheet.set_column(col, col, chars)
        sheet.merge_range(0, origin.col, 0, origin.col + width, table.title, fmt.title)
        sheet.set_row(0, 30)
        header_rows = set(table.header_rows)
        for label in table.labels:
            rng = Range.parse(label.range)
            style = fmt.header if rng.first.row + 1 in header_rows else fmt.label
            target = rng.shifted(origin)
            if target.is_single:
                sheet.write_string(target.first.row, target.first.col, label.text, style)
            else:
                sheet.merge_range(
                    target.first.row, target.first.col, target.last.row, target.last.col,
                    label.text, style,
                )
        for row_def in table.rows:
            sheet.set_row(origin.row + row_def.row - 1, 30 if table.landscape else 24)
        for header_row in table.header_rows:
            sheet.set_row(origin.row + header_row - 1, 24)
        values = self.report.tables[table.id]
        for cell in form.input_cells:
            if cell.section == table.id:
                self._write_input(sheet, cell, values[cell.key[0]][cell.key[1]])
        for (table_id, row_id, column_id), computed in form.computed_cells.items():
            if table_id != table.id:
                continue
            value = values[row_id][column_id]
            sheet.write_formula(
                computed.cell.row, computed.cell.col,
                computed_formula(form, table_id, row_id, column_id),
                fmt.computed_decimal if isinstance(value, Decimal) else fmt.computed,
                _cached_number(value),
            )
        # Freeze and repeat on print the leading block of header rows (1, 2, 3, …).
        leading = 0
        while leading + 1 in table.header_rows:
            leading += 1
        sheet.freeze_panes(origin.row + leading, 0)
        if leading:
            sheet.repeat_rows(origin.row, origin.row + leading - 1)
        if table.landscape:
            sheet.set_landscape()
        sheet.fit_to_pages(1, 0)
        self._protect(sheet)

    def _write_checks(self) -> None:
        """✓/✗ cells for every rule that declares where its checks go."""
        fmt = self.formats
        from tianbao.rules import check_formula  # local: the names read better beside the loop

        for rule in self.form.spec.rules:
            if rule.check is None:
                continue
            sheet = self.sheets[rule.check.sheet]
            if rule.check.label:
                rng = Range.parse(rule.check.label.range)
                if rng.is_single:
                    sheet.write_string(rng.first.row, rng.first.col, rule.check.label.text, fmt.check_label)
                else:
                    sheet.merge_range(
                        rng.first.row, rng.first.col, rng.last.row, rng.last.col,
                        rule.check.label.text, fmt.check_label,
                    )
            for instance in expand_rule(self.form, rule):
                if instance.check_cell is None:  # the form check allows no rule instance without its cell
                    continue
                cell = Cell.parse(instance.check_cell)
                sheet.write_formula(
                    cell.row, cell.col, check_formula(self.form, instance, rule.check.sheet),
                    fmt.check, check_value(self.form, self.report, instance),
                )
            first = Cell.parse(rule.check.cells[0])
            sheet.conditional_format(
                first.row, first.col, first.row, first.col,
                {"type": "text", "criteria": "begins with", "value": CHECK_FAIL.split()[0], "format": fmt.bad,
                 "multi_range": " ".join(rule.check.cells)},
            )

    def _write_identity(self) -> None:
        identity = self.identity()
        sheet = self.workbook.add_worksheet(META_SHEET)
        for row, key in enumerate(IDENTITY_KEYS):
            sheet.write_string(row, 0, key)
            sheet.write_string(row, 1, identity[key])
            # Constant defined names survive Save As in every client we tested.
            self.workbook.define_name(f"tianbao_{key}", '="' + identity[key].replace('"', '""') + '"')
            self.workbook.set_custom_property(f"tianbao_{key}", identity[key])
        sheet.very_hidden()
        self._protect(sheet)
        for cell in self.form.input_cells:
            self.workbook.define_name(cell.defined_name, f"={quote_sheet(cell.sheet)}!{cell.cell.absolute}")

    def identity(self) -> dict[str, str]:
        unit: Unit = self.report.unit
        return {
            "form_id": self.form.id,
            "form_version": self.form.version,
            "fingerprint": self.form.fingerprint,
            "unit_code": unit.code,
            "unit_name": unit.name,
            "unit_level": unit.level,
            "year": str(self.report.year) if self.report.year else "",
            "generated_at": self.generated_at,
            "tool_version": __version__,
            "distributed_inputs": numbers_fingerprint(self.form, self.report) if self.options.distributed else "",
        }

    # -- cells ---------------------------------------------------------------------------
    def _field_value(self, section: FieldsSection, definition: FieldDef) -> Any:
        value = self.report.field_value(self.form, section.id, definition.id)
        if definition.type == "year" and not value:
            return None
        return value

    def _write_input(self, sheet: Worksheet, cell: InputCell, value: Any) -> None:
        fmt = self.formats
        locked = (cell.section, cell.key) in self.options.locked
        style = fmt.input_style(cell.type, locked)
        row, col = cell.cell.row, cell.cell.col
        if cell.merge is not None and not cell.merge.is_single:
            sheet.merge_range(
                cell.merge.first.row, cell.merge.first.col, cell.merge.last.row, cell.merge.last.col,
                "", style,
            )
        if value is None or value == "":
            sheet.write_blank(row, col, None, style)
        elif cell.type == "date" and isinstance(value, str):
            sheet.write_datetime(row, col, date.fromisoformat(value), style)
        elif isinstance(value, int | Decimal):
            sheet.write_number(row, col, _cached_number(value), style)
        else:
            sheet.write_string(row, col, str(value), style)
        if not locked:
            # Cells sharing a rule share one <dataValidation> (its sqref lists them all):
            # 183 separate elements made the file measurably slower to write and to read.
            key, rule = _validation(cell)
            self._validations.setdefault(sheet.name, {}).setdefault(key, (rule, []))[1].append(cell.a1)
        notes = self._annotations.get((cell.sheet, cell.a1))
        if notes:
            sheet.write_comment(row, col, "\n".join(notes), {"x_scale": 2.5, "y_scale": 2})
            sheet.conditional_format(row, col, row, col, {"type": "no_errors", "format": fmt.bad})


def number_cells(form: Form) -> list[tuple[str, tuple[str, ...], str]]:
    """(section, key, type) of every number a unit fills in: table inputs and number fields
    other than the identity (the year)."""
    identity = (form.identity_section.id, set(form.identity_fields.values()))
    return [(c.section, c.key, c.type) for c in form.input_cells
            if c.type in ("int", "decimal") and not (c.section == identity[0] and c.key[0] in identity[1])]


def numbers_fingerprint(form: Form, report: Report) -> str:
    """sha256 of the report's numbers (a blank counts as 0, 12.5 equals 12.5000)."""
    parts = []
    for section, key, _type in number_cells(form):
        value = (report.tables[section][key[0]][key[1]] if len(key) == 2
                 else report.fields.get(section, {}).get(key[0]))
        number = Decimal(str(value)) if isinstance(value, int | Decimal) else Decimal(0)
        parts.append(f"{section}.{'.'.join(key)}={format(number.normalize(), 'f')}")
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def _cached_number(value: int | Decimal) -> int | float:
    # The cached display value only; the exact Decimal stays in the model and JSON.
    return value if isinstance(value, int) else float(value)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@cache
def _validation(cell: InputCell) -> tuple[str, dict[str, Any]]:
    """(grouping key, XlsxWriter validation options) for an input cell."""
    # Table cells get a prompt without their label (the row shows it), so that a whole
    # table shares a few validation rules; single fields name themselves.
    label = "本单元格" if len(cell.key) > 1 else _truncate(cell.label, 60)
    if cell.type in ("int", "year"):
        low, high = (2000, 2100) if cell.type == "year" else (0, MAX_COUNT)
        what = "四位年份" if cell.type == "year" else "不小于 0 的整数"
        rule: dict[str, Any] = {"validate": "integer", "criteria": "between", "minimum": low, "maximum": high}
        hint = f"{label}：请填写{what}，没有请填 0。" if cell.type == "int" else f"{label}：请填写{what}。"
        title = "请填写整数"
    elif cell.type == "decimal":
        rule = {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": MAX_AMOUNT}
        hint = f"{label}：请填写不小于 0 的数字，最多 {cell.places} 位小数，没有请填 0。"
        title = "请填写金额"
    elif cell.type == "date":
        rule = {"validate": "date", "criteria": "between", "minimum": date(2000, 1, 1),
                "maximum": date(2100, 12, 31)}
        hint = f"{label}：请填写日期，例如 2026-01-15。"
        title = "请填写日期"
    elif cell.type == "choice":
        rule = {"validate": "list", "source": list(cell.choices)}
        hint = f"{label}：请从下拉列表中选择。"
        title = "请选择"
    else:
        limit = cell.max_length or 32767
        rule = {"validate": "length", "criteria": "<=", "value": limit}
        hint = f"{label}：最多 {limit} 个字。"
        title = "请填写文字"
    rule.update(
        {
            "input_title": title,
            "input_message": _truncate(hint, 250),
            "error_title": "输入不符合要求",
            "error_message": _truncate(hint, 250),
            "error_type": "stop",
            "ignore_blank": True,
        }
    )
    return repr(sorted(rule.items())), rule


class _Formats:
    """The workbook's cell styles, created once."""

    def __init__(self, workbook: Workbook) -> None:
        add = workbook.add_format
        base = {"font_name": BODY_FONT, "font_size": 11, "valign": "vcenter"}
        border = {"border": 1}
        self.title = add({**base, "font_name": TITLE_FONT, "font_size": 16, "align": "center"})
        self.note = add({**base, "text_wrap": True})
        self.note_number = add({**base, "align": "center", "valign": "top"})
        self.header = add({**base, **border, "bold": True, "align": "center", "text_wrap": True,
                           "bg_color": "#DDEBF7"})
        self.label = add({**base, **border, "align": "left", "text_wrap": True})
        self.label_left = add({**base, **border, "align": "left", "text_wrap": True, "bold": True})
        self.computed = add({**base, **border, "align": "center", "bg_color": COMPUTED_FILL,
                             "num_format": "0"})
        self.computed_decimal = add({**base, **border, "align": "center", "bg_color": COMPUTED_FILL,
                                     "num_format": "0.0000"})
        self.check_label = add({**base, "bold": True, "align": "right", "font_color": "#595959"})
        self.check = add({**base, **border, "align": "center", "font_color": "#375623"})
        self.counter = add({**base, "align": "left", "valign": "top", "font_color": "#7F7F7F"})
        self.bad = add({"bg_color": BAD_FILL, "fg_color": BAD_FILL, "pattern": 1, "font_color": BAD_FONT})
        inputs = {**base, **border, "bg_color": INPUT_FILL, "locked": False}
        self._inputs = {
            "int": add({**inputs, "align": "center", "num_format": "0"}),
            "year": add({**inputs, "align": "center", "num_format": "0"}),
            "decimal": add({**inputs, "align": "center", "num_format": "0.00##"}),
            "date": add({**inputs, "align": "center", "num_format": "yyyy-mm-dd"}),
            "text": add({**inputs, "align": "left", "text_wrap": True}),
            "choice": add({**inputs, "align": "left"}),
            "longtext": add({**inputs, "align": "left", "valign": "top", "text_wrap": True}),
        }
        fixed = {**base, **border, "bg_color": COMPUTED_FILL}
        self._locked_inputs = {
            key: add({**fixed, "align": "center" if key in ("int", "year", "decimal", "date") else "left",
                      "num_format": {"decimal": "0.00##", "date": "yyyy-mm-dd"}.get(key, "General")})
            for key in self._inputs
        }

    def input_style(self, cell_type: str, locked: bool) -> Any:
        return (self._locked_inputs if locked else self._inputs)[cell_type]


def protect_structure(xlsx: bytes, password: str) -> bytes:
    """Insert <workbookProtection lockStructure="1"> where the schema wants it: after
    <workbookPr> (and <fileVersion>, <fileSharing>), before <bookViews>."""
    element = f'<workbookProtection workbookPassword="{legacy_password_hash(password)}" lockStructure="1"/>'
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/workbook.xml":
                text = data.decode("utf-8")
                text, count = re.subn(r"<bookViews>", element + "<bookViews>", text, count=1)
                if count != 1:
                    raise RuntimeError("xl/workbook.xml has no <bookViews>; cannot protect structure")
                data = text.encode("utf-8")
            target.writestr(info, data)
    return out.getvalue()


# ---------------------------------------------------------------------------------------
# Entry points used by the CLI and other stages


def render_workbook(form: Form, report: Report, options: WriteOptions | None = None) -> bytes:
    """The complete department workbook as .xlsx bytes."""
    book = FormWorkbook(form, report, options)
    book.write_form()
    return book.finish()


def write_workbook(path: Path, form: Form, report: Report, options: WriteOptions | None = None) -> None:
    write_atomic(path, render_workbook(form, report, options))


def identity_locks(form: Form, roles: tuple[str, ...] | None = None) -> set[tuple[str, tuple[str, ...]]]:
    """Identity inputs to fill and lock: all of them (unit code, name, level, year) as
    `distribute` does, or only the given roles."""
    section = form.identity_section.id
    chosen = form.identity_fields if roles is None else {r: form.identity_fields[r] for r in roles}
    return {(section, (field_id,)) for field_id in chosen.values()}
