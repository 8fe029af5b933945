"""Text extraction: bytes of a published report -> a flat list of blocks.

Every format ends up as the same two kinds of block, in document order: a paragraph (one
line of text) and a grid (a table rebuilt on its layout grid, merged cells kept once at
their top-left position). Later stages never look at the file format again.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser

from tianbao.document.read.text import clean_line
from tianbao.errors import InputFileError
from tianbao.findings import text


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
    """"docx", "pdf", "html" or "txt" judged by content (never by file name); None otherwise."""
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return "pdf"
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
    if kind == "pdf":
        return _text_blocks(pdf_text(data))
    text = decode_text(data)
    if text is None:
        raise InputFileError(text("document.unreadable", "encoding"))
    return _html_blocks(text) if kind == "html" else _text_blocks(text)


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_MD_ESCAPE = re.compile(r"\\([\\`*_\[\]<>#])")


# Page numbers printed above or below the text ("— 5 —", "- 5 -", "第 5 页", "第5页 共9页", "5/9"):
# a copy of a paged document carries them into the middle of a table.
_PAGE_MARK = re.compile(
    r"^\s*(?:[—–\-－─]+\s*\d{1,3}\s*[—–\-－─]+|第\s*\d{1,3}\s*页(?:\s*[,，/]?\s*共\s*\d{1,3}\s*页)?"
    r"|\d{1,3}\s*/\s*\d{1,3}|Page\s*\d{1,3}|P\.\s*\d{1,3})\s*$"
)


def is_page_mark(line: str) -> bool:
    return bool(_PAGE_MARK.match(line.replace("\f", "")))


def _text_blocks(text: str) -> list[Block]:
    """Plain text and Markdown: one paragraph per line, Markdown heading marks and escapes
    removed (an escaped pipe stays inside its cell as a broken bar), page numbers dropped."""
    blocks: list[Block] = []
    for line in text.replace("\f", "\n").split("\n"):
        line = _MD_HEADING.sub("", line.rstrip("\r"))
        if is_page_mark(line):
            continue
        blocks.append(Paragraph(_MD_ESCAPE.sub(r"\1", line.replace("\\|", "¦"))))
    return blocks


# ---------------------------------------------------------------------------------------
# PDF
#
# Only the text layer is read, kept in its printed layout (cells apart by runs of spaces),
# which the table reader handles like a copied page. Poppler's `pdftotext -layout` keeps
# page breaks and table rows better than pypdf's layout mode (see benchmarks/bench_docreader.py),
# so it is used when installed; pypdf (the optional extra tianbao[pdf]) otherwise.

_PDF_TIMEOUT = 120
_SENTENCE_END = "。；;：:！!？?）)」”"


def pdf_text(data: bytes) -> str:
    pdftotext = shutil.which("pdftotext")
    layer = _poppler_text(pdftotext, data) if pdftotext is not None else _pypdf_text(data)
    if not re.search(r"[\u4e00-\u9fff]", layer):
        raise InputFileError(text("document.unreadable", "pdf_scanned"))
    return reflow(layer)


def _poppler_text(program: str, data: bytes) -> str:
    with tempfile.TemporaryDirectory(prefix="tianbao-pdf-") as folder:
        source = f"{folder}/in.pdf"
        with open(source, "wb") as handle:
            handle.write(data)
        try:
            done = subprocess.run([program, "-layout", "-enc", "UTF-8", source, "-"], capture_output=True,
                                  timeout=_PDF_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InputFileError(text("document.unreadable", "pdf_failed", kind=type(exc).__name__)) from exc
    if done.returncode != 0:
        raise InputFileError(text("document.unreadable", "pdf_refused"))
    return done.stdout.decode("utf-8", errors="replace")


def _pypdf_text(data: bytes) -> str:
    try:
        import pypdf
    except ImportError:
        raise InputFileError(text("document.unreadable", "pdf_support")) from None
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputFileError(text("document.unreadable", "pdf_password"))
        # One page at a time: pypdf glues the last line of a page to the first of the next.
        return "\n\f".join(page.extract_text(extraction_mode="layout") for page in reader.pages)
    except InputFileError:
        raise
    except Exception as exc:  # pypdf raises many types for a damaged file
        raise InputFileError(text("document.unreadable", "pdf_damaged", kind=type(exc).__name__)) from exc


_GAP = re.compile(r"\S\s{2,}\S")
_NUMBERED = re.compile(r"^(?:[(（][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+、|\d{1,2}[.．、])")
_DATE = re.compile(r"^(?:\d{4}|[〇零○一二三四五六七八九]{4})\s*年\s*[\d一二三四五六七八九十]{1,3}\s*月")


def reflow(text: str) -> str:
    """Join the lines a PDF broke inside a sentence: a line of running text (no column gaps)
    that does not end a sentence continues on the next line of running text."""
    lines = [line for line in text.replace("\f", "\n").split("\n") if not is_page_mark(line)]
    out: list[str] = []
    for line in lines:
        stripped = line.strip()
        previous = out[-1].strip() if out else ""
        running = bool(stripped and previous) and not _GAP.search(stripped)
        # A line in columns is a table row; only its lone tail ("元。") continues it.
        running = running and (not _GAP.search(previous) or (len(stripped) <= 3 and stripped[-1] in "。；;"))
        if (running and previous[-1] not in _SENTENCE_END and not _NUMBERED.match(previous)
                and not _NUMBERED.match(stripped) and not _DATE.match(stripped)):
            out[-1] = out[-1].rstrip() + stripped
        else:
            out.append(line)
    return "\n".join(out)


# ---------------------------------------------------------------------------------------
# HTML
#
# Pages are parsed into a small element tree first, because government sites often lay out
# the whole article inside a table: a table that holds another table is layout, and only a
# table without tables inside is data.


_BLOCK_TAGS = {
    "p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "section", "article", "header",
    "footer", "blockquote", "pre", "hr", "ul", "ol", "dd", "dt", "tr", "td", "th", "caption", "table",
}
_SKIPPED = {"script", "style", "head", "title", "noscript", "template"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr", "source", "param"}
# Opening one of these closes an open element of the same group (HTML's implied end tags).
_CLOSED_BY = {"td": {"td", "th"}, "th": {"td", "th"}, "tr": {"tr"}, "p": {"p"}, "li": {"li"}}


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str | None] = field(default_factory=dict)
    children: list[_Node | str] = field(default_factory=list)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("root")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        closes = _CLOSED_BY.get(tag, set())
        for index in range(len(self.stack) - 1, 0, -1):
            open_tag = self.stack[index].tag
            if open_tag == "table":
                break
            if open_tag in closes:
                del self.stack[index:]
                break
        node = _Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(_Node(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def _has_table(node: _Node) -> bool:
    return any(isinstance(c, _Node) and (c.tag == "table" or _has_table(c)) for c in node.children)


def _text(node: _Node) -> str:
    parts: list[str] = []
    for child in node.children:
        if isinstance(child, str):
            parts.append(child)
        elif child.tag not in _SKIPPED:
            parts.append(" " if child.tag in _BLOCK_TAGS else "")
            parts.append(_text(child))
    return "".join(parts)


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.line: list[str] = []

    def flush(self) -> None:
        text = re.sub(r"[ \t\r\n]+", " ", "".join(self.line))
        if text.strip():
            self.blocks.append(Paragraph(text))
        self.line = []

    def walk(self, node: _Node) -> None:
        for child in node.children:
            if isinstance(child, str):
                self.line.append(child)
                continue
            if child.tag in _SKIPPED:
                continue
            if child.tag == "table" and not _has_table(child):
                self.flush()
                self.data_table(child)
                continue
            block = child.tag in _BLOCK_TAGS
            if block:
                self.flush()
            self.walk(child)
            if block:
                self.flush()

    def data_table(self, table: _Node) -> None:
        rows: list[list[_Node]] = []

        def collect(node: _Node) -> None:
            for child in node.children:
                if not isinstance(child, _Node):
                    continue
                if child.tag == "caption":
                    # A table's caption is its title (the heading of a table part).
                    self.line.append(_text(child))
                    self.flush()
                elif child.tag == "tr":
                    rows.append([c for c in child.children if isinstance(c, _Node) and c.tag in ("td", "th")])
                else:
                    collect(child)

        collect(table)
        self.blocks.append(_grid(rows))


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 100))
    except ValueError:
        return 1


def _grid(rows: list[list[_Node]]) -> Grid:
    """Place cells on the layout grid, skipping positions taken by earlier rowspans."""
    taken: set[tuple[int, int]] = set()
    placed: dict[tuple[int, int], str] = {}
    width = 0
    for r, row in enumerate(rows):
        c = 0
        for cell in row:
            while (r, c) in taken:
                c += 1
            placed[(r, c)] = re.sub(r"\s+", " ", _text(cell)).strip()
            rowspan, colspan = _span(cell.attrs.get("rowspan")), _span(cell.attrs.get("colspan"))
            for dr in range(rowspan):
                for dc in range(colspan):
                    taken.add((r + dr, c + dc))
            c += colspan
            width = max(width, c)
    height = max([r + 1 for r, _ in taken], default=0)
    return Grid([[placed.get((r, c)) for c in range(width)] for r in range(height)])


def _html_blocks(text: str) -> list[Block]:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    walker = _Walker()
    walker.walk(builder.root)
    walker.flush()
    return walker.blocks


# ---------------------------------------------------------------------------------------
# DOCX


def _docx_blocks(data: bytes) -> list[Block]:
    import docx  # python-docx is only needed for this format
    from docx.table import Table
    from docx.text.paragraph import Paragraph as DocxParagraph

    from tianbao.workbook.package import XlsxPackage

    try:  # python-docx inflates every part: zip limits and a DTD-free check of its XML first
        XlsxPackage(data).check_xml_parts()
    except InputFileError as exc:
        raise InputFileError(text("document.unreadable", "docx_unsafe", reason=exc)) from exc
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many types for a damaged package
        raise InputFileError(text("document.unreadable", "docx_damaged", kind=type(exc).__name__)) from exc
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
