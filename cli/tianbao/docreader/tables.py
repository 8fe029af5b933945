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
from tianbao.docreader.extract import Block, Grid, Paragraph
from tianbao.docreader.text import normalize, similarity
from tianbao.formdef import ColumnDef, Form, RowDef, TableSection
from tianbao.model import Finding, Number

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
    note: str = ""  # the words printed in brackets after a number: "22（其中修订 16 件）"

    @property
    def is_value(self) -> bool:
        return self.kind in (Kind.VALUE, Kind.BLANK)


class Pipes(Enum):
    """How a copied table uses "|" (decided per table from its lines)."""

    NONE = "none"
    INLINE = "inline"  # "| label | 5 | 12 |": a row per line, outer pipes are no cells
    CELL_PER_LINE = "cell_per_line"  # "5 |" on each line; a lone "|" is a blank cell
    SEPARATOR = "separator"  # values on their own lines with lone "|" lines between them


_PIPE = "|｜"
_ONLY_PIPES = re.compile(r"^\s*[|｜](?:\s*[|｜])*\s*$")
_ONE_CELL = re.compile(r"^\s*[^|｜\s][^|｜]*[|｜]\s*$")


def pipe_convention(lines: list[str]) -> Pipes:
    """The evidence: lines holding one cell and ending in "|" (one cell per line), lone "|"
    lines beside unpiped values (separators), or several cells on a line (inline)."""
    one_cell = lone = inline = unpiped = 0
    for line in lines:
        if not line.strip() or _MARKDOWN_RULE.match(line):
            continue
        if _ONLY_PIPES.match(line):
            lone += line.count("|") + line.count("｜") == 1
        elif _ONE_CELL.match(line):
            one_cell += 1
        elif any(ch in line for ch in _PIPE):
            inline += 1
        else:
            unpiped += 1
    if one_cell == inline == lone == 0:
        return Pipes.NONE
    if one_cell > inline:
        return Pipes.CELL_PER_LINE
    if lone and unpiped > inline:
        return Pipes.SEPARATOR
    return Pipes.INLINE


def tokenize(blocks: list[Block], units: tuple[str, ...] = ()) -> list[Token]:
    """Paragraph lines and grid rows -> TEXT / VALUE / BLANK tokens, BREAK after each line.

    A number written with one of the table's `units` ("12.5万元") counts as the number."""
    tokens: list[Token] = []
    pipes = pipe_convention([b.text for b in blocks if isinstance(b, Paragraph)])
    for block in blocks:
        if isinstance(block, Grid):
            for row in block.rows:
                for cell in row:
                    if cell is not None:
                        tokens.extend(_field_tokens(cell, units))
                tokens.append(Token(Kind.BREAK))
            continue
        for text in _fields(block.text, pipes):
            tokens.extend(_field_tokens(text, units))
        tokens.append(Token(Kind.BREAK))
    return tokens


def _fields(line: str, pipes: Pipes) -> list[str]:
    """The cells of one line under the table's pipe convention ([] for a line that holds none)."""
    if not line.strip() or _MARKDOWN_RULE.match(line):
        return []
    if pipes is not Pipes.NONE and _ONLY_PIPES.match(line):
        single = line.count("|") + line.count("｜") == 1
        # A lone pipe closes an empty cell; runs of pipes pad rows with merged cells.
        return [""] if single and pipes is Pipes.CELL_PER_LINE else []
    if _FIELD_SPLIT.search(line):
        fields = _FIELD_SPLIT.split(line.strip())
        if pipes is not Pipes.NONE and fields and not fields[-1].strip():
            fields.pop()  # the pipe that ends a row or a cell is no cell of its own
        while pipes is Pipes.INLINE and fields and not fields[-1].strip():
            fields.pop()  # "||" after the last cell pads a row beside merged cells
        if pipes is not Pipes.NONE and fields and not fields[0].strip() and line.strip()[0] in _PIPE:
            fields.pop(0)  # markdown's outer pipe
        return fields
    return [f for f in re.split(r"[ \u3000\xa0]{2,}", line.strip()) if f]


_ANNOTATED = re.compile(r"(?<![\d.])(\d[\d,]*(?:\.\d+)?)\s*[(（]([^()（）\d][^()（）]{0,40})[)）]")
_QUOTES = "“”\"'‘’"


