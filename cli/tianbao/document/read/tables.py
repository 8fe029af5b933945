"""Read a form table from the text of a published report.

Copied text loses the grid: a row's label may be spread over several fields, header words
break across lines and blank cells vanish. So the reader does not trust positions. It turns
the part's text (or rebuilt HTML/Word grid) into a flat token stream, finds every row by its
official label (fuzzy, in form order) and takes the row's numbers between its label and the
next row's label. A table whose rows carry no label in the document (table 四 has a single
unlabelled row) is read positionally: the numbers in order after the header.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from tianbao.cells import Range, column_index
from tianbao.document.read.extract import Block
from tianbao.document.read.text import normalize, similarity
from tianbao.document.read.tokens import PLACEHOLDER, Kind, Token, tokenize
from tianbao.findings import emit
from tianbao.form import Form
from tianbao.form.spec import ColumnDef, RowDef, TableSection
from tianbao.report import Finding, Number

MATCH_THRESHOLD = 0.78
_WINDOW = 3  # a label may be broken over this many consecutive text tokens

# ---------------------------------------------------------------------------------------
# How the form names its rows


def own_label(table: TableSection, row: RowDef) -> str | None:
    """The grid text of the row's own label cell: the rightmost label cell starting on the
    row, left of the value columns (None when the grid prints no label beside the row)."""
    first_value_col = min(column_index(c.col) for c in table.columns)
    own = []
    for label in table.labels:
        rng = Range.parse(label.range)
        if rng.first.row == row.row - 1 and rng.last.col < first_value_col:
            own.append((rng.first.col, label.text))
    return max(own)[1] if own else None


def row_anchors(table: TableSection, row: RowDef) -> list[str]:
    """The texts that identify a row in a document: its own grid label and its message
    label, which joins the group label and the item label."""
    own = own_label(table, row)
    return [own, row.label] if own and own != row.label else [row.label]


@dataclass
class TableOptions:
    """Adjustments for reading an older format into this form (see legacy.py)."""

    anchors: dict[str, list[str]] = field(default_factory=dict)  # row id -> extra anchor texts
    take_last: set[str] = field(default_factory=set)  # rows whose wanted numbers end the row
    stop_labels: list[str] = field(default_factory=list)  # rows of the old format to skip
    unmapped: dict[str, str] = field(default_factory=dict)  # row id -> why it cannot be read


@dataclass
class TableResult:
    values: dict[str, dict[str, Number]]
    unstated: set[tuple[str, str]]  # computed cells the document left blank
    findings: list[Finding]
    rows_found: int
    # The reader missed rows or numbers, or had to guess: a total that differs may be its own miss.
    unsure: bool = False
    unsure_rows: set[str] = field(default_factory=set)  # rows whose cells could not be placed


@dataclass
class _Anchor:
    row: RowDef | None  # None: a row of an older format that this form does not have
    texts: list[str]
    skip: bool = False  # found only to fence off numbers that are not read
    start: int = -1
    end: int = -1


def read_table(
    form: Form, table: TableSection, blocks: list[Block], options: TableOptions | None = None
) -> TableResult:
    options = options or TableOptions()
    units = tuple(sorted({unicodedata.normalize("NFKC", c.unit) for c in table.columns if c.unit}, key=len))
    tokens = tokenize(blocks, units[::-1])
    anchors = [
        _Anchor(row, [normalize(t) for t in [*row_anchors(table, row), *options.anchors.get(row.id, [])]],
                skip=row.id in options.unmapped)
        for row in table.rows
    ]
    anchors += [_Anchor(None, [normalize(text)], skip=True) for text in options.stop_labels]
    _locate(anchors, tokens)
    found = sorted((a for a in anchors if a.start >= 0), key=lambda a: a.start)
    reader = _RowReader(form, table, options)
    for row_id, reason in options.unmapped.items():
        reader.unmapped(row_id, reason)
    wanted = [a for a in anchors if not a.skip]
    rows = [a.row for a in wanted if a.row is not None]
    if not any(a.start >= 0 for a in wanted):
        labelled = any(own_label(table, row) for row in table.rows)
        if not labelled and any(t.kind is Kind.VALUE for t in tokens):
            reader.positional(rows, tokens)
        elif not reader.pair_in_order(rows, tokens, "表中找不到各行的名称"):
            reader.table_missing()
        return reader.result(rows_found=0)
    taken: dict[str, list[Token]] = {}
    for index, anchor in enumerate(found):
        if anchor.skip or anchor.row is None:
            continue
        stop = found[index + 1].start if index + 1 < len(found) else len(tokens)
        values = [t for t in tokens[anchor.end:stop] if t.is_value]
        if index + 1 == len(found):
            values = _first_run(tokens[anchor.end:stop])
        taken[anchor.row.id] = values
    misfits = [r for r in rows if r.id in taken and not reader.fits(r, taken[r.id])]
    if misfits and all(a.start >= 0 for a in wanted):
        # Labels printed apart from their numbers (a PDF's label column): the value lines in
        # the order the labels are printed.
        printed = [a.row for a in found if a.row is not None and not a.skip]
        if reader.pair_in_order(printed, tokens, "行名称与数字分开印刷"):
            return reader.result(rows_found=len(printed))
    for row in rows:
        if row.id in taken:
            reader.row(row, taken[row.id])
        else:
            reader.missing(row)
    return reader.result(rows_found=sum(1 for a in wanted if a.start >= 0))


def _locate(anchors: list[_Anchor], tokens: list[Token]) -> None:
    """Find each anchor in order, each search starting after the previous anchor found; then
    look for the rows not found anywhere else in the part (reports print rows out of order).

    Rows of an older format (`row is None`) are looked for everywhere: they only fence off
    numbers that belong to no row of this form.
    """
    cursor = 0
    taken: set[int] = set()
    for anchor in anchors:
        span = _search(anchor.texts, tokens, 0 if anchor.row is None else cursor, taken)
        if span is None:
            continue
        anchor.start, anchor.end = span
        taken.update(range(*span))
        if anchor.row is not None:
            cursor = anchor.end
    for anchor in anchors:
        if anchor.start < 0 and anchor.row is not None:
            span = _search(anchor.texts, tokens, 0, taken)
            if span is not None:
                anchor.start, anchor.end = span
                taken.update(range(*span))


def _search(texts: list[str], tokens: list[Token], start: int, taken: set[int]) -> tuple[int, int] | None:
    for i in range(start, len(tokens)):
        if tokens[i].kind is not Kind.TEXT or i in taken:
            continue
        joined = ""
        taken_here = 0
        for j in range(i, len(tokens)):
            token = tokens[j]
            if token.kind is Kind.VALUE or j in taken:
                break
            if token.kind is not Kind.TEXT:
                continue
            joined += normalize(token.text)
            taken_here += 1
            if max(similarity(text, joined) for text in texts) >= MATCH_THRESHOLD:
                return i, j + 1
            if taken_here == _WINDOW:
                break
    return None


def _first_run(tokens: list[Token]) -> list[Token]:
    """The numbers right after the last row label: stop at the first text after them, so a
    note below the table is not read as part of the row."""
    run: list[Token] = []
    for token in tokens:
        if token.kind is Kind.TEXT and any(t.kind is Kind.VALUE for t in run):
            break
        if token.is_value:
            run.append(token)
    return run


def value_lines(tokens: list[Token]) -> list[list[Token]]:
    """The lines that hold numbers and no words, in order."""
    lines: list[list[Token]] = []
    line: list[Token] = []
    for token in [*tokens, Token(Kind.BREAK)]:
        if token.kind is not Kind.BREAK:
            line.append(token)
            continue
        if any(t.kind is Kind.VALUE for t in line) and not any(t.kind is Kind.TEXT for t in line):
            lines.append(line)
        line = []
    return lines


# ---------------------------------------------------------------------------------------
# Numbers of one row -> cells


class _RowReader:
    def __init__(self, form: Form, table: TableSection, options: TableOptions) -> None:
        self.form = form
        self.table = table
        self.options = options
        self.values: dict[str, dict[str, Number]] = {
            row.id: {c.id: _zero(c) for c in form.row_columns(table, row)} for row in table.rows
        }
        self.unstated: set[tuple[str, str]] = set()
        self.findings: list[Finding] = []
        self.unsure = False
        self.unsure_rows: set[str] = set()

    def result(self, rows_found: int) -> TableResult:
        return TableResult(self.values, self.unstated, self.findings, rows_found, self.unsure, self.unsure_rows)

    def fits(self, row: RowDef, tokens: list[Token]) -> bool:
        """Whether `tokens` can be this row's numbers: one per column, or all but the row total."""
        columns = self.form.row_columns(self.table, row)
        count = len(_trim(tokens, len(columns)))
        return count == len(columns) or count == len([c for c in columns if not self._row_total(row, c)])

    def positional(self, rows: list[RowDef], tokens: list[Token]) -> None:
        """No row label in the document: the numbers after the header, in form order. A table
        printed as several sub-tables (each with its own header) gives one value line each."""
        start = next((i for i, t in enumerate(tokens) if t.kind is Kind.VALUE), len(tokens))
        while start > 0 and tokens[start - 1].kind is Kind.BLANK:
            start -= 1
        run = _first_run(tokens[start:])
        width = sum(len(self.form.row_columns(self.table, row)) for row in rows)
        if len(run) < width:
            joined: list[Token] = []
            for line in value_lines(tokens):
                joined += line
                if len(joined) >= width:
                    break
            if len(joined) == width:
                run = joined
        for row in rows:
            width = len(self.form.row_columns(self.table, row))
            self.row(row, run[:width] if row is not rows[-1] else run)
            run = run[width:]

    def pair_in_order(self, rows: list[RowDef], tokens: list[Token], why: str) -> bool:
        """Labels missing or apart from their numbers: when the part has exactly one value line
        per row and each fits its row, pair them in order and say so."""
        lines = value_lines(tokens)
        if not rows or len(lines) != len(rows) or not all(self.fits(r, v) for r, v in zip(rows, lines, strict=True)):
            return False
        self.unsure = True
        self.findings.append(emit("table.paired", sheet=self.table.sheet, expected=str(len(rows)),
                                  found=str(len(lines)), title=self.table.title, why=why, count=len(rows),
                                  first=rows[0].label, last=rows[-1].label))
        for row, line in zip(rows, lines, strict=True):
            self.row(row, line)
        return True

    def row(self, row: RowDef, tokens: list[Token]) -> None:
        columns = self.form.row_columns(self.table, row)
        # Totals across the row are the cells a copy most often leaves out.
        stated = [c for c in columns if not self._row_total(row, c)]
        width = len(columns)
        tokens = _trim(tokens, width)
        if len(tokens) > width:
            extra = len(tokens) - width
            tokens = tokens[-width:] if row.id in self.options.take_last else tokens[:width]
            if row.id not in self.options.take_last:
                self.unsure = True
                self._add(row, None, "table.extra", "", str(width), str(width + extra), extra=extra)
        if len(tokens) == width:
            pairs = list(zip(columns, tokens, strict=True))
        elif len(tokens) == len(stated) and len(stated) < width:
            if self._lost_blank(row, columns, stated, tokens):
                return
            pairs = list(zip(stated, tokens, strict=True))
            missing = [c for c in columns if c not in stated]
            for column in missing:
                self.unstated.add((row.id, column.id))
            self._add(row, missing[0], "table.total_missing", "", str(width), str(len(stated)),
                      missing="、".join(c.label for c in missing), where=self._where(row))
        else:
            self.unsure = True
            self._add(row, None, "table.count", "", str(width), str(len(tokens)))
            return
        for column, token in pairs:
            self._cell(row, column, token)

    def _lost_blank(self, row: RowDef, columns: list[ColumnDef], stated: list[ColumnDef],
                    tokens: list[Token]) -> bool:
        """One number fewer than the columns, and the last one is the sum of the others: the
        row total is printed and a blank cell was lost in copying. Which column it was cannot
        be known, so the row is not shifted: its total is kept and it is flagged."""
        numbers = [_number(t.text, c) for t, c in zip(tokens, columns, strict=False)]
        if len(tokens) < 3 or any(t.kind is not Kind.VALUE or n is None for t, n in zip(tokens, numbers, strict=True)):
            return False
        *cells, last = numbers
        if last != sum(cells):  # type: ignore[arg-type]
            return False
        if last == 0:
            return True  # every cell is 0 whichever was lost
        total = next(c for c in columns if c not in stated)
        self.values[row.id][total.id] = last  # type: ignore[assignment]
        self.unsure = True
        self.unsure_rows.add(row.id)
        shown = " ".join(t.text for t in tokens)
        self._add(row, None, "table.short_row", "", str(len(columns)), shown, count=len(tokens), total=total.label)
        return True

    def _row_total(self, row: RowDef, column: ColumnDef) -> bool:
        cell = self.form.computed_cells.get((self.table.id, row.id, column.id))
        return cell is not None and all(term_row == row.id for term_row, _ in cell.terms)

    def table_missing(self) -> None:
        self.unsure = True
        self.findings.append(emit("table.missing", sheet=self.table.sheet, title=self.table.title))

    def missing(self, row: RowDef) -> None:
        self.unsure = True
        self._add(row, None, "table.row_missing", "", row.label, None)

    def unmapped(self, row_id: str, reason: str) -> None:
        row = next(r for r in self.table.rows if r.id == row_id)
        self._add(row, None, "legacy.unmapped", "", None, None, reason=reason)

    def _cell(self, row: RowDef, column: ColumnDef, token: Token) -> None:
        computed = self.form.is_computed(self.table.id, row.id, column.id)
        if token.kind is Kind.BLANK or PLACEHOLDER.match(token.text):
            shown = "空白" if token.kind is Kind.BLANK else f"“{token.text}”"
            if computed:
                self.unstated.add((row.id, column.id))
            variant = "document_total" if computed else "document"
            self._add(row, column, "value.blank", variant, "0", token.text or None, shown=shown)
            return
        number = _number(token.text, column)
        if number is None:
            what = "不小于 0 的数字" if column.type == "decimal" else "不小于 0 的整数"
            self._add(row, column, "value.number", "", what, token.text)
            return
        self.values[row.id][column.id] = number
        if token.note:
            self._add(row, column, "table.note", "", token.text, f"{token.text}（{token.note}）")

    def _where(self, row: RowDef, column: ColumnDef | None = None) -> str:
        name = self.table.title
        if column is None or len(self.form.row_columns(self.table, row)) == 1:
            return f"{name}「{row.label}」一行"
        return f"{name}「{row.label}」行「{column.label}」列"

    def _add(self, row: RowDef, column: ColumnDef | None, check: str, variant: str, expected: str | None,
             found: str | None, **params: object) -> None:
        """A catalogue finding on the row (or one cell of it), located by `where`."""
        columns = [column] if column else self.form.row_columns(self.table, row)
        cells = [self.form.table_cell(self.table, row.id, c.id).a1 for c in columns]
        params.setdefault("where", self._where(row, column))
        self.findings.append(emit(check, variant, sheet=self.table.sheet, cell=",".join(cells), expected=expected,
                                  found=found, **params))


def _trim(tokens: list[Token], width: int) -> list[Token]:
    """Blank cells at either end beyond the row's width are the edges of the copied grid."""
    tokens = list(tokens)
    while len(tokens) > width and tokens[0].kind is Kind.BLANK:
        tokens.pop(0)
    while len(tokens) > width and tokens[-1].kind is Kind.BLANK:
        tokens.pop()
    return tokens


def _zero(column: ColumnDef) -> Number:
    return Decimal(0) if column.type == "decimal" else 0


def _number(text: str, column: ColumnDef) -> Number | None:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    if value < 0:
        return None
    if column.type == "decimal":
        return value
    return int(value) if value == value.to_integral_value() else None
