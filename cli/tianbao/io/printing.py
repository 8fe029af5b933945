"""How a sheet the tool writes comes out of a printer: A4 page setup and row heights.

Spreadsheet clients do not grow a row to fit wrapped text that a program wrote (Excel and
WPS only do so when a person edits the cell; a row with a set height never grows), so the
writer estimates each row's height itself from the text and the column widths. The
estimate assumes the widest of the fonts clients substitute: a CJK character is one em, any
other character 0.6 em (DejaVu Sans, LibreOffice's fallback, is wider than SimSun's half
em), and a line is 1.4 em high (SimSun needs 1.3, Noto Sans CJK, the common CJK fallback,
1.45 with its own spacing). Rounding up costs a little white space; rounding down cuts text off.

For XlsxWriter worksheets; the summary and every listing may use it:

    lines = wrapped_lines(text, width=60)               # column width in Excel characters
    sheet.set_row(row, row_height([(text, 60), (name, 14)], font_size=10))
    set_up_page(sheet, landscape=True, header_left="某某区民政局", header_right="错误清单",
                repeat_rows=(2, 2))
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing this module loads no spreadsheet library (CLI start-up)
    from xlsxwriter.worksheet import Worksheet

# Excel's limit: a row cannot be taller (Excel and WPS clip at it; LibreOffice allows more).
MAX_ROW_HEIGHT = 409.0
A4 = 9  # the paper size code of A4 in SpreadsheetML
MARGIN_SIDE, MARGIN_TOP, MARGIN_HEADER = 0.5, 0.6, 0.25  # inches; the header sits in the top margin
# Printable width and height of A4 in points (1 in = 72 pt) between those margins.
PAGE_WIDTH = {False: (8.27 - 2 * MARGIN_SIDE) * 72, True: (11.69 - 2 * MARGIN_SIDE) * 72}
PAGE_HEIGHT = {False: (11.69 - 2 * MARGIN_TOP) * 72, True: (8.27 - 2 * MARGIN_TOP) * 72}
LINE_SPACING = 1.4  # line height in em
CELL_PADDING = 3.0  # points: the client's inner margins of a cell (left + right, top + bottom)


def column_points(width: float) -> float:
    """The width in points of a column `width` Excel characters wide (Calibri 11, the default
    font of a workbook XlsxWriter writes: 7 pixels a character plus 5 of padding)."""
    pixels = width * 12 if width < 1 else int(width * 7 + 5)
    return pixels * 0.75


def _char_width(char: str) -> float:
    """Width of a character in em."""
    return 1.0 if unicodedata.east_asian_width(char) in ("W", "F") else 0.6


def wrapped_lines(text: str, width: float, font_size: float = 11) -> int:
    """How many lines `text` takes in a wrapping cell `width` Excel characters wide.

    Breaks where the text has a line break and wherever a line is full: CJK text may break
    after any character; a latin word that does not fit moves to the next line whole."""
    room = max(column_points(width) - CELL_PADDING, font_size) / font_size  # in em
    if len(text) <= room and "\n" not in text:  # fits even if every character is wide (most cells)
        return 1
    total = 0
    for paragraph in str(text).split("\n"):
        lines, used = 1, 0.0
        for word in _words(paragraph):
            size = sum(_char_width(c) for c in word)
            if used + size <= room:
                used += size
            elif size <= room and not _is_cjk(word):
                lines, used = lines + 1, size
            else:  # CJK, or a word longer than the line: fill character by character
                for char in word:
                    step = _char_width(char)
                    if used + step > room:
                        lines, used = lines + 1, 0.0
                    used += step
        total += lines
    return total


def _is_cjk(word: str) -> bool:
    return len(word) == 1 and _char_width(word) == 1.0


def _words(paragraph: str) -> Iterable[str]:
    """Runs of latin letters and digits (with a trailing space) as one word; any other
    character alone."""
    word = ""
    for char in paragraph:
        if _char_width(char) == 1.0:
            if word:
                yield word
                word = ""
            yield char
        elif char == " ":
            yield word + " "
            word = ""
        else:
            word += char
    if word:
        yield word


def row_height(cells: Iterable[tuple[str, float]], font_size: float = 11, minimum: float = 0.0) -> float:
    """The height in points a row needs for its wrapping cells, given as (text, width in
    Excel characters); a merged cell gives its text and the sum of its columns' widths.
    At least `minimum`, at most MAX_ROW_HEIGHT."""
    lines = max((wrapped_lines(text, width, font_size) for text, width in cells if text), default=1)
    return min(max(lines_height(lines, font_size), minimum), MAX_ROW_HEIGHT)


def lines_height(lines: int, font_size: float = 11) -> float:
    """The height in points of a row showing `lines` lines."""
    return math.ceil(lines * font_size * LINE_SPACING + CELL_PADDING)


def split_for_rows(text: str, width: float, font_size: float = 11) -> list[str]:
    """Pieces of a long text that each fit one row of at most MAX_ROW_HEIGHT, cut between
    paragraphs where possible (a longer text would print cut at the row's bottom)."""
    most = int((MAX_ROW_HEIGHT - CELL_PADDING) / (font_size * LINE_SPACING))
    room = max(column_points(width) - CELL_PADDING, font_size) / font_size  # characters a line, at worst
    pieces: list[str] = []
    current = ""
    for paragraph in text.split("\n"):
        candidate = f"{current}\n{paragraph}" if current else paragraph
        if wrapped_lines(candidate, width, font_size) <= most:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while wrapped_lines(paragraph, width, font_size) > most:  # one paragraph longer than a row
            per_row = max(1, most * int(room))  # a line holds int(room) wide characters
            pieces.append(paragraph[:per_row])
            paragraph = paragraph[per_row:]
        current = paragraph
    return [*pieces, current] if current or not pieces else pieces


def header_text(text: str) -> str:
    """`text` safe inside a header or footer, where & starts a control code."""
    return text.replace("&", "&&")


def set_up_page(sheet: Worksheet, *, landscape: bool, header_left: str = "", header_right: str = "",
                repeat_rows: tuple[int, int] | None = None, print_area: tuple[int, int, int, int] | None = None,
                fit_height: int = 0) -> None:
    """A4 in the given orientation, scaled to the page width (and to `fit_height` pages high
    when not 0), small margins, a header naming who and what (`header_left`, usually the
    unit, and `header_right`), the footer 第 N 页 共 M 页, the rows (first, last; 0-based) printed at the
    top of every page, and the print area (first row, first column, last row, last column)."""
    sheet.set_paper(A4)
    if landscape:
        sheet.set_landscape()
    else:
        sheet.set_portrait()
    sheet.set_margins(left=MARGIN_SIDE, right=MARGIN_SIDE, top=MARGIN_TOP, bottom=MARGIN_TOP)
    sheet.fit_to_pages(1, fit_height)
    page_marks(sheet, header_left, header_right)
    if repeat_rows is not None:
        sheet.repeat_rows(*repeat_rows)
    if print_area is not None:
        sheet.print_area(*print_area)


def page_marks(sheet: Worksheet, header_left: str, header_right: str) -> None:
    """The header naming who and what, the footer 第 N 页 共 M 页."""
    font = "&9 "  # 9 pt in the default font (a named font's style is spelt per locale); the space ends the size
    sheet.set_header(f"&L{font}{header_text(header_left)}&R{font}{header_text(header_right)}",
                     {"margin": MARGIN_HEADER})
    sheet.set_footer(f"&C{font}第 &P 页 共 &N 页", {"margin": MARGIN_HEADER})
