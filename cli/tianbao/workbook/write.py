"""The workbook generator: a locked, validated, self-checking .xlsx from a form definition.

Only input cells are unlocked; totals are live formulas whose cached results are correct;
check cells show ✓/✗ from the same rules the importer runs; the form's identity is embedded
in a very-hidden sheet, ASCII defined names and custom document properties.
XlsxWriter's public API cannot protect workbook structure: `workbook.protect` writes
<workbookProtection> into xl/workbook.xml as XlsxWriter assembles it; styles and validation prompts are in
`workbook.styles`, the names and keys a reader relies on in `workbook.layout`.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from tianbao import __version__
from tianbao.cells import Cell, Range, column_index, quote_sheet
from tianbao.form import Form
from tianbao.form.grammar import expand_rule
from tianbao.form.query import InputCell
from tianbao.form.spec import FieldDef, FieldsSection, TableSection
from tianbao.io.atomic import write_atomic
from tianbao.io.printing import set_up_page
from tianbao.report import Report, Unit
from tianbao.rules.check import recompute
from tianbao.rules.excel import CHECK_FAIL, check_formula, check_value, computed_formula
from tianbao.workbook import pages
from tianbao.workbook.layout import IDENTITY_KEYS, META_SHEET, OVER_LIMIT, numbers_fingerprint
from tianbao.workbook.protect import ProtectedWorkbook
from tianbao.workbook.styles import Formats, validation


@dataclass
class Annotation:
    """A problem to show on a cell of the written workbook (used by `tianbao annotate`)."""

    sheet: str
    cell: str
    message: str
    is_error: bool = True  # red when any note on the cell is an error, amber when all are warnings


@dataclass
class WriteOptions:
    password: str | None = None
    # Inputs written from the report and then locked: (section, key) pairs.
    locked: set[tuple[str, tuple[str, ...]]] = field(default_factory=set)
    annotations: list[Annotation] = field(default_factory=list)
    generated_at: str | None = None
    # A workbook sent out to be filled (distribute, new): it records its numbers as sent.
    distributed: bool = False
    # The 填表说明 sheet and the live character counters help whoever fills the workbook in; a
    # workbook only read (the district summary) goes without them.
    filling_aids: bool = True
    # The form sections to write (None: all); a summary leaves out narrative sheets left empty.
    sections: frozenset[str] | None = None


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
        self.workbook: Workbook = ProtectedWorkbook(
            self._buffer,
            {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
             "strings_to_urls": False},
            self.password,
        )
        self.formats = Formats(self.workbook)
        self._annotations: dict[tuple[str, str], list[Annotation]] = {}
        for note in self.options.annotations:
            self._annotations.setdefault((note.sheet, note.cell), []).append(note)
        recompute(form, report.tables)
        self.sheets: dict[str, Worksheet] = {}
        self._validations: dict[str, dict[str, tuple[dict[str, Any], list[str]]]] = {}

    # -- public --------------------------------------------------------------------------
    def write_form(self) -> None:
        form = self.form
        if self.options.filling_aids:
            self._write_instructions()
        for section in form.sections:
            if self.options.sections is not None and section.id not in self.options.sections:
                continue
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
        """Close the workbook and return the .xlsx bytes (workbook structure protected)."""
        self.workbook.close()
        return self._buffer.getvalue()

    # -- sheets --------------------------------------------------------------------------
    def _add_sheet(self, name: str) -> Worksheet:
        sheet = self.workbook.add_worksheet(name)
        sheet.hide_gridlines(1)  # gridlines on screen help filling; on paper only the borders
        self.sheets[name] = sheet
        return sheet

    def _print(self, sheet: Worksheet, landscape: bool = False, **options: Any) -> None:
        """A4 page setup with the unit and the report in the header (`io.printing.set_up_page`)."""
        year = f"{self.report.year}年" if self.report.year else ""
        set_up_page(sheet, landscape=landscape, header_left=self.report.unit.name,
                    header_right=f"{year}{self.form.spec.title}", **options)

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
        sheet.set_column(0, 0, pages.INSTRUCTION_NUMBER_WIDTH)
        sheet.set_column(1, 1, pages.INSTRUCTION_WIDTH)
        sheet.merge_range("A1:B1", spec.title, fmt.title)
        sheet.set_row(0, pages.TITLE_HEIGHT)
        for index, line in enumerate(spec.lines, start=1):
            sheet.write_number(index + 1, 0, index, fmt.note_number)
            sheet.write_string(index + 1, 1, line, fmt.note)
            sheet.set_row(index + 1, pages.instruction_height(line))
        self._print(sheet)
        self._protect(sheet)

    def _write_fields(self, sheet: Worksheet, section: FieldsSection) -> None:
        fmt = self.formats
        label_col = column_index(section.label_column)
        input_col = column_index(section.input_column)
        sheet.set_column(label_col, label_col, pages.label_column_width(section))
        sheet.set_column(input_col, input_col, pages.input_width(section))
        sheet.set_column(input_col + 1, input_col + 1, pages.COUNTER_WIDTH)
        sheet.merge_range(0, label_col, 0, input_col, section.title, fmt.title)
        sheet.set_row(0, pages.TITLE_HEIGHT)
        for cell in self.form.input_cells:
            if cell.section != section.id:
                continue
            definition = self.form.field(section.id, cell.key[0])
            sheet.write_string(cell.cell.row, label_col, definition.label, fmt.label_left)
            sheet.set_row(cell.cell.row, pages.field_height(section, definition,
                                                            self._field_value(section, definition)))
            self._write_input(sheet, cell, self._field_value(section, definition))
            if self.options.filling_aids and cell.max_length and definition.type in ("text", "longtext"):
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
        # The character counters help on screen; the print area stops before them.
        last_row = max(f.row for f in section.fields) - 1
        self._print(sheet, print_area=(0, min(label_col, input_col), last_row, max(label_col, input_col)))
        self._protect(sheet)

    def _write_table(self, sheet: Worksheet, table: TableSection) -> None:
        form, fmt = self.form, self.formats
        origin = form.origin(table)
        width = pages.table_columns(table)
        for letters, chars in pages.table_column_widths(table).items():
            col = column_index(letters) + origin.col
            sheet.set_column(col, col, chars)
        sheet.merge_range(0, origin.col, 0, origin.col + width, table.title, fmt.title)
        sheet.set_row(0, pages.TITLE_HEIGHT)
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
        for grid_row, height in pages.table_row_heights(table).items():
            sheet.set_row(origin.row + grid_row - 1, height)
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
        # One page each: a label spanning rows (表三's 三、本年度办理结果) prints whole.
        self._print(sheet, table.landscape, fit_height=1,
                    repeat_rows=(origin.row, origin.row + leading - 1) if leading else None)
        self._protect(sheet)

    def _write_checks(self) -> None:
        """✓/✗ cells for every rule that declares where its checks go."""
        fmt = self.formats

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
            if cell.sheet not in self.sheets:  # a section left out (WriteOptions.sections)
                continue
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
            key, rule = validation(cell)
            self._validations.setdefault(sheet.name, {}).setdefault(key, (rule, []))[1].append(cell.a1)
        notes = self._annotations.get((cell.sheet, cell.a1))
        if notes:
            sheet.write_comment(row, col, "\n".join(n.message for n in notes), {"x_scale": 2.5, "y_scale": 2})
            shade = fmt.bad if any(n.is_error for n in notes) else fmt.warn
            sheet.conditional_format(row, col, row, col, {"type": "no_errors", "format": shade})


def _cached_number(value: int | Decimal) -> int | float:
    # The cached display value only; the exact Decimal stays in the model and JSON.
    return value if isinstance(value, int) else float(value)


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
