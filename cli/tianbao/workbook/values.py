"""Input cell values: the raw text a clerk typed -> typed values, each problem a finding.

Numbers typed as text, with full-width digits, thousands separators or spaces are read and
noted (value.normalised); dates typed into number cells, fractions, negatives and absurd
magnitudes are refused at their cell, and their raw text is kept so that `tianbao annotate`
can show it again.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation, localcontext

from tianbao.findings import NORMALISATIONS, emit
from tianbao.form.query import Form, InputCell
from tianbao.report import FieldValue, Finding
from tianbao.workbook.layout import MAX_AMOUNT, MAX_COUNT
from tianbao.workbook.package import RawCell, SheetData

_FULL_WIDTH = str.maketrans("０１２３４５６７８９．，－＋", "0123456789.,-+")
# ASCII digits only ([0-9], never \d): a Chinese keyboard types ASCII or full-width digits, and
# Decimal() would silently read Arabic-Indic or other scripts' digits.
_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")
_EXPONENT = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)[eE][+-]?[0-9]+$")
# How a spreadsheet stores a number (<v>): exponents allowed, nothing but ASCII.
_STORED_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")
_THOUSANDS = re.compile(r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$")
SPACES = " \t\r\n\u3000\u00a0"
_DATE_TEXT = re.compile(r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?$")


def clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _changes(keys: list[str]) -> str:
    return "，".join(NORMALISATIONS[key] for key in keys)


class InputValues:
    """Parses every input cell; collects findings and the raw text of rejected values."""

    def __init__(self, form: Form, sheets: dict[str, SheetData], strict: bool, date1904: bool) -> None:
        self.strict = strict
        self.epoch = date(1904, 1, 1) if date1904 else date(1899, 12, 30)
        self.findings: list[Finding] = []
        self.rejected: dict[tuple[str, str], str] = {}
        self.values: dict[tuple[str, tuple[str, ...]], FieldValue] = {}
        for cell in form.input_cells:
            data = sheets.get(cell.sheet)
            if data is None:
                continue
            self.values[(cell.section, cell.key)] = self._read(cell, data.at(cell.cell))

    def get(self, section: str, key: tuple[str, ...]) -> FieldValue:
        return self.values.get((section, key))

    def _add(self, cell: InputCell, check: str, variant: str, found: str | None, expected: str | None = None,
             typed: str | None = None, **params: object) -> None:
        """A catalogue finding at the cell; for an error, `typed` (default `found`) is what the clerk typed."""
        finding = emit(check, variant, sheet=cell.sheet, cell=cell.a1, expected=expected, found=found,
                       label=cell.label, **params)
        self.findings.append(finding)
        if finding.is_error and check not in ("value.blank", "value.required"):
            self.rejected[(cell.sheet, cell.a1)] = typed if typed is not None else found or ""

    def _read(self, cell: InputCell, raw: RawCell | None) -> FieldValue:
        if raw is not None and raw.formula:
            formula = "=" + raw.formula.removeprefix("=")
            if "[" in formula or re.search(r"\w+:/|\\\\", formula):
                self._add(cell, "value.external", "", formula, "数值")
                return None
            if raw.value is None:
                # Written by a script (<f> without <v>): only a spreadsheet program computes it.
                self._add(cell, "value.formula_without_value", "", formula, _expected(cell))
                return None
            self._add(cell, "value.formula", "", formula)
        if raw is None or raw.value is None or raw.value.strip(SPACES) == "":
            return self._blank(cell)
        if raw.kind in ("b", "e"):
            shown = {"0": "FALSE", "1": "TRUE"}.get(raw.value, raw.value) if raw.kind == "b" else raw.value
            self._add(cell, "value.text", "invalid", shown, _expected(cell), shown=shown)
            return None
        if cell.type in ("int", "decimal", "year"):
            return self._number(cell, raw)
        if cell.type == "date":
            return self._date(cell, raw)
        return self._text(cell, raw)

    def _blank(self, cell: InputCell) -> FieldValue:
        if cell.type in ("int", "decimal"):
            if cell.required or self.strict:
                self._add(cell, "value.blank", "required", "（空）", "0")
                return None
            self._add(cell, "value.blank", "", "（空）", "0")
            return Decimal(0).quantize(Decimal(1).scaleb(-cell.places)) if cell.type == "decimal" else 0
        if cell.required:
            self._add(cell, "value.required", "", "（空）", _expected(cell))
        return None

    def _number(self, cell: InputCell, raw: RawCell) -> FieldValue:
        text = raw.value or ""
        changes: list[str] = []
        if raw.kind == "s":
            parsed = _normalise_number_text(text, changes)
            if parsed is None:
                self._add(cell, *_not_a_number(text), text, _expected(cell), shown=clip(text))
                return None
            number = parsed
        else:
            try:
                if not _STORED_NUMBER.match(text.strip()):
                    raise InvalidOperation
                number = Decimal(text)
            except InvalidOperation:
                self._add(cell, "value.text", "not_number", text, _expected(cell), shown=clip(text))
                return None
        if not number.is_finite():  # NaN, Infinity: Decimal parses them, comparisons would raise
            self._add(cell, "value.text", "not_number", text, _expected(cell), shown=clip(text))
            return None
        if raw.date_style and cell.type in ("int", "decimal"):
            # Excel turns "3/1" or "2025-3-1" typed into a number cell into a date serial number.
            day = self._serial_date(number)
            shown = day.isoformat() if day else text
            self._add(cell, "value.date_in_number", "", shown, _expected(cell))
            return None
        if number < 0:
            self._add(cell, "value.negative", "", text, _expected(cell), shown=text.strip(SPACES))
            return None
        if cell.type == "decimal":
            return self._decimal(cell, number, text, changes)
        if number != number.to_integral_value():
            self._add(cell, "value.fraction", "", text, _expected(cell), shown=text.strip(SPACES))
            return None
        # Range checks on the Decimal, before int(): int(Decimal("1e999999999")) runs for minutes.
        if cell.type == "year":
            if not 2000 <= number <= 2100:
                self._add(cell, "value.year", "", text, "四位年份")
                return None
        elif number > MAX_COUNT:
            self._add(cell, "value.magnitude", "count", text, f"不超过 {MAX_COUNT}", shown=clip(text))
            return None
        value = int(number)
        if raw.kind == "n" and str(value) != text:
            changes.append("zeros")
        if changes:
            self._add(cell, "value.normalised", "number", text, str(value), changes=_changes(changes))
        return value

    def _decimal(self, cell: InputCell, number: Decimal, text: str, changes: list[str]) -> FieldValue:
        places = cell.places
        if _places(number) > places:
            # A binary double written with 17 digits (4068.2080000000002): Excel keeps 15.
            with localcontext() as context:
                context.prec = 15
                rounded = +number
            if _places(rounded) > places:
                self._add(cell, "value.places", "", text, f"最多 {places} 位小数", shown=text.strip(SPACES),
                          places=places)
                return None
            number = rounded
        if number > MAX_AMOUNT:
            self._add(cell, "value.magnitude", "amount", text, f"不超过 {MAX_AMOUNT}", shown=text)
            return None
        value = number.quantize(Decimal(1).scaleb(-places))
        if changes:
            self._add(cell, "value.normalised", "number", text, str(value), changes=_changes(changes))
        return value

    def _serial_date(self, serial: Decimal) -> date | None:
        """The day a spreadsheet date serial number stands for (None when out of range)."""
        try:
            return self.epoch + timedelta(days=int(serial)) if serial.is_finite() and serial.adjusted() < 7 else None
        except OverflowError:
            return None

    def _date(self, cell: InputCell, raw: RawCell) -> FieldValue:
        text = (raw.value or "").strip(SPACES)
        if raw.kind == "n":
            try:
                day = self._serial_date(Decimal(text))
            except InvalidOperation:
                day = None
            if day is not None and 2000 <= day.year <= 2100:
                return day.isoformat()
        elif raw.kind == "d":
            try:
                return datetime.fromisoformat(text).date().isoformat()
            except ValueError:
                pass
        else:
            match = _DATE_TEXT.match(text.translate(_FULL_WIDTH))
            if match:
                try:
                    day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
                except ValueError:
                    day = None
                if day is not None:
                    if day.isoformat() != text:
                        self._add(cell, "value.normalised", "date", text, day.isoformat())
                    return day.isoformat()
        self._add(cell, "value.date", "", text, "日期", shown=clip(text))
        return None

    def _text(self, cell: InputCell, raw: RawCell) -> FieldValue:
        text = raw.value or ""
        if raw.kind == "n":
            # A phone number typed as a number: show it as typed, not as 1.38E+10.
            try:
                number = Decimal(text)
                if number.is_finite() and number.adjusted() < 30:  # int() of a huge exponent never ends
                    text = str(int(number)) if number == number.to_integral_value() else str(number)
            except InvalidOperation:
                pass
        if cell.type == "choice":
            value = text.strip(SPACES)
            if value not in cell.choices:
                allowed = "、".join(cell.choices)
                self._add(cell, "value.choice", "", text, allowed, shown=clip(value))
                return None
            return value
        if cell.max_length and len(text) > cell.max_length:
            self._add(cell, "value.too_long", "", f"{len(text)} 字", f"不超过 {cell.max_length} 字", typed=text,
                      length=len(text), limit=cell.max_length)
            return None
        return text


def _expected(cell: InputCell) -> str:
    return {
        "int": "不小于 0 的整数",
        "decimal": f"不小于 0 的数，最多 {cell.places} 位小数",
        "year": "四位年份",
        "date": "日期",
        "choice": "、".join(cell.choices),
    }.get(cell.type, "文字")


def _places(number: Decimal) -> int:
    # Not via normalize(): it applies the context and overflows on 1e999999999.
    _sign, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int) or not any(digits):
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing))


def _not_a_number(text: str) -> tuple[str, str]:
    """(check, variant) for number text that `_normalise_number_text` refused."""
    plain = text.strip(SPACES).translate(_FULL_WIDTH)
    if any(char.isdecimal() and not char.isascii() for char in plain):
        return "value.digits", ""
    if _EXPONENT.match(plain):
        return "value.text", "exponent"
    if re.search(r"[0-9]", plain):
        return "value.text", "with_words"
    return "value.text", "words"


def _normalise_number_text(text: str, changes: list[str]) -> Decimal | None:
    """A number typed as text, with what had to change noted; None when it is no number."""
    value = text
    if value != value.strip(SPACES):
        value = value.strip(SPACES)
        changes.append("spaces")
    converted = value.translate(_FULL_WIDTH)
    if converted != value:
        value = converted
        changes.append("full_width")
    if _THOUSANDS.match(value):
        value = value.replace(",", "")
        changes.append("thousands")
    if not _NUMBER.match(value):
        return None
    number = Decimal(value)
    if number == number.to_integral_value() and "." in value:
        changes.append("zeros")
    return number
