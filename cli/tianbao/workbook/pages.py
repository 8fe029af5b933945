"""How the form workbook's sheets are laid out for the screen and for A4 paper.

Column widths and row heights of the instructions, field sheets and tables, computed from
the form definition (and from the text already in a field, when the workbook is written
with one): a column is as wide as its labels need to show their words whole (the form's
`column_widths` are minimums), a row as tall as its longest wrapped label or text needs
(`io.printing`, with Excel's Calibri metrics).
Tables print on one page each (scaled), so a label spanning many rows (表三's
三、本年度办理结果) is never cut by a page break.
"""

from __future__ import annotations

import math

from tianbao.cells import Range, column_index, column_letters
from tianbao.form.spec import FieldDef, FieldsSection, TableSection
from tianbao.io.printing import MAX_ROW_HEIGHT, fill_width, label_width, row_height

DEFAULT_WIDTH = 8.43  # Excel's width of a column no one sized
TITLE_HEIGHT = 30
INSTRUCTION_NUMBER_WIDTH = 4
LABEL_WIDTH = 16  # the least width of a field's label column (its labels wrap within it)
COUNTER_WIDTH = 12  # the live character count beside a text input (shown, not printed)
SHORT_INPUT_WIDTH = 40
MIN_ROW = 20  # a single line of 11 pt text with room to click into


INSTRUCTION_WIDTH = fill_width(INSTRUCTION_NUMBER_WIDTH)


def instruction_height(line: str) -> float:
    return row_height([(line, INSTRUCTION_WIDTH)], minimum=MIN_ROW)


def label_column_width(section: FieldsSection) -> float:
    """The width of a field sheet's label column: wide enough for every label's words."""
    return max(label_width(field.label, LABEL_WIDTH) for field in section.fields)


def input_width(section: FieldsSection) -> float:
    """A sheet with a long text fills the rest of a portrait page with its input column."""
    if any(f.type == "longtext" for f in section.fields):
        return fill_width(label_column_width(section))
    return SHORT_INPUT_WIDTH


def field_height(section: FieldsSection, field: FieldDef, value: object) -> float:
    """A long text's row is at least the form's `text_height` and grows (up to the limit of a
    row) to show the text it is written with; other rows fit their label."""
    label = row_height([(field.label, label_column_width(section))], minimum=MIN_ROW + 2)
    if field.type != "longtext":
        return label
    text = row_height([(str(value or ""), input_width(section))], minimum=section.text_height)
    return min(max(label, text), MAX_ROW_HEIGHT)


def table_column_widths(table: TableSection) -> dict[str, float]:
    """The width of each grid column (by letters) in Excel characters: the form's width as the
    least, widened until every label shows its words whole. A label in one column widens that
    column; one spanning columns, when still short of room, widens each of them alike. Tables
    print fitted to the page width, so a wider column only scales the page."""
    widths = {column_letters(col): table.column_widths.get(column_letters(col), DEFAULT_WIDTH)
              for col in range(table_columns(table) + 1)}
    spans = [Range.parse(label.range) for label in table.labels]
    for label, rng in zip(table.labels, spans, strict=True):
        if rng.first.col == rng.last.col:
            letters = column_letters(rng.first.col)
            widths[letters] = label_width(label.text, widths[letters])
    for label, rng in zip(table.labels, spans, strict=True):
        if rng.first.col != rng.last.col:
            letters = [column_letters(col) for col in range(rng.first.col, rng.last.col + 1)]
            short = label_width(label.text, sum(widths[c] for c in letters)) - sum(widths[c] for c in letters)
            for c in letters:
                widths[c] += math.ceil(short / len(letters))
    return widths


def table_row_heights(table: TableSection) -> dict[int, float]:
    """Height of each grid row (1-based, as in the definition) from the labels that end in it:
    a label spanning rows leaves its height to the rows it spans."""
    widths = table_column_widths(table)
    texts: dict[int, list[tuple[str, float]]] = {}
    for label in table.labels:
        rng = Range.parse(label.range)
        if rng.first.row != rng.last.row:
            continue
        width = sum(widths[column_letters(col)] for col in range(rng.first.col, rng.last.col + 1))
        texts.setdefault(rng.first.row + 1, []).append((label.text, width))
    rows = {row.row for row in table.rows} | set(table.header_rows)
    return {row: row_height(texts.get(row, []), minimum=MIN_ROW) for row in sorted(rows)}


def table_columns(table: TableSection) -> int:
    """The last grid column (0-based) the table uses."""
    width = max(column_index(c.span_to or c.col) for c in table.columns)
    return max([width] + [Range.parse(lbl.range).last.col for lbl in table.labels])
