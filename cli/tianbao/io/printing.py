"""How a sheet the tool writes comes out of a printer: A4 page setup, column widths that keep
words whole, and row heights.

Spreadsheet clients do not grow a row to fit wrapped text that a program wrote (Excel and
WPS only do so when a person edits the cell; a row with a set height never grows), so the
writer estimates each row's height itself from the text and the column widths. The
estimate assumes the widest of the fonts clients substitute: a CJK character is one em, any
other character 0.6 em (DejaVu Sans, LibreOffice's fallback, is wider than SimSun's half
em), and a line is 1.4 em high (SimSun needs 1.3, Noto Sans CJK, the common CJK fallback,
1.45 with its own spacing). Rounding up costs a little white space; rounding down cuts text off.

Column widths are Excel's: a workbook's default font is Calibri 11 (7 pixels a character),
which LibreOffice measures with Carlito, its metric twin (without Carlito it falls back to
DejaVu Sans, a third wider, and nothing printed there says how Excel shows it). A label's
column is widened until its words are whole (`label_width`), a listing's until its short
values are (`value_width`).

For XlsxWriter worksheets; the summary and every listing may use it:

    lines = wrapped_lines(text, width=60)               # column width in Excel characters
    width = label_width("社会公益组织", minimum=9)        # 14: the label on one line
    sheet.set_row(row, row_height([(text, 60), (name, 14)], font_size=10))
    set_up_page(sheet, landscape=True, header_left="某某区民政局", header_right="错误清单",
                repeat_rows=(2, 2))
"""

from __future__ import annotations

import functools
import itertools
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
LABEL_SLACK = 0.3  # em a label's line keeps free: a bold face or a client's rounding may widen it
# LibreOffice sizes a column from Carlito's digit width unrounded (7.4 pixels at 11 pt where
# Excel rounds to 7): its columns hold up to this much more text.
LIBREOFFICE_WIDER = 1.07


def column_points(width: float) -> float:
    """The width in points of a column `width` Excel characters wide (Calibri 11, the default
    font of a workbook XlsxWriter writes: 7 pixels a character plus 5 of padding)."""
    pixels = width * 12 if width < 1 else int(width * 7 + 5)
    return pixels * 0.75


def _char_width(char: str) -> float:
    """Width of a character in em."""
    return 1.0 if unicodedata.east_asian_width(char) in ("W", "F") else 0.6


def wrapped_lines(text: str, width: float, font_size: float = 11) -> int:
    """How many lines `text` takes in a wrapping cell `width` Excel characters wide."""
    room = _room(width, font_size)
    if len(text) <= room and "\n" not in text:  # fits even if every character is wide (most cells)
        return 1
    return sum(len(_line_lengths(paragraph, room)) for paragraph in str(text).split("\n"))


def _room(width: float, font_size: float) -> float:
    """The em of `font_size` a line holds in a column `width` Excel characters wide."""
    return max(column_points(width) - CELL_PADDING, font_size) / font_size


def _line_lengths(paragraph: str, room: float, cling: bool = True) -> list[int]:
    """The characters on each line of `paragraph` wrapped in `room` em.

    Breaks wherever a line is full: CJK text may break after any character, except (with
    `cling`, as Excel and WPS do) before closing or after opening punctuation, which stay with
    their character; a latin word that does not fit moves to the next line whole."""
    lines: list[int] = [0]
    used = 0.0
    for word in _words(paragraph, cling):
        size = sum(_char_width(c) for c in word)
        if used + size <= room:
            used += size
            lines[-1] += len(word)
        elif size <= room and (used > 0 or not _is_cjk(word)):
            lines.append(len(word))
            used = size
        else:  # a word longer than the line: fill character by character
            for char in word:
                step = _char_width(char)
                if used + step > room and used > 0:
                    lines.append(0)
                    used = 0.0
                used += step
                lines[-1] += 1
    return lines


def _is_cjk(word: str) -> bool:
    return len(word) == 1 and _char_width(word) == 1.0


OPENING = "（《“‘【〈「『"
CLOSING = "）》”’】〉」』、，。；：！？"


