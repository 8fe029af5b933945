"""Print setup of the summary's sheets: A4, fit to width, repeated header rows, page header and
footer, and row heights computed for wrapped text (LibreOffice and Excel do not grow a row
for wrapped text written by a program; a clipped 说明 prints cut)."""

from __future__ import annotations

import math

from xlsxwriter.worksheet import Worksheet

LINE_HEIGHT = 14.5  # points per line of 11-point 宋体
MAX_ROW_LINES = 26  # Excel caps a row at 409 points: longer texts continue on the next row


def text_width(text: str) -> float:
    """Width in Excel column units: a Chinese character takes two, a Latin one about one.
    Counted from the UTF-8 length (a Chinese character is 3 bytes, a Latin one 1), which is
    C speed: 报送情况 measures tens of thousands of cells at 10,000 units."""
    wide = (len(text.encode("utf-8")) - len(text)) / 2
    return 2.0 * wide + 1.1 * (len(text) - wide)


def text_lines(text: str, width: float) -> int:
    """Lines the text wraps to in a column `width` units wide."""
    usable = max(width - 0.5, 1.0)
    return sum(max(1, math.ceil(text_width(line) / usable)) for line in text.split("\n")) if text else 1


def row_height(texts_and_widths: list[tuple[str, float]]) -> float:
    lines = max((text_lines(text, width) for text, width in texts_and_widths), default=1)
    return lines * LINE_HEIGHT + 5


def split_for_rows(text: str, width: float) -> list[str]:
    """Pieces of a long text that each fit one row (at most MAX_ROW_LINES lines), cut between
    paragraphs where possible."""
    pieces: list[str] = []
    current = ""
    for paragraph in text.split("\n"):
        candidate = f"{current}\n{paragraph}" if current else paragraph
        if text_lines(candidate, width) <= MAX_ROW_LINES:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while text_lines(paragraph, width) > MAX_ROW_LINES:  # one paragraph longer than a row
            per_row = int(MAX_ROW_LINES * (width - 0.5) / 2)
            pieces.append(paragraph[:per_row])
            paragraph = paragraph[per_row:]
        current = paragraph
    return [*pieces, current] if current or not pieces else pieces


def print_setup(sheet: Worksheet, header: str, *, landscape: bool, repeat: tuple[int, int] | None = None,
                area: tuple[int, int, int, int] | None = None) -> None:
    """A4, one page wide, header rows repeated, the district in the header and the page number
    in the footer."""
    sheet.set_paper(9)
    if landscape:
        sheet.set_landscape()
    else:
        sheet.set_portrait()
    sheet.fit_to_pages(1, 0)
    sheet.set_margins(left=0.5, right=0.5, top=0.75, bottom=0.75)
    if repeat is not None:
        sheet.repeat_rows(*repeat)
    if area is not None:
        sheet.print_area(*area)
    page_marks(sheet, header)


def page_marks(sheet: Worksheet, header: str) -> None:
    """The district and the sheet at the top of each page, the page number at the bottom."""
    sheet.set_header(f"&L{header.replace('&', '&&')}&R&A")
    sheet.set_footer("&C第 &P 页，共 &N 页")
