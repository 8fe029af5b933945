"""The per-unit drill-down of a merge: detail.xlsx, one sheet per table with units as rows.

It is data to filter and look up, not to print whole, so it is its own workbook beside the
printable summary.xlsx. Each sheet prints readably all the same (landscape, header rows and
unit columns repeated on every page, no shrinking). XlsxWriter's constant_memory mode flushes
each row as it is written: memory stays flat however many units there are. Beyond a limit of
units (DETAIL_LIMIT, `merge --detail-limit`) nobody reads a spreadsheet of millions of cells
and writing it would cost more than the rest of the merge: the drill-down is then in
values.parquet only (see docs/design.md).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from tianbao.form import Form
from tianbao.form.spec import FieldsSection
from tianbao.io.atomic import atomic_path
from tianbao.report import Report
from tianbao.stages.merge import Entry, MergeResult
from tianbao.stages.sums import numeric_fields
from tianbao.workbook.styles import BODY_FONT, COMPUTED_FILL

# Units up to which detail.xlsx (and values.csv, which Excel opens) are written: 1,000 units
# make 230,000 cells, a few seconds; 10,000 would be 2.3 million and most of the merge's time.
DETAIL_LIMIT = 1000
HEADER_ROWS = 2  # row labels, then column labels
LEAD = 2  # unit code, unit name


@dataclass(frozen=True)
class DetailColumn:
    """One value column: a table cell or a number field, labelled from the form."""

    sheet: str  # the form sheet it belongs to: one detail sheet per form sheet
    title: str
    row_label: str
    label: str
    key: tuple[str, ...]  # (table, row, column) or (section, field)
    decimal: bool
    computed: bool = False

    def value(self, report: Report) -> int | Decimal | None:
        if len(self.key) == 3:
            table, row, column = self.key
            return report.tables[table][row][column]
        section, field_id = self.key
        return report.fields.get(section, {}).get(field_id)  # type: ignore[return-value]


def detail_columns(form: Form) -> list[DetailColumn]:
    """Every table value (inputs and totals) and every summed number field, in form order."""
    numbers = {(s, f): t for s, f, t in numeric_fields(form)}
    columns: list[DetailColumn] = []
    for section in form.sections:
        if isinstance(section, FieldsSection):
            for field in section.fields:
                field_type = numbers.get((section.id, field.id))
                if field_type:
                    columns.append(DetailColumn(section.sheet, section.title, "", field.label,
                                                (section.id, field.id), field_type == "decimal"))
            continue
        rows = {r.id: r for r in section.rows}
        by_id = {c.id: c for c in section.columns}
        for row_id, column_id in form.table_value_keys(section):
            column = by_id[column_id]
            columns.append(DetailColumn(section.sheet, section.title, rows[row_id].label, column.label,
                                        (section.id, row_id, column_id), column.type == "decimal",
                                        form.is_computed(section.id, row_id, column_id)))
    return columns


def _runs(labels: list[str]) -> list[tuple[int, int, str]]:
    """(first, last, label) for each run of equal consecutive labels."""
    runs: list[tuple[int, int, str]] = []
    for index, label in enumerate(labels):
        if runs and runs[-1][2] == label:
            runs[-1] = (runs[-1][0], index, label)
        else:
            runs.append((index, index, label))
    return runs


def _number(value: int | Decimal | None) -> int | float:
    # Excel stores binary floats; the exact Decimal stays in the JSON and values outputs.
    return 0 if value is None else (float(value) if isinstance(value, Decimal) else value)


def write_detail(result: MergeResult, path: Path) -> None:
    """detail.xlsx, streamed row by row to a temp file and renamed into place."""
    columns = detail_columns(result.form)
    entries = [e for e in result.summed if e.report is not None]
    district = result.district
    with atomic_path(path) as tmp:
        book = xlsxwriter.Workbook(
            str(tmp), {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                       "strings_to_urls": False},
        )
        add = book.add_format
        base = {"font_name": BODY_FONT, "font_size": 10, "valign": "vcenter", "border": 1}
        styles = {
            "header": add({**base, "bold": True, "align": "center", "text_wrap": True, "bg_color": "#DDEBF7"}),
            "text": add({**base, "align": "left"}),
            "int": add({**base, "align": "center", "num_format": "0"}),
            "decimal": add({**base, "align": "center", "num_format": "0.0000"}),
            "int_total": add({**base, "align": "center", "num_format": "0", "bg_color": COMPUTED_FILL}),
            "decimal_total": add({**base, "align": "center", "num_format": "0.0000", "bg_color": COMPUTED_FILL}),
            "sum_label": add({**base, "bold": True, "align": "center", "bg_color": "#DDEBF7"}),
            "sum": add({**base, "bold": True, "align": "center", "num_format": "0", "bg_color": "#DDEBF7"}),
            "sum_decimal": add({**base, "bold": True, "align": "center", "num_format": "0.0000",
                                "bg_color": "#DDEBF7"}),
        }
        password = secrets.token_urlsafe(12)
        for sheet_name, group in _groups(columns):
            _detail_sheet(book, styles, sheet_name, group, entries, district, password)
        book.close()


def _groups(columns: list[DetailColumn]) -> list[tuple[str, list[DetailColumn]]]:
    groups: dict[str, list[DetailColumn]] = {}
    for column in columns:
        groups.setdefault(column.sheet, []).append(column)
    return list(groups.items())


def _detail_sheet(book: Any, styles: dict[str, Any], name: str, columns: list[DetailColumn],
                  entries: list[Entry], district: Report, password: str) -> None:
    sheet = book.add_worksheet(name)
    last_col = LEAD + len(columns) - 1
    sheet.set_column(0, 0, 12)
    sheet.set_column(1, 1, 26)
    sheet.set_column(LEAD, last_col, 10)
    # Header rows first: constant_memory writes rows strictly in order.
    sheet.set_row(0, 45)
    sheet.merge_range(0, 0, 0, LEAD - 1, columns[0].title, styles["header"])
    for first, last, text in _runs([c.row_label or c.title for c in columns]):
        if last > first:
            sheet.merge_range(0, LEAD + first, 0, LEAD + last, text, styles["header"])
        else:
            sheet.write_string(0, LEAD + first, text, styles["header"])
    sheet.set_row(1, 45)
    sheet.write_string(1, 0, "单位代码", styles["header"])
    sheet.write_string(1, 1, "单位名称", styles["header"])
    for index, column in enumerate(columns):
        sheet.write_string(1, LEAD + index, column.label, styles["header"])
    kinds = [("decimal" if c.decimal else "int") + ("_total" if c.computed else "") for c in columns]
    for offset, entry in enumerate(entries):
        row = HEADER_ROWS + offset
        report = entry.report
        if report is None:  # detail rows are summed entries, which carry their report
            continue
        sheet.write_string(row, 0, entry.code, styles["text"])
        sheet.write_string(row, 1, entry.name, styles["text"])
        for index, column in enumerate(columns):
            sheet.write_number(row, LEAD + index, _number(column.value(report)), styles[kinds[index]])
    # Totals: live sums that must equal the summary's official tables.
    total_row = HEADER_ROWS + len(entries)
    sheet.merge_range(total_row, 0, total_row, LEAD - 1, "合计", styles["sum_label"])
    for index, column in enumerate(columns):
        letter = xl_col_to_name(LEAD + index)
        formula = f"=SUM({letter}{HEADER_ROWS + 1}:{letter}{total_row})" if entries else "=0"
        style = styles["sum_decimal" if column.decimal else "sum"]
        sheet.write_formula(total_row, LEAD + index, formula, style, _number(column.value(district)))
    sheet.autofilter(1, 0, max(total_row - 1, 1), last_col)
    sheet.freeze_panes(HEADER_ROWS, LEAD)
    sheet.set_paper(9)
    sheet.set_landscape()
    sheet.repeat_rows(0, HEADER_ROWS - 1)
    sheet.repeat_columns(0, LEAD - 1)
    sheet.set_margins(left=0.5, right=0.5, top=0.7, bottom=0.7)
    header = f"{district.unit.name}{district.year}年度 分单位明细".replace("&", "&&")
    sheet.set_header(f"&L{header}&R&A")
    sheet.set_footer("&C第 &P 页，共 &N 页")
    sheet.protect(password, {"select_locked_cells": True, "select_unlocked_cells": True,
                             "format_columns": True, "format_rows": True, "autofilter": True})
