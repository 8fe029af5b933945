"""Published-report text as a flat token stream: labels, values, blanks and annotated numbers.

Copied tables come in many shapes (tab-separated, Markdown pipes, one cell per line, a
rebuilt HTML or Word grid); `tokenize` turns each into the same tokens, with the pipe
convention of the part (`pipe_convention`) deciding what a "|" means. The table reader
(`document.read.tables`) then finds rows by their labels in this stream.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from tianbao.document.read.extract import Block, Grid, Paragraph

_NUMBER = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
# Cells that mean "nothing" in published tables (not report labels: generic filler marks).
PLACEHOLDER = re.compile(r"^(?:[/／\\]|[-—–－─]{1,2}|无|空)$")
_MARKDOWN_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_FIELD_SPLIT = re.compile(r"\t|\||｜")


def _without_unit(word: str, units: tuple[str, ...]) -> str:
    for unit in units:
        if word.endswith(unit) and _NUMBER.match(word[: -len(unit)]):
            return word[: -len(unit)]
    return word


def _is_value(word: str) -> bool:
    return bool(_NUMBER.match(word) or PLACEHOLDER.match(word))


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
        joins = PLACEHOLDER.match(word) and pending and following is not None and not _is_value(following)
        if _NUMBER.match(word) or (PLACEHOLDER.match(word) and not joins):
            if pending:
                tokens.append(Token(Kind.TEXT, " ".join(pending)))
                pending = []
            tokens.append(Token(Kind.VALUE, word, note))
        else:
            pending.append(word)
    if pending:
        tokens.append(Token(Kind.TEXT, " ".join(pending)))
    return tokens
