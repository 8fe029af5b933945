"""Tables for people: CSV that spreadsheet programs open safely, and simple .xlsx listings."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from tianbao.io.printing import label_width, row_height, set_up_page, value_width

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


# Listings are read on screen and printed: 宋体 10 pt, every cell wrapping, rows as tall as
# their text, landscape A4 scaled to the page width with the header row on every page.
LISTING_FONT = {"font_name": "宋体", "font_size": 10}


def xlsx_listing(sheets: list[tuple[str, Row, list[Row], list[float]]],
                 choices: dict[str, tuple[int, list[str]]] | None = None,
                 colours: dict[str, tuple[int, dict[str, tuple[str, str]]]] | None = None) -> bytes:
    """An .xlsx with one filtered, frozen listing per (title, header, rows, column widths);
    `choices` gives a listing (by title) a column whose cells are picked from a drop-down list,
    `colours` one whose cells are filled by their text (text -> (fill, font colour)).
    Choose widths that add up to a landscape page (about 135 characters) so it prints unscaled;
    they are the least: a column widens until its heading's words and its short values show
    whole (the page then scales to its width)."""
    import xlsxwriter

    buffer = io.BytesIO()
    # constant_memory: rows go to a temporary file as they are written (a precheck of 10,000
    # units lists hundreds of thousands); each row is sized before its cells are written.
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    cell = {**LISTING_FONT, "text_wrap": True, "valign": "top", "border": 1, "border_color": "#BFBFBF"}
    head = book.add_format({**cell, "bold": True, "bg_color": "#DDEBF7", "border_color": "#000000"})
    wrap = book.add_format(cell)
    font_size = LISTING_FONT["font_size"]
    for title, header, rows, least in sheets:
        sheet = book.add_worksheet(title)
        widths = [label_width(str(name), width, font_size) for name, width in zip(header, least, strict=True)]
        for row in rows:
            widths = [value_width(str(value), width, font_size) for value, width in zip(row, widths, strict=True)]
        for col, width in enumerate(widths):
            sheet.set_column(col, col, width)
        sheet.write_row(0, 0, header, head)
        sheet.set_row(0, row_height(zip(map(str, header), widths, strict=True), font_size))
        column, by_text = (colours or {}).get(title, (-1, {}))
        shades = {text: book.add_format({**cell, "bg_color": fill, "font_color": font})
                  for text, (fill, font) in by_text.items()}
        for index, row in enumerate(rows, start=1):
            sheet.set_row(index, row_height(zip(map(str, row), widths, strict=True), font_size))
            shade = shades.get(str(row[column])) if column >= 0 else None
            for col, value in enumerate(row):
                sheet.write(index, col, value, shade if col == column and shade is not None else wrap)
        sheet.autofilter(0, 0, max(len(rows), 1), len(header) - 1)
        sheet.freeze_panes(1, 0)
        set_up_page(sheet, landscape=True, header_left=title, repeat_rows=(0, 0))
        if choices and title in choices:
            column, allowed = choices[title]
            sheet.data_validation(1, column, max(len(rows), 1), column,
                                  {"validate": "list", "source": allowed, "error_title": header[column],
                                   "error_message": "请从下拉列表中选择"})
    book.close()
    return buffer.getvalue()
