"""DOCX: a Word document laid out as a 公文 (GB/T 9704): A4, official margins and fonts.

Title in 方正小标宋简体, headings in 黑体, body in 仿宋_GB2312 at 三号 (16pt); Word, WPS
and LibreOffice substitute the declared alternative font (w:altName) where one is missing.
Tables keep the official merged layout; landscape tables of the definition get a landscape
section. Every piece of report text is written as a text run, never as a field or markup.
"""

from __future__ import annotations

import io

from docx import Document as new_docx
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.section import Section
from docx.shared import Mm, Pt
from docx.text.paragraph import Paragraph as DocxParagraph
from docx.text.run import Run
from lxml import etree

from tianbao.document.publish.document import Document, Heading, Paragraph, TableBlock
from tianbao.document.publish.grid import Grid

TITLE_FONT = "方正小标宋简体"
HEADING_FONT = "黑体"
BODY_FONT = "仿宋_GB2312"
LATIN_FONT = "Times New Roman"
PAGE_NUMBER_FONT = "宋体"
# Declared substitutes (fontTable w:altName) for fonts many machines lack.
ALT_FONTS = {TITLE_FONT: "宋体", BODY_FONT: "仿宋", HEADING_FONT: "SimHei"}

TITLE_SIZE = Pt(22)  # 二号
BODY_SIZE = Pt(16)  # 三号
TABLE_SIZE = Pt(10.5)  # 五号
PAGE_NUMBER_SIZE = Pt(14)  # 四号
LINE_PITCH = Pt(28)  # 22 lines on the 公文 type area

A4_WIDTH, A4_HEIGHT = Mm(210), Mm(297)
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT = Mm(37), Mm(35), Mm(28), Mm(26)


def render_docx(doc: Document, *, author: str = "") -> bytes:
    word = new_docx()
    word.core_properties.title = doc.title
    word.core_properties.author = author
    _declare_fonts(word)
    _normal_style(word)
    section = word.sections[0]
    _page(section, landscape=False)
    _page_number(section)

    title = word.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(16)
    _run(title, doc.title, TITLE_FONT, TITLE_SIZE, latin=TITLE_FONT)

    landscape = False
    for block in doc.blocks:
        wants_landscape = isinstance(block, TableBlock) and block.grid.landscape
        if wants_landscape != landscape:
            _page(word.add_section(WD_SECTION.NEW_PAGE), landscape=wants_landscape)
            landscape = wants_landscape
        if isinstance(block, Heading):
            _heading(word, block.text, indent=block.level > 1)
        elif isinstance(block, Paragraph):
            _body(word, block.text)
        elif isinstance(block, TableBlock):
            _heading(word, block.grid.title, indent=False)
            _table(word, block.grid, landscape)

    closing = [word.add_paragraph() for _ in doc.signature]
    closing[0].paragraph_format.space_before = Pt(32)
    for paragraph, line in zip(closing, doc.signature, strict=True):
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        paragraph.paragraph_format.right_indent = Pt(32)
        _run(paragraph, line, BODY_FONT, BODY_SIZE)
    if doc.trace:
        trace = word.add_paragraph()
        trace.paragraph_format.space_before = Pt(24)
        trace.paragraph_format.line_spacing = 1.0
        _run(trace, doc.trace, BODY_FONT, Pt(9))
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()


def _run(paragraph: DocxParagraph, text: str, font: str, size: Pt, *, latin: str = LATIN_FONT) -> Run:
    run = paragraph.add_run(text)
    run.font.size = size
    run.font.name = latin  # w:ascii and w:hAnsi: digits and Latin letters
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)  # Chinese text
    return run


def _normal_style(word: DocxDocument) -> None:
    style = word.styles["Normal"]
    style.font.name = LATIN_FONT
    style.font.size = BODY_SIZE
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    style.paragraph_format.space_after = Pt(0)
    style.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    style.paragraph_format.line_spacing = LINE_PITCH


