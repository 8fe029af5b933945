"""Read a form table from the text of a published report.

Copied text loses the grid: a row's label may be spread over several fields, header words
break across lines and blank cells vanish. So the reader does not trust positions. It turns
the part's text (or rebuilt HTML/Word grid) into a flat token stream, finds every row by its
official label (fuzzy, in form order) and takes the row's numbers between its label and the
next row's label. A table whose rows carry no label in the document (table 四 has a single
unlabelled row) is read positionally: the numbers in order after the header.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import Enum

from tianbao.cells import Range, column_index
from tianbao.document.read.extract import Block, Grid
from tianbao.document.read.text import normalize, similarity
from tianbao.findings import emit
from tianbao.form import Form
from tianbao.form.spec import ColumnDef, RowDef, TableSection
from tianbao.report import Finding, Number

MATCH_THRESHOLD = 0.78
_WINDOW = 3  # a label may be broken over this many consecutive text tokens

_NUMBER = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
# Cells that mean "nothing" in published tables (not report labels: generic filler marks).
_PLACEHOLDER = re.compile(r"^(?:[/／\\]|[-—–－─]{1,2}|无|空)$")
_MARKDOWN_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_FIELD_SPLIT = re.compile(r"\t|\||｜")


def _without_unit(word: str, units: tuple[str, ...]) -> str:
    for unit in units:
        if word.endswith(unit) and _NUMBER.match(word[: -len(unit)]):
            return word[: -len(unit)]
    return word


def _is_value(word: str) -> bool:
    return bool(_NUMBER.match(word) or _PLACEHOLDER.match(word))


class Kind(Enum):
    TEXT = "text"
    VALUE = "value"
    BLANK = "blank"
    BREAK = "break"


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str = ""

    @property
    def is_value(self) -> bool:
        return self.kind in (Kind.VALUE, Kind.BLANK)


def tokenize(blocks: list[Block], units: tuple[str, ...] = ()) -> list[Token]:
    """Paragraph lines and grid rows -> TEXT / VALUE / BLANK tokens, BREAK after each line.

    A number written with one of the table's `units` ("12.5万元") counts as the number."""
    tokens: list[Token] = []
    for block in blocks:
        if isinstance(block, Grid):
            for row in block.rows:
                for cell in row:
                    if cell is not None:
                        tokens.extend(_field_tokens(cell, units))
                tokens.append(Token(Kind.BREAK))
            continue
        line = block.text
        if not _MARKDOWN_RULE.match(line) or not line.strip():
            if _FIELD_SPLIT.search(line):
                fields = _FIELD_SPLIT.split(line)
            else:
                fields = [f for f in re.split(r"[ \u3000\xa0]{2,}", line.strip()) if f]
            for text in fields:
                tokens.extend(_field_tokens(text, units))
        tokens.append(Token(Kind.BREAK))
    return tokens


def _field_tokens(text: str, units: tuple[str, ...]) -> list[Token]:
    words = [_without_unit(w, units) for w in unicodedata.normalize("NFKC", text).split()]
    if not words:
        return [Token(Kind.BLANK)]
    tokens: list[Token] = []
    pending: list[str] = []
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else None
        # "/" between words joins labels ("<group label> / <row label>"); before a number or
        # at the end of a cell it stands for an empty value.
        joins = _PLACEHOLDER.match(word) and pending and following is not None and not _is_value(following)
        if _NUMBER.match(word) or (_PLACEHOLDER.match(word) and not joins):
            if pending:
                tokens.append(Token(Kind.TEXT, " ".join(pending)))
                pending = []
            tokens.append(Token(Kind.VALUE, word))
        else:
            pending.append(word)
    if pending:
        tokens.append(Token(Kind.TEXT, " ".join(pending)))
    return tokens


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
    if not any(a.start >= 0 for a in wanted):
        labelled = any(own_label(table, row) for row in table.rows)
        if labelled or not any(t.kind is Kind.VALUE for t in tokens):
            reader.table_missing()
        else:
            reader.positional([a.row for a in wanted if a.row is not None], tokens)
        return reader.result(rows_found=0)
    for index, anchor in enumerate(found):
        if anchor.skip or anchor.row is None:
            continue
        stop = found[index + 1].start if index + 1 < len(found) else len(tokens)
        values = [t for t in tokens[anchor.end:stop] if t.is_value]
        if index + 1 == len(found):
            values = _first_run(tokens[anchor.end:stop])
        reader.row(anchor.row, values)
    for anchor in wanted:
        if anchor.start < 0 and anchor.row is not None:
            reader.missing(anchor.row)
    return reader.result(rows_found=sum(1 for a in wanted if a.start >= 0))