def _field_tokens(text: str, units: tuple[str, ...]) -> list[Token]:
    text = unicodedata.normalize("NFKC", text)
    notes: list[str] = []

    def mark(match: re.Match[str]) -> str:
        # "22（其中修订 16 件）": the number is the cell, the bracketed words only a note.
        notes.append(match.group(2).strip())
        return f" {match.group(1)}\x00{len(notes) - 1} "

    text = _ANNOTATED.sub(mark, text)
    words: list[tuple[str, str]] = []
    for raw in text.split():
        word, _, note = raw.partition("\x00")
        bare = word.strip(_QUOTES)
        words.append((_without_unit(bare if _NUMBER.match(bare) else word, units), notes[int(note)] if note else ""))
    if not words:
        return [Token(Kind.BLANK)]
    tokens: list[Token] = []
    pending: list[str] = []
    for index, (word, note) in enumerate(words):
        following = words[index + 1][0] if index + 1 < len(words) else None
        # "/" between words joins labels ("<group label> / <row label>"); before a number or
        # at the end of a cell it stands for an empty value.
        joins = _PLACEHOLDER.match(word) and pending and following is not None and not _is_value(following)
        if _NUMBER.match(word) or (_PLACEHOLDER.match(word) and not joins):
            if pending:
                tokens.append(Token(Kind.TEXT, " ".join(pending)))
                pending = []
            tokens.append(Token(Kind.VALUE, word, note))
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
        self.findings.append(Finding(
            rule="table.paired", severity="warning", sheet=self.table.sheet,
            message=f"“{self.table.title}”{why}，已假定 {len(rows)} 行数字依次是“{rows[0].label}”至“{rows[-1].label}”"
                    "各行的数字（每行一行数字，按顺序对应）。请核对原文。",
            expected=str(len(rows)), found=str(len(lines))))
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
                self._add(row, None, "warning", "table.extra",
                          f"{self._where(row)}多出 {extra} 个数字，只取了前 {width} 个，请核对这一行。",
                          str(width), str(width + extra))
        if len(tokens) == width:
            pairs = list(zip(columns, tokens, strict=True))
        elif len(tokens) == len(stated) and len(stated) < width:
            if self._lost_blank(row, columns, stated, tokens):
                return
            pairs = list(zip(stated, tokens, strict=True))
            missing = [c for c in columns if c not in stated]
            for column in missing:
                self.unstated.add((row.id, column.id))
            self._add(row, missing[0], "warning", "table.total_missing",
                      f"{self._where(row)}只有 {len(stated)} 个数字，没有“{'、'.join(c.label for c in missing)}”，"
                      "已按各项之和计算。", str(width), str(len(stated)))
        else:
            self.unsure = True
            self._add(row, None, "error", "table.count",
                      f"{self._where(row)}应有 {width} 个数字，文档中只找到 {len(tokens)} 个，"
                      "无法确定各列的数字，这一行已按 0 处理。这可能是读取问题，请核对原文。",
                      str(width), str(len(tokens)))
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
        self._add(row, None, "error", "table.short_row",
                  f"{self._where(row)}只有 {len(tokens)} 个数字（{shown}），比应有的少一个；最后一个数字等于其余之和，"
                  f"应是“{total.label}”，原文中可能有一个空白单元格在复制时丢失，无法确定其余数字各属哪一列。"
                  f"这一行只保留了“{total.label}”，其余按 0 处理。这可能是读取问题，请核对原文。",
                  str(len(columns)), shown)
        return True

    def _row_total(self, row: RowDef, column: ColumnDef) -> bool:
        cell = self.form.computed_cells.get((self.table.id, row.id, column.id))
        return cell is not None and all(term_row == row.id for term_row, _ in cell.terms)

    def table_missing(self) -> None:
        self.unsure = True
        self.findings.append(Finding(
            rule="table.missing", severity="error", sheet=self.table.sheet,
            message=f"文档中找不到“{self.table.title}”这张表的数字（表格可能是图片，或行名称与格式相差太多），"
                    "这张表已按 0 处理。"))

    def missing(self, row: RowDef) -> None:
        self.unsure = True
        self._add(row, None, "error", "table.row_missing",
                  f"{self._where(row)}在文档中找不到，已按 0 处理。请核对文档中这一行的名称。", row.label, None)

    def unmapped(self, row_id: str, reason: str) -> None:
        row = next(r for r in self.table.rows if r.id == row_id)
        self._add(row, None, "warning", "legacy.unmapped", f"{self._where(row)}{reason}", None, None)

    def _cell(self, row: RowDef, column: ColumnDef, token: Token) -> None:
        computed = self.form.is_computed(self.table.id, row.id, column.id)
        if token.kind is Kind.BLANK or _PLACEHOLDER.match(token.text):
            shown = "空白" if token.kind is Kind.BLANK else f"“{token.text}”"
            if computed:
                self.unstated.add((row.id, column.id))
                text = f"{self._where(row, column)}为{shown}，已按各项之和计算。"
            else:
                text = f"{self._where(row, column)}为{shown}，已按 0 处理。"
            self._add(row, column, "warning", "value.blank", text, "0", token.text or None)
            return
        number = _number(token.text, column)
        if number is None:
            what = "不小于 0 的数字" if column.type == "decimal" else "不小于 0 的整数"
            self._add(row, column, "error", "value.number",
                      f"{self._where(row, column)}的“{token.text}”不是{what}，已按 0 处理。", what, token.text)
            return
        self.values[row.id][column.id] = number
        if token.note:
            self._add(row, column, "warning", "table.note",
                      f"{self._where(row, column)}写作“{token.text}（{token.note}）”，已按 {token.text} 读取，"
                      "括号中的说明没有计入。", token.text, f"{token.text}（{token.note}）")

    def _where(self, row: RowDef, column: ColumnDef | None = None) -> str:
        name = self.table.title
        if column is None or len(self.form.row_columns(self.table, row)) == 1:
            return f"{name}「{row.label}」一行"
        return f"{name}「{row.label}」行「{column.label}」列"

    def _add(self, row: RowDef, column: ColumnDef | None, severity: str, rule: str, message: str,
             expected: str | None, found: str | None) -> None:
        columns = [column] if column else self.form.row_columns(self.table, row)
        cells = [self.form.table_cell(self.table, row.id, c.id).a1 for c in columns]
        self.findings.append(
            Finding(rule=rule, severity=severity, message=message, sheet=self.table.sheet,  # type: ignore[arg-type]
                    cell=",".join(cells), expected=expected, found=found)
        )


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
