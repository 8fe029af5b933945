"""A1 cell-address arithmetic shared by every stage."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_CELL = re.compile(r"^([A-Z]{1,3})([1-9][0-9]{0,6})$")


def column_index(letters: str) -> int:
    """'A' -> 0, 'Z' -> 25, 'AA' -> 26."""
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - 64)
    return index - 1


def column_letters(index: int) -> str:
    """0 -> 'A', 26 -> 'AA'."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True, order=True)
class Cell:
    """A zero-based (row, col) position."""

    row: int
    col: int

    @classmethod
    def parse(cls, a1: str) -> Cell:
        return _parse_cell(a1)

    @property
    def a1(self) -> str:
        return _a1(self.row, self.col)

    @property
    def absolute(self) -> str:
        return f"${column_letters(self.col)}${self.row + 1}"

    def shifted(self, origin: Cell) -> Cell:
        return Cell(self.row + origin.row, self.col + origin.col)


@dataclass(frozen=True)
class Range:
    """An inclusive rectangle of cells; a single cell is a 1x1 range."""

    first: Cell
    last: Cell

    @classmethod
    def parse(cls, text: str) -> Range:
        return _parse_range(text)

    @classmethod
    def _parse(cls, text: str) -> Range:
        parts = text.split(":")
        if len(parts) == 1:
            cell = Cell.parse(parts[0])
            return cls(cell, cell)
        if len(parts) != 2:
            raise ValueError(f"not an A1 range: {text!r}")
        first, last = Cell.parse(parts[0]), Cell.parse(parts[1])
        if last.row < first.row or last.col < first.col:
            raise ValueError(f"range runs backwards: {text!r}")
        return cls(first, last)

    @property
    def is_single(self) -> bool:
        return self.first == self.last

    @property
    def a1(self) -> str:
        return self.first.a1 if self.is_single else f"{self.first.a1}:{self.last.a1}"

    @property
    def rowspan(self) -> int:
        return self.last.row - self.first.row + 1

    @property
    def colspan(self) -> int:
        return self.last.col - self.first.col + 1

    def cells(self) -> list[Cell]:
        return [
            Cell(row, col)
            for row in range(self.first.row, self.last.row + 1)
            for col in range(self.first.col, self.last.col + 1)
        ]

    def shifted(self, origin: Cell) -> Range:
        return Range(self.first.shifted(origin), self.last.shifted(origin))


def quote_sheet(sheet: str) -> str:
    """Sheet name as it must appear in a formula reference."""
    return "'" + sheet.replace("'", "''") + "'"


# Addresses repeat across every workbook written and read: parse each text once. Bounded:
# a hostile workbook can name millions of distinct addresses, and batch workers live long.
_CACHED = 1 << 16


@lru_cache(maxsize=_CACHED)
def _parse_cell(a1: str) -> Cell:
    match = _CELL.match(a1.strip().upper().replace("$", ""))
    if not match:
        raise ValueError(f"not an A1 cell address: {a1!r}")
    return Cell(int(match.group(2)) - 1, column_index(match.group(1)))


@lru_cache(maxsize=_CACHED)
def _parse_range(text: str) -> Range:
    return Range._parse(text)


@lru_cache(maxsize=_CACHED)
def _a1(row: int, col: int) -> str:
    return f"{column_letters(col)}{row + 1}"