def _locate(anchors: list[_Anchor], tokens: list[Token]) -> None:
    """Find each anchor in order, each search starting after the previous anchor found.

    Rows of an older format (`row is None`) are looked for everywhere: they only fence off
    numbers that belong to no row of this form.
    """
    cursor = 0
    for anchor in anchors:
        span = _search(anchor.texts, tokens, 0 if anchor.row is None else cursor)
        if span is None:
            continue
        anchor.start, anchor.end = span
        if anchor.row is not None:
            cursor = anchor.end


def _search(texts: list[str], tokens: list[Token], start: int) -> tuple[int, int] | None:
    for i in range(start, len(tokens)):
        if tokens[i].kind is not Kind.TEXT:
            continue
        joined = ""
        taken = 0
        for j in range(i, len(tokens)):
            token = tokens[j]
            if token.kind is Kind.VALUE:
                break
            if token.kind is not Kind.TEXT:
                continue
            joined += normalize(token.text)
            taken += 1
            if max(similarity(text, joined) for text in texts) >= MATCH_THRESHOLD:
                return i, j + 1
            if taken == _WINDOW:
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

    def result(self, rows_found: int) -> TableResult:
        return TableResult(self.values, self.unstated, self.findings, rows_found)

    def positional(self, rows: list[RowDef], tokens: list[Token]) -> None:
        """No row label in the document: the numbers after the header, in form order."""
        start = next((i for i, t in enumerate(tokens) if t.kind is Kind.VALUE), len(tokens))
        while start > 0 and tokens[start - 1].kind is Kind.BLANK:
            start -= 1
        run = _first_run(tokens[start:])
        for row in rows:
            width = len(self.form.row_columns(self.table, row))
            self.row(row, run[:width] if row is not rows[-1] else run)
            run = run[width:]

    def row(self, row: RowDef, tokens: list[Token]) -> None:
        columns = self.form.row_columns(self.table, row)
        # Totals across the row are the cells a copy most often leaves out.
        stated = [c for c in columns if not self._row_total(row, c)]
        width = len(columns)
        tokens = list(tokens)
        while len(tokens) > width and tokens[0].kind is Kind.BLANK:
            tokens.pop(0)
        while len(tokens) > width and tokens[-1].kind is Kind.BLANK:
            tokens.pop()
        if len(tokens) > width:
            extra = len(tokens) - width
            tokens = tokens[-width:] if row.id in self.options.take_last else tokens[:width]
            if row.id not in self.options.take_last:
                self._add(row, None, "table.extra", "", str(width), str(width + extra), extra=extra)
        if len(tokens) == width:
            pairs = list(zip(columns, tokens, strict=True))
        elif len(tokens) == len(stated) and len(stated) < width:
            pairs = list(zip(stated, tokens, strict=True))
            missing = [c for c in columns if c not in stated]
            for column in missing:
                self.unstated.add((row.id, column.id))
            self._add(row, missing[0], "table.total_missing", "", str(width), str(len(stated)),
                      missing="、".join(c.label for c in missing), where=self._where(row))
        else:
            self._add(row, None, "table.count", "", str(width), str(len(tokens)))
            return
        for column, token in pairs:
            self._cell(row, column, token)

    def _row_total(self, row: RowDef, column: ColumnDef) -> bool:
        cell = self.form.computed_cells.get((self.table.id, row.id, column.id))
        return cell is not None and all(term_row == row.id for term_row, _ in cell.terms)

    def table_missing(self) -> None:
        self.findings.append(emit("table.missing", sheet=self.table.sheet, title=self.table.title))

    def missing(self, row: RowDef) -> None:
        self._add(row, None, "table.row_missing", "", row.label, None)

    def unmapped(self, row_id: str, reason: str) -> None:
        row = next(r for r in self.table.rows if r.id == row_id)
        self._add(row, None, "legacy.unmapped", "", None, None, reason=reason)

    def _cell(self, row: RowDef, column: ColumnDef, token: Token) -> None:
        computed = self.form.is_computed(self.table.id, row.id, column.id)
        if token.kind is Kind.BLANK or _PLACEHOLDER.match(token.text):
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