def _declare_fonts(word: DocxDocument) -> None:
    """Add fontTable entries with w:altName so a missing 公文 font falls back sensibly."""
    part = next(rel.target_part for rel in word.part.rels.values() if rel.reltype == RT.FONT_TABLE)
    table = parse_xml(part.blob)
    for name, alternative in ALT_FONTS.items():
        font = parse_xml(
            f'<w:font {nsdecls("w")} w:name="{name}"><w:altName w:val="{alternative}"/>'
            '<w:charset w:val="86"/><w:family w:val="auto"/><w:pitch w:val="variable"/></w:font>'
        )
        table.append(font)
    # The default template's font table is a plain (blob) part without an XML setter.
    part._blob = etree.tostring(table, xml_declaration=True, encoding="UTF-8", standalone=True)


def _page(section: Section, *, landscape: bool) -> None:
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (A4_HEIGHT, A4_WIDTH) if landscape else (A4_WIDTH, A4_HEIGHT)
    section.top_margin, section.bottom_margin = MARGIN_TOP, MARGIN_BOTTOM
    section.left_margin, section.right_margin = MARGIN_LEFT, MARGIN_RIGHT


def _page_number(section: Section) -> None:
    """A centred "— 7 —" page number (a PAGE field) in the footer; later sections inherit it."""
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(paragraph, "— ", PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE)
    field_run = _run(paragraph, "", PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE)
    for xml in (
        f'<w:fldChar {nsdecls("w")} w:fldCharType="begin"/>',
        f'<w:instrText {nsdecls("w")} xml:space="preserve"> PAGE </w:instrText>',
        f'<w:fldChar {nsdecls("w")} w:fldCharType="separate"/>',
        f'<w:t {nsdecls("w")}>1</w:t>',
        f'<w:fldChar {nsdecls("w")} w:fldCharType="end"/>',
    ):
        field_run._element.append(parse_xml(xml))
    _run(paragraph, " —", PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE)


def _heading(word: DocxDocument, text: str, *, indent: bool) -> None:
    paragraph = word.add_paragraph()
    paragraph.paragraph_format.keep_with_next = True
    paragraph.paragraph_format.first_line_indent = BODY_SIZE * 2 if indent else None
    _run(paragraph, text, HEADING_FONT, BODY_SIZE, latin=HEADING_FONT)


def _body(word: DocxDocument, text: str) -> None:
    paragraph = word.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    paragraph.paragraph_format.first_line_indent = BODY_SIZE * 2
    _run(paragraph, text, BODY_FONT, BODY_SIZE)


def _table(word: DocxDocument, grid: Grid, landscape: bool) -> None:
    table = word.add_table(rows=grid.n_rows, cols=grid.n_cols)
    table.style = word.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    text_width = (A4_HEIGHT if landscape else A4_WIDTH) - MARGIN_LEFT - MARGIN_RIGHT
    total = sum(grid.widths)
    widths = [int(text_width * w / total) for w in grid.widths]
    # Fetched once before merging (table.cell() rescans the whole table on every call); merges
    # never overlap, so each range's corner cells are still in the table when it is merged.
    matrix = [row.cells for row in table.rows]
    for index, column in enumerate(table.columns):
        column.width = widths[index]
        for row_cells in matrix:
            row_cells[index].width = widths[index]
    for row in table.rows[: grid.head_rows]:
        # Repeat the head on every page the table runs over.
        row._tr.get_or_add_trPr().append(parse_xml(f'<w:tblHeader {nsdecls("w")}/>'))
    for spec in grid.cells:
        cell = matrix[spec.row][spec.col]
        if spec.rowspan > 1 or spec.colspan > 1:
            cell = cell.merge(matrix[spec.last_row][spec.last_col])
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        paragraph = cell.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT if spec.scope == "row" else WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        if spec.text:
            column_head = spec.header and spec.scope in ("col", "colgroup")
            _run(paragraph, spec.text, HEADING_FONT if column_head else BODY_FONT, TABLE_SIZE)
    word.add_paragraph()  # Word needs a paragraph between a table and what follows