def _words(paragraph: str, cling: bool = True) -> Iterable[str]:
    """The pieces a line may not break inside: runs of latin letters and digits (with a
    trailing space) as one word, a CJK character (with the punctuation that clings to it, when
    `cling`), any other character alone."""
    pieces: list[str] = []
    word = ""
    for char in paragraph:
        if _char_width(char) == 1.0:
            if word:
                pieces.append(word)
                word = ""
            if cling and pieces and (char in CLOSING or pieces[-1][-1] in OPENING):
                pieces[-1] += char
            else:
                pieces.append(char)
        elif char == " ":
            pieces.append(word + " ")
            word = ""
        else:
            word += char
    if word:
        pieces.append(word)
    return pieces


WHOLE_LINE = 9  # a label line of up to this many characters (三、本年度办理结果) never wraps
ORPHAN = 2  # a wrapped label whose last line has this many characters or fewer reads as a word cut


@functools.lru_cache(maxsize=4096)  # a form's labels are measured again for every workbook
def label_width(text: str, minimum: float = 0, font_size: float = 11, whole_line: int = WHOLE_LINE) -> float:
    """The narrowest width in whole Excel characters, at least `minimum`, at which a label shows
    its words whole: each of its lines (split at its line breaks) of up to `whole_line`
    characters on one line, a longer one wrapped without a last line of ORPHAN characters or
    fewer (`whole_line=len(text)`: the width that shows `text` on one line)."""
    width = math.ceil(minimum)
    while not _words_whole(text, width, font_size, whole_line):
        width += 1
    return width


# A value in a workbook may be anything a unit typed: a longer "word" is not a check id or a file
# name and may wrap anywhere, and no value widens its column past a readable width (Excel's
# limit is 255; measuring a 3,000-letter word cost seconds).
LONGEST_WHOLE_WORD = 40
WIDEST_VALUE_COLUMN = 60


@functools.lru_cache(maxsize=4096)  # a listing repeats its values (file names, severities)
def value_width(text: str, minimum: float, font_size: float = 11) -> float:
    """The narrowest width, at least `minimum`, at which a listing's value reads whole: up to
    WHOLE_LINE characters on one line, a longer text wrapped anywhere but inside a latin word
    (a check id, a file name)."""
    if len(text) <= WHOLE_LINE and "\n" not in text:
        return label_width(text, minimum, font_size)
    latin = [word for word in (w.strip() for w in _words(text) if not _is_cjk(w[0])) if len(word) <= LONGEST_WHOLE_WORD]
    longest = max(latin, key=len, default="")
    if not longest:
        return minimum
    return max(minimum, min(label_width(longest, minimum, font_size, whole_line=len(longest)), WIDEST_VALUE_COLUMN))


def fill_width(*others: float, landscape: bool = False) -> float:
    """The width in whole Excel characters that, beside columns of widths `others`, fills the
    page (portrait unless `landscape`) without going over, so that it prints unscaled."""
    room = PAGE_WIDTH[landscape] - sum(column_points(w) for w in others) - 2
    return int((room / 0.75 - 5) / 7)


def _words_whole(text: str, width: float, font_size: float, whole_line: int) -> bool:
    """Whether the label's words show whole in Excel and in LibreOffice alike: LibreOffice
    wraps in columns up to LIBREOFFICE_WIDER wider and breaks before punctuation too."""
    room = _room(width, font_size) - LABEL_SLACK
    if len(text) <= room and "\n" not in text:  # one line even at one em a character (most values)
        return True
    for paragraph in text.split("\n"):
        for line_room, cling in ((room, True), (room, False), (room * LIBREOFFICE_WIDER, False)):
            lines = _line_lengths(paragraph, line_room, cling)
            if len(lines) == 1:
                continue
            if len(paragraph) <= whole_line or lines[-1] <= ORPHAN:
                return False
            starts = itertools.accumulate(lines[:-1])
            if any(paragraph[start] in CLOSING for start in starts):
                return False
    return True


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
            per_row = max(1, most * int(room))  # a line holds int(room) wide characters,
            while per_row > 1 and wrapped_lines(paragraph[:per_row], width, font_size) > most:
                per_row -= 1  # or fewer where punctuation keeps to its character
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
