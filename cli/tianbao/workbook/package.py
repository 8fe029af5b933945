"""Hardened low-level .xlsx reading: sniffing, zip limits and defused XML parsing.

Returned workbooks come from outside the office, so nothing in them is trusted: the kind of
file is decided by its content, every zip member is size- and ratio-checked before it is
decompressed, and no XML with a DTD is ever parsed (so no entity expansion and no external
references): plain UTF-8 parts without one go to the stdlib's C parser, anything else to
defusedxml with forbid_dtd. Only the parts the importer needs are parsed, which is also much
faster than loading the whole workbook with openpyxl.

Longer than the ~400 lines modules aim for, on purpose: this is the one module that parses
untrusted XML (tests/test_hostile.py enforces it), so zip limits, parser choice and cell
decoding stay together where a security review reads them in one place.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from xml.etree import ElementTree
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring
from defusedxml.ElementTree import iterparse as defused_iterparse

from tianbao.cells import Cell, column_index, column_letters
from tianbao.errors import InputFileError, LimitExceeded
from tianbao.findings import text
from tianbao.workbook.limits import DEFAULT_LIMITS, Limits
from tianbao.workbook.sniff import ZIP_READ_ERRORS, declared_members

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
_M = "{" + MAIN_NS + "}"
_C = _M + "c"
_V = _M + "v"
_F = _M + "f"
_T = _M + "t"


# ---------------------------------------------------------------------------------------
# The package


@dataclass
class RawCell:
    """One <c> element as stored: value text (shared strings resolved), type and formula."""

    kind: str  # "n", "s" (any string), "b", "e", "d"
    value: str | None
    formula: str | None = None
    date_style: bool = False  # a number shown as a date (a date typed into a number cell)

    @property
    def is_empty(self) -> bool:
        return (self.value is None or self.value == "") and not self.formula


@dataclass
class SheetInfo:
    name: str
    state: str  # visible, hidden, veryHidden
    path: str | None


@dataclass
class WorkbookInfo:
    sheets: list[SheetInfo]
    defined_names: dict[str, str]
    date1904: bool = False
    external_links: int = 0


@dataclass
class SheetData:
    # Keyed by (row, col) tuples: hashing them is several times cheaper than hashing Cells,
    # and a batch import looks up hundreds of thousands of them.
    cells: dict[tuple[int, int], RawCell] = field(default_factory=dict)

    def at(self, cell: Cell) -> RawCell | None:
        return self.cells.get((cell.row, cell.col))


class XlsxPackage:
    """An .xlsx held in memory whose members are only read within `Limits`."""

    def __init__(self, data: bytes, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        if len(data) > limits.max_file_bytes:
            raise file_too_large(len(data), limits)
        members = declared_members(data)
        if members is not None and members > limits.max_members:
            raise _too_many_members(members, limits)
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            raise InputFileError(_why("corrupt")) from exc
        if len(infos) > limits.max_members:
            raise _too_many_members(len(infos), limits)
        total = sum(info.file_size for info in infos)
        if total > limits.max_total_bytes:
            raise LimitExceeded(_why("bomb"),
                                f"解压后不超过 {_mb(limits.max_total_bytes)}（max_total_bytes）", _mb(total))
        self._infos = {info.filename: info for info in infos}
        self._shared: list[str] | None = None
        self._workbook: WorkbookInfo | None = None
        self._date_styles: frozenset[str] | None = None
        self._cells_read = 0

    # -- members -------------------------------------------------------------------------
    def has(self, name: str) -> bool:
        return name in self._infos

    def read(self, name: str) -> bytes:
        """A member's bytes, refused before decompression when its size or ratio is absurd."""
        info = self._infos.get(name)
        if info is None:
            raise InputFileError(_why("part_missing", name=name))
        limits = self.limits
        if info.file_size > limits.max_member_bytes:
            raise LimitExceeded(_why("part_bomb", name=name),
                                f"每个部件不超过 {_mb(limits.max_member_bytes)}（max_member_bytes）",
                                _mb(info.file_size))
        if info.file_size > limits.ratio_floor_bytes and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise LimitExceeded(_why("part_bomb", name=name),
                                f"压缩比不超过 {limits.max_ratio}（max_ratio）",
                                str(info.file_size // max(info.compress_size, 1)))
        try:
            with self._zip.open(info) as handle:
                # The declared size can lie: never read more than it promised.
                payload = handle.read(info.file_size + 1)
        except ZIP_READ_ERRORS as exc:
            raise InputFileError(_why("part_damaged", name=name)) from exc
        if len(payload) > info.file_size:
            raise InputFileError(_why("part_size", name=name))
        return payload

    def _xml(self, name: str) -> Element:
        payload = self.read(name)
        if len(payload) > self.limits.max_tree_bytes:
            raise LimitExceeded(_why("part_huge", name=name, size=_mb(len(payload))),
                                f"不超过 {_mb(self.limits.max_tree_bytes)}（max_tree_bytes）", _mb(len(payload)))
        return parse_xml(payload, name)

    def check_xml_parts(self) -> None:
        """Every XML part read within the limits and free of DTDs (for packages another library
        parses after us, such as python-docx)."""
        for name in self._infos:
            if name.endswith((".xml", ".rels")):
                self._xml(name)

    # -- workbook parts ------------------------------------------------------------------
    def workbook(self) -> WorkbookInfo:
        if self._workbook is None:
            self._workbook = self._read_workbook()
        return self._workbook

    def _read_workbook(self) -> WorkbookInfo:
        root = self._xml("xl/workbook.xml")
        if root.tag != _M + "workbook":
            # "Strict Open XML" and other dialects use other namespaces for every element.
            raise InputFileError(_why("strict"))
        targets = self._relationships("xl/_rels/workbook.xml.rels", "xl")
        sheets = []
        for element in root.iter(_M + "sheet"):
            rel = element.get("{" + REL_NS + "}id")
            sheets.append(
                SheetInfo(
                    name=element.get("name", ""),
                    state=element.get("state", "visible"),
                    path=targets.get(rel or ""),
                )
            )
        names = {}
        for element in root.iter(_M + "definedName"):
            if element.get("localSheetId") is None:
                names[element.get("name", "")] = element.text or ""
        pr = root.find(_M + "workbookPr")
        date1904 = pr is not None and pr.get("date1904", "0").lower() in ("1", "true")
        external = len(root.findall(f"{_M}externalReferences/{_M}externalReference"))
        return WorkbookInfo(sheets, names, date1904, external)

    def _relationships(self, name: str, base: str) -> dict[str, str]:
        if not self.has(name):
            return {}
        found = {}
        for element in self._xml(name).iter("{" + PKG_REL_NS + "}Relationship"):
            target = element.get("Target", "")
            if element.get("TargetMode") == "External":
                continue
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
            found[element.get("Id", "")] = path
        return found

    def shared_strings(self) -> list[str]:
        if self._shared is None:
            self._shared = []
            if self.has("xl/sharedStrings.xml"):
                self._shared = self._read_shared_strings("xl/sharedStrings.xml")
        return self._shared

    def _read_shared_strings(self, name: str) -> list[str]:
        """Streamed: a large part of many tiny strings would take gigabytes as one tree."""
        payload = self.read(name)
        limit = self.limits.max_cells_per_sheet
        strings: list[str] = []
        try:
            for element in _elements(payload, _M + "si"):
                strings.append(_rich_text(element))
                if len(strings) > limit:
                    raise LimitExceeded(_why("strings", limit=limit),
                                        f"不超过 {limit} 个（max_cells_per_sheet）", f"超过 {limit} 个")
        except DefusedXmlException as exc:
            raise InputFileError(_why("part_unsafe", name=name)) from exc
        except (ParseError, ValueError) as exc:
            raise InputFileError(_why("part_unparsable", name=name, reason=_short(exc))) from exc
        return strings

    def date_styles(self) -> frozenset[str]:
        """The cell style indexes (the `s` attribute) whose number format shows a date."""
        if self._date_styles is None:
            found: set[str] = set()
            if self.has("xl/styles.xml"):
                root = self._xml("xl/styles.xml")
                custom = {f.get("numFmtId", ""): f.get("formatCode", "") for f in root.iter(_M + "numFmt")}
                xfs = root.find(_M + "cellXfs")
                for index, xf in enumerate(xfs if xfs is not None else []):
                    number_format = xf.get("numFmtId", "0")
                    if number_format in _DATE_FORMATS or _is_date_code(custom.get(number_format, "")):
                        found.add(str(index))
            self._date_styles = frozenset(found)
        return self._date_styles

    def saved_at(self) -> str | None:
        """When the workbook was last saved (docProps/core.xml dcterms:modified), as written."""
        if not self.has("docProps/core.xml"):
            return None
        element = self._xml("docProps/core.xml").find("{http://purl.org/dc/terms/}modified")
        return (element.text or "").strip() or None if element is not None else None

    def custom_properties(self) -> dict[str, str]:
        if not self.has("docProps/custom.xml"):
            return {}
        found = {}
        for prop in self._xml("docProps/custom.xml").iter("{" + CUSTOM_NS + "}property"):
            value = next((child.text for child in prop), None)
            found[prop.get("name", "")] = value or ""
        return found

    def sheet(self, info: SheetInfo) -> SheetData:
        """The non-empty cells of one sheet (streamed when the sheet is large)."""
        if info.path is None:
            raise InputFileError(_why("sheet_missing", sheet=info.name))
        payload = self.read(info.path)
        strings = self.shared_strings()
        dates = self.date_styles()
        limits = self.limits
        data = SheetData()
        shared_formulas: dict[str, tuple[tuple[int, int], str]] = {}
        try:
            for element in _sheet_elements(payload):
                # Styled empty cells (<c r="B1" s="3"/>) are most of a form sheet: skip early.
                ref = element.get("r")
                if ref is None or len(element) == 0:
                    continue
                position = _position(ref)
                raw = data.cells[position] = _raw_cell(element, position, strings, shared_formulas)
                if raw.kind == "n" and dates and element.get("s") in dates:
                    raw.date_style = True
                if raw.value is not None and len(raw.value) > limits.max_text_chars:
                    raise LimitExceeded(
                        _why("long_text", sheet=info.name, cell=ref, length=len(raw.value),
                             limit=limits.max_text_chars),
                        f"不超过 {limits.max_text_chars} 个字符（max_text_chars）", f"{len(raw.value)} 个字符",
                        info.name, ref)
                self._cells_read += 1
                if self._cells_read > limits.max_cells_total:
                    raise LimitExceeded(
                        _why("cells_total", limit=limits.max_cells_total),
                        f"不超过 {limits.max_cells_total} 个（max_cells_total）", f"超过 {limits.max_cells_total} 个",
                        info.name)
                if len(data.cells) > limits.max_cells_per_sheet:
                    raise LimitExceeded(
                        _why("cells_sheet", sheet=info.name, limit=limits.max_cells_per_sheet),
                        f"不超过 {limits.max_cells_per_sheet} 个（max_cells_per_sheet）",
                        f"超过 {limits.max_cells_per_sheet} 个", info.name)
        except DefusedXmlException as exc:
            raise InputFileError(_why("sheet_unsafe", sheet=info.name)) from exc
        except (ParseError, ValueError) as exc:
            raise InputFileError(_why("sheet_unparsable", sheet=info.name, reason=_short(exc))) from exc
        return data


def _why(variant: str, **params: object) -> str:
    """Why the file cannot be read: a `file.unreadable` message of the catalogue."""
    return text("file.unreadable", variant, **params)


def file_too_large(size: int, limits: Limits) -> LimitExceeded:
    return LimitExceeded(_why("too_large", size=_mb(size)),
                         f"不超过 {_mb(limits.max_file_bytes)}（max_file_bytes）", _mb(size))


def _too_many_members(count: int, limits: Limits) -> LimitExceeded:
    return LimitExceeded(_why("members", count=count),
                         f"不超过 {limits.max_members} 个（max_members）", str(count))


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


# Built-in number formats that show dates or times (ECMA-376 18.8.30, plus the CJK ones).
_DATE_FORMATS = frozenset(str(n) for n in [*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])


def _is_date_code(code: str) -> bool:
    """A custom number format showing a date: y, m, d or h outside quoted text, escapes and [colours]."""
    plain = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code.split(";")[0]).lower()
    return any(letter in plain for letter in "ymdh")


def _without_dtd(payload: bytes) -> bool:
    """True when the part is plain UTF-8 XML without any DTD.

    Such a document cannot declare entities or external references, so the stdlib's C parser
    reads it with exactly defusedxml's forbid_dtd guarantees, several times faster. In UTF-8
    a declaration can only be spelled with these ASCII bytes; everything else (other
    encodings, any <!DOCTYPE) goes through defusedxml, which refuses DTDs."""
    if payload[:2] in (b"\xff\xfe", b"\xfe\xff") or payload[:1] == b"\x00" or b"<!DOCTYPE" in payload:
        return False
    declaration = _DECLARATION.match(payload)
    encoding = _ENCODING.search(declaration.group(1)) if declaration else None
    return encoding is None or encoding.group(1).lower() in (b"utf-8", b"utf8")


_DECLARATION = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml([^>]*)\?>")
_ENCODING = re.compile(rb"encoding\s*=\s*[\"']([^\"']*)[\"']")


def parse_xml(payload: bytes, name: str) -> Element:
    try:
        if _without_dtd(payload):
            return ElementTree.fromstring(payload)
        return defused_fromstring(payload, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise InputFileError(_why("part_unsafe", name=name)) from exc
    except ParseError as exc:
        raise InputFileError(_why("part_unparsable", name=name, reason=_short(exc))) from exc


# Small sheets (every form sheet) are parsed in one C call; big ones are streamed.
_STREAM_ABOVE = 4 * 1024 * 1024


def _sheet_elements(payload: bytes) -> Iterator[Element]:
    """The <c> elements of a sheet (see `_without_dtd` for which parser)."""
    if not _without_dtd(payload):
        events = defused_iterparse(io.BytesIO(payload), events=("end",), forbid_dtd=True)
        yield from _kept(events)
    elif len(payload) > _STREAM_ABOVE:
        yield from _kept(ElementTree.iterparse(io.BytesIO(payload), events=("end",)))
    else:
        root = ElementTree.fromstring(payload)
        yield from root.iter(_C)


def _elements(payload: bytes, tag: str) -> Iterator[Element]:
    """Each complete `tag` element of a part, streamed; what was yielded is then dropped."""
    if len(payload) <= _STREAM_ABOVE and _without_dtd(payload):
        yield from ElementTree.fromstring(payload).iter(tag)
        return
    if _without_dtd(payload):
        events = ElementTree.iterparse(io.BytesIO(payload), events=("start", "end"))
    else:
        events = defused_iterparse(io.BytesIO(payload), events=("start", "end"), forbid_dtd=True)
    root = None
    for event, element in events:
        if root is None:
            root = element
        if event == "end" and element.tag == tag:
            yield element
            root.clear()


def _kept(events: Iterator[tuple[str, Element]]) -> Iterator[Element]:
    for _event, element in events:
        if element.tag == _C:
            yield element
        if element.tag in (_C, _M + "row"):
            element.clear()  # keep memory flat while streaming


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__


# ---------------------------------------------------------------------------------------
# Cells


_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def unescape(text: str) -> str:
    """OOXML writes control characters as _xHHHH_ (and a literal '_x' as _x005F_x)."""
    if "_x" not in text:
        return text
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def _rich_text(element: Element) -> str:
    """The visible text of <si>/<is>: plain <t> or the runs' <t>, never phonetic <rPh>."""
    if len(element) == 1 and element[0].tag == _T:  # the common case: one plain <t>
        return unescape(element[0].text or "")
    parts = []
    for child in element:
        if child.tag == _T:
            parts.append(child.text or "")
        elif child.tag == _M + "r":
            parts.extend(t.text or "" for t in child.iter(_T))
    return unescape("".join(parts))


@lru_cache(maxsize=65_536)  # the same few hundred addresses recur in every workbook of a batch
def _position(ref: str) -> tuple[int, int]:
    cell = Cell.parse(ref)
    return cell.row, cell.col


def _raw_cell(element: Element, position: tuple[int, int], strings: list[str],
              shared: dict[str, tuple[tuple[int, int], str]]) -> RawCell:
    kind = element.get("t", "n")
    value_el = formula_el = None
    for child in element:  # <f>, <v>, <is> in one pass
        if child.tag == _V:
            value_el = child
        elif child.tag == _F:
            formula_el = child
    value = value_el.text if value_el is not None else None
    formula = None
    if formula_el is not None:
        formula = formula_el.text or ""
        if formula_el.get("t") == "shared":
            index = formula_el.get("si", "")
            if formula:
                shared[index] = (position, formula)
            elif index in shared:
                origin, master = shared[index]
                formula = shift_formula(master, position[0] - origin[0], position[1] - origin[1])
    if kind == "s":
        try:
            value = strings[int(value or "")]
        except (ValueError, IndexError):
            value = None
        return RawCell("s", value, formula)
    if kind == "inlineStr":
        inline = element.find(_M + "is")
        return RawCell("s", _rich_text(inline) if inline is not None else "", formula)
    if kind == "str":  # a formula's text result; no <v> means no result was saved
        return RawCell("s", unescape(value) if value is not None else None, formula)
    if kind in ("b", "e", "d"):
        return RawCell(kind, value, formula)
    return RawCell("n", value, formula)


_REF = re.compile(r"(?<![A-Za-z0-9_.])(\$?)([A-Z]{1,3})(\$?)([0-9]+)(?![0-9A-Za-z_(])")


def shift_formula(formula: str, rows: int, cols: int) -> str:
    """A shared formula as seen from a cell `rows`/`cols` away from its master cell."""
    def move(match: re.Match[str]) -> str:
        col_abs, letters, row_abs, digits = match.groups()
        col = column_index(letters) + (0 if col_abs else cols)
        row = int(digits) + (0 if row_abs else rows)
        return f"{col_abs}{column_letters(col)}{row_abs}{row}"

    return _REF.sub(move, formula)

