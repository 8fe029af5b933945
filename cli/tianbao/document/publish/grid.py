"""The official grid of a form table: built once from the definition, rendered by every format.

Positions are grid coordinates (grid A1 = the table's top-left header cell), not worksheet
cells: a published table starts at its own top-left corner wherever the workbook puts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from tianbao.cells import Range, column_index, column_letters
from tianbao.form import Form
from tianbao.form.spec import TableSection
from tianbao.report import Number

# Excel column width given to a grid column the definition does not size.
DEFAULT_WIDTH = 10.0


@dataclass(frozen=True)
class GridCell:
    """One (possibly merged) cell: a label (header) or a value of the report."""

    text: str
    row: int  # zero-based grid row of the top-left corner
    col: int  # zero-based grid column of the top-left corner
    rowspan: int = 1
    colspan: int = 1
    header: bool = False
    # HTML scope of a header: "col"/"colgroup" in header rows, "row"/"rowgroup" beside values.
    scope: str | None = None
    value: bool = False
    lines: tuple[str, ...] = ()  # a header's printed lines where the form allows a break

    @property
    def printed_lines(self) -> tuple[str, ...]:
        return self.lines or (self.text,)

    @property
    def last_row(self) -> int:
        return self.row + self.rowspan - 1

    @property
    def last_col(self) -> int:
        return self.col + self.colspan - 1

    @property
    def a1(self) -> str:
        first = f"{column_letters(self.col)}{self.row + 1}"
        if self.rowspan == 1 and self.colspan == 1:
            return first
        return f"{first}:{column_letters(self.last_col)}{self.last_row + 1}"


@dataclass(frozen=True)
class Grid:
    """A table as printed: every position of the rectangle is covered by exactly one cell."""

    table_id: str
    title: str
    n_rows: int
    n_cols: int
    cells: tuple[GridCell, ...]  # in reading order
    head_rows: int  # leading header rows that repeat on every printed page (0: none)
    widths: tuple[float, ...]  # relative column widths
    landscape: bool

    def rows(self) -> list[list[GridCell]]:
        """The cells that start in each grid row, left to right."""
        rows: list[list[GridCell]] = [[] for _ in range(self.n_rows)]
        for cell in self.cells:
            rows[cell.row].append(cell)
        return rows

    @cached_property
    def covering(self) -> list[list[GridCell]]:
        """The cell that covers each (row, col) position."""
        matrix: list[list[GridCell | None]] = [[None] * self.n_cols for _ in range(self.n_rows)]
        for cell in self.cells:
            for r in range(cell.row, cell.last_row + 1):
                for c in range(cell.col, cell.last_col + 1):
                    matrix[r][c] = cell
        return matrix  # type: ignore[return-value]  # complete by construction

    @cached_property
    def label_columns(self) -> list[int]:
        """Columns no value reaches: the row-label area on the left of the values."""
        with_values = {c for cell in self.cells if cell.value for c in range(cell.col, cell.last_col + 1)}
        return [c for c in range(self.n_cols) if c not in with_values]


def format_number(value: Number) -> str:
    """A count as is; an exact decimal without trailing zeros ("12.5000" -> "12.5"), never via float."""
    if isinstance(value, Decimal):
        text = format(value, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return "0" if text == "-0" else text
    return str(value)


def build_grid(form: Form, table: TableSection, values: dict[str, dict[str, Number]]) -> Grid:
    """The official layout of `table` filled with the report's values (inputs and totals)."""
    header_rows = {r - 1 for r in table.header_rows}
    cells: list[GridCell] = []
    for label in table.labels:
        rng = Range.parse(label.range)
        if rng.first.row in header_rows:
            scope = "col" if rng.colspan == 1 else "colgroup"
        else:
            scope = "row" if rng.rowspan == 1 else "rowgroup"
        lines = tuple(table.print_breaks[label.text].split("|")) if label.text in table.print_breaks else ()
        cells.append(GridCell(label.text, rng.first.row, rng.first.col, rng.rowspan, rng.colspan, header=True,
                              scope=scope, lines=lines))
    for row in table.rows:
        for column in form.row_columns(table, row):
            first = column_index(column.col)
            last = column_index(column.span_to) if column.span_to else first
            text = format_number(values[row.id][column.id])
            cells.append(GridCell(text, row.row - 1, first, 1, last - first + 1, value=True))
    n_rows = max(cell.last_row for cell in cells) + 1
    n_cols = max(cell.last_col for cell in cells) + 1
    cells.extend(_gaps(cells, n_rows, n_cols, header_rows))
    cells.sort(key=lambda cell: (cell.row, cell.col))
    widths = tuple(table.column_widths.get(column_letters(c), DEFAULT_WIDTH) for c in range(n_cols))
    return Grid(
        table_id=table.id,
        title=table.title,
        n_rows=n_rows,
        n_cols=n_cols,
        cells=tuple(cells),
        head_rows=_head_rows(header_rows, n_rows),
        widths=widths,
        landscape=table.landscape,
    )


def _gaps(cells: list[GridCell], n_rows: int, n_cols: int, header_rows: set[int]) -> list[GridCell]:
    """Empty cells for positions neither a label nor a value covers, so the rectangle is whole."""
    covered = {(r, c) for cell in cells for r in range(cell.row, cell.last_row + 1)
               for c in range(cell.col, cell.last_col + 1)}
    return [
        GridCell("", r, c, header=r in header_rows, scope="col" if r in header_rows else None)
        for r in range(n_rows)
        for c in range(n_cols)
        if (r, c) not in covered
    ]


def _head_rows(header_rows: set[int], n_rows: int) -> int:
    """How many top rows form a table head: only when every header row is in that top block
    (a table whose header rows recur further down, like table two, has no single head)."""
    count = 0
    while count in header_rows:
        count += 1
    if count == 0 or count >= n_rows or any(r >= count for r in header_rows):
        return 0
    return count
