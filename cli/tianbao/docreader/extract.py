"""Text extraction: bytes of a published report -> a flat list of blocks.

Every format ends up as the same two kinds of block, in document order: a paragraph (one
line of text) and a grid (a table rebuilt on its layout grid, merged cells kept once at
their top-left position). Later stages never look at the file format again.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser

from tianbao.docreader.text import clean_line


class ExtractError(Exception):
    """The file cannot be read as a document; the message is for the user."""


@dataclass
class Paragraph:
    text: str


@dataclass
class Grid:
    """A table; `rows[r][c]` is the cell text at its top-left grid position, None under a span."""

    rows: list[list[str | None]] = field(default_factory=list)


Block = Paragraph | Grid

_ENCODINGS = ("utf-8-sig", "gb18030")
_MARKUP = re.compile(r"<\s*(?:!doctype\s+html|html|head|body|table|tr|td|p|div|meta|span|br)\b", re.IGNORECASE)


def decode_text(data: bytes) -> str | None:
    """UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030 text; None for binary data."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if b"\x00" in data:
        return None
    for encoding in _ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
        return None if controls > len(text) // 100 else text
    return None


def sniff_document(data: bytes) -> str | None:
    """"docx", "html" or "txt" judged by content (never by file name); None otherwise."""
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return "docx" if "word/document.xml" in archive.namelist() else None
        except zipfile.BadZipFile:
            return None
    text = decode_text(data)
    if text is None or not text.strip():
        return None
    return "html" if _MARKUP.search(text[:4096]) else "txt"


def extract_blocks(data: bytes, kind: str) -> list[Block]:
    if kind == "docx":
        return _docx_blocks(data)
    text = decode_text(data)
    if text is None:
        raise ExtractError("文件不是可识别的文本编码（UTF-8 或 GB18030）")
    return _html_blocks(text) if kind == "html" else _text_blocks(text)


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_MD_ESCAPE = re.compile(r"\\([\\`*_\[\]<>#])")


def _text_blocks(text: str) -> list[Block]:
    """Plain text and Markdown: one paragraph per line, Markdown heading marks and escapes
    removed (an escaped pipe stays inside its cell as a broken bar)."""
    blocks: list[Block] = []
    for line in text.split("\n"):
        line = _MD_HEADING.sub("", line.rstrip("\r"))
        blocks.append(Paragraph(_MD_ESCAPE.sub(r"\1", line.replace("\\|", "¦"))))
    return blocks


# ---------------------------------------------------------------------------------------
# HTML


_BLOCK_TAGS = {
    "p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "section", "article", "header",
    "footer", "title", "blockquote", "pre", "hr", "ul", "ol", "dd", "dt",
}
_SKIPPED = {"script", "style", "head", "noscript", "template"}


@dataclass
class _Cell:
    text: list[str] = field(default_factory=list)
    rowspan: int = 1
    colspan: int = 1


class _HtmlBlocks(HTMLParser):
    """Paragraphs from block elements; tables rebuilt from rowspan/colspan."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self._line: list[str] = []
        self._skip = 0
        self._tables: list[list[list[_Cell]]] = []  # nested tables: the innermost is read as text
        self._cell: _Cell | None = None
        self._row: list[_Cell] | None = None
        self._caption: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skip += 1
        elif tag == "table":
            self._flush()
            self._tables.append([])
        elif tag == "tr" and self._tables:
            self._row = []
            self._tables[-1].append(self._row)
        elif tag == "caption" and self._tables:
            self._caption = []
        elif tag in ("td", "th") and self._tables:
            if self._row is None:
                self._row = []
                self._tables[-1].append(self._row)
            values = dict(attrs)
            self._cell = _Cell(rowspan=_span(values.get("rowspan")), colspan=_span(values.get("colspan")))
            self._row.append(self._cell)
        elif tag in _BLOCK_TAGS:
            self._newline()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip = max(0, self._skip - 1)
        elif tag == "table" and self._tables:
            rows = self._tables.pop()
            self._cell = None
            self._row = None
            if not self._tables:
                self.blocks.append(_grid(rows))
            elif self._tables[-1] and self._tables[-1][-1]:
                # A table inside a cell is layout, not data: its text joins the outer cell.
                self._row = self._tables[-1][-1]
                self._cell = self._row[-1]
                self._cell.text.append(" ".join("".join(c.text) for r in rows for c in r))
        elif tag == "caption" and self._caption is not None:
            # A table's caption is its title (the part heading of a table part).
            self.blocks.append(Paragraph(re.sub(r"\s+", " ", "".join(self._caption)).strip()))
            self._caption = None
        elif tag in ("td", "th"):
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag in _BLOCK_TAGS:
            self._newline()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._caption is not None:
            self._caption.append(data)
        elif self._cell is not None:
            self._cell.text.append(data)
        elif not self._tables:
            self._line.append(data)

    def _newline(self) -> None:
        if self._cell is not None:
            self._cell.text.append(" ")
        else:
            self._flush()

    def _flush(self) -> None:
        text = re.sub(r"[ \t\r\n]+", " ", "".join(self._line))
        if text.strip():
            self.blocks.append(Paragraph(text))
        self._line = []

    def close(self) -> None:
        super().close()
        while self._tables:
            rows = self._tables.pop()
            if not self._tables:
                self.blocks.append(_grid(rows))
        self._flush()


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 100))
    except ValueError:
        return 1


def _grid(rows: list[list[_Cell]]) -> Grid:
    """Place cells on the layout grid, skipping positions taken by earlier rowspans."""
    taken: set[tuple[int, int]] = set()
    placed: dict[tuple[int, int], str] = {}
    width = 0
    for r, row in enumerate(rows):
        c = 0
        for cell in row:
            while (r, c) in taken:
                c += 1
            text = re.sub(r"\s+", " ", "".join(cell.text)).strip()
            placed[(r, c)] = text
            for dr in range(cell.rowspan):
                for dc in range(cell.colspan):
                    taken.add((r + dr, c + dc))
            c += cell.colspan
            width = max(width, c)
    height = max([r + 1 for r, _ in taken], default=0)
    return Grid([[placed.get((r, c)) for c in range(width)] for r in range(height)])


def _html_blocks(text: str) -> list[Block]:
    parser = _HtmlBlocks()
    parser.feed(text)
    parser.close()
    return parser.blocks


# ---------------------------------------------------------------------------------------
# DOCX


def _docx_blocks(data: bytes) -> list[Block]:
    import docx  # python-docx is only needed for this format
    from docx.table import Table
    from docx.text.paragraph import Paragraph as DocxParagraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many types for a damaged package
        raise ExtractError(f"Word 文件已损坏或不是 .docx 格式（{type(exc).__name__}）") from exc
    blocks: list[Block] = []
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            for line in DocxParagraph(child, document).text.split("\n"):
                blocks.append(Paragraph(line))
        elif tag == "tbl":
            blocks.append(_docx_grid(Table(child, document)))
    return blocks


def _docx_grid(table: object) -> Grid:
    """Merged cells come back once per grid position: keep each cell's first position only."""
    seen: dict[int, object] = {}  # id -> element, kept alive so ids stay unique
    rows: list[list[str | None]] = []
    for row in table.rows:  # type: ignore[attr-defined]
        cells: list[str | None] = [None] * row.grid_cols_before
        for cell in row.cells:
            key = id(cell._tc)
            if key in seen:
                cells.append(None)
                continue
            seen[key] = cell._tc
            cells.append(" ".join(clean_line(p.text) for p in cell.paragraphs).strip())
        rows.append(cells)
    return Grid(rows)
