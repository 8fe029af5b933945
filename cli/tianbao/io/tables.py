"""Tables for people: CSV that spreadsheet programs open safely, and simple .xlsx listings."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

Row = Sequence[str | int]

# Leading characters that make a spreadsheet program run a CSV cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """A CSV cell a spreadsheet would run as a formula gets a leading apostrophe."""
    return "'" + value if value.startswith(FORMULA_START) else value


def csv_text(header: Row, rows: list[Row]) -> str:
    """UTF-8 with BOM and CRLF: Excel and WPS open it without mangling the Chinese."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_safe(cell) if isinstance(cell, str) else cell for cell in row])
    return "\ufeff" + out.getvalue()


def xlsx_listing(sheets: list[tuple[str, Row, list[Row], list[int]]],
                 choices: dict[str, tuple[int, list[str]]] | None = None,
                 colours: dict[str, tuple[int, dict[str, tuple[str, str]]]] | None = None) -> bytes:
    """An .xlsx with one filtered, frozen listing per (title, header, rows, column widths);
    `choices` gives a listing (by title) a column whose cells are picked from a drop-down list,
    `colours` one whose cells are filled by their text (text -> (fill, font colour))."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    for title, header, rows, widths in sheets:
        sheet = book.add_worksheet(title)
        for col, width in enumerate(widths):
            sheet.set_column(col, col, width, wrap if width >= 80 else None)
        sheet.write_row(0, 0, header, head)
        column, by_text = (colours or {}).get(title, (-1, {}))
        shades = {text: book.add_format({"bg_color": fill, "font_color": font})
                  for text, (fill, font) in by_text.items()}
        for index, row in enumerate(rows, start=1):
            sheet.write_row(index, 0, row)
            if column >= 0 and (shade := shades.get(str(row[column]))) is not None:
                sheet.write(index, column, row[column], shade)
        sheet.autofilter(0, 0, max(len(rows), 1), len(header) - 1)
        sheet.freeze_panes(1, 0)
        if choices and title in choices:
            column, allowed = choices[title]
            sheet.data_validation(1, column, max(len(rows), 1), column,
                                  {"validate": "list", "source": allowed, "error_title": header[column],
                                   "error_message": "请从下拉列表中选择"})
    book.close()
    return buffer.getvalue()
