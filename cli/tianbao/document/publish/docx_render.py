"""DOCX: a Word document laid out as a 公文 (GB/T 9704): A4, official margins and fonts.

Title in 方正小标宋简体, 一级标题 in 黑体 and 二级标题 in 楷体_GB2312 (both indented two
characters), body in 仿宋_GB2312 at 三号 (16pt); Word, WPS and LibreOffice substitute the
declared alternative font (w:altName) where one is missing. Tables keep the official merged
layout; landscape tables of the definition get a landscape section. Column widths are set so
that no header word breaks inside (breaks only where the form's `print_breaks` allow one).
Every piece of report text is written as a text run, never as a field or markup. The
document is marked zh-CN and carries real metadata (title, the unit as author, now).
"""

from __future__ import annotations

import io
from datetime import datetime

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
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph as DocxParagraph
from docx.text.run import Run
from lxml import etree

from tianbao.document.publish.document import Document, Heading, Paragraph, TableBlock
from tianbao.document.publish.grid import Grid

TITLE_FONT = "方正小标宋简体"
HEADING_FONT = "黑体"
SUBHEADING_FONT = "楷体_GB2312"
BODY_FONT = "仿宋_GB2312"
LATIN_FONT = "Times New Roman"
PAGE_NUMBER_FONT = "宋体"
# Declared substitutes (fontTable w:altName) for fonts many machines lack.
ALT_FONTS = {TITLE_FONT: "宋体", BODY_FONT: "仿宋", HEADING_FONT: "SimHei", SUBHEADING_FONT: "楷体"}
LANGUAGE = "zh-CN"

TITLE_SIZE = Pt(22)  # 二号
BODY_SIZE = Pt(16)  # 三号
TABLE_SIZE = Pt(10.5)  # 五号
PAGE_NUMBER_SIZE = Pt(14)  # 四号
LINE_PITCH = Pt(28)  # 22 lines on the 公文 type area

A4_WIDTH, A4_HEIGHT = Mm(210), Mm(297)
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT = Mm(37), Mm(35), Mm(28), Mm(26)
# Inner cell margins (twentieths of a point): a little air between a cell's text and its borders.
CELL_PADDING_SIDE, CELL_PADDING_TOP = 85, 28
# A header line needs its characters (each as wide as the font size), both paddings and a
# little slack for rounding in Word, WPS and LibreOffice.
HEADER_SLACK = Pt(3)


def render_docx(doc: Document, *, author: str = "") -> bytes:
    word = new_docx()
    _metadata(word, doc.title, author)
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
            _heading(word, block.text, level=block.level)
        elif isinstance(block, Paragraph):
            _body(word, block.text)
        elif isinstance(block, TableBlock):
            _heading(word, block.grid.title, level=1)
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


def _metadata(word: DocxDocument, title: str, author: str) -> None:
    """Real document properties instead of python-docx's template ones (2013, "python-docx")."""
    now = datetime.now().astimezone().replace(microsecond=0, tzinfo=None)
    props = word.core_properties
    props.title, props.author, props.last_modified_by = title, author, author
    props.created, props.modified = now, now
    props.comments, props.subject, props.keywords, props.category = "", "", "", ""
    props.language, props.revision = LANGUAGE, 1


def _normal_style(word: DocxDocument) -> None:
    style = word.styles["Normal"]
    style.font.name = LATIN_FONT
    style.font.size = BODY_SIZE
    properties = style.element.get_or_add_rPr()
    properties.get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    language = properties.find(qn("w:lang"))
    if language is None:
        language = parse_xml(f'<w:lang {nsdecls("w")}/>')
        properties.append(language)
    for attribute in ("w:val", "w:eastAsia"):
        language.set(qn(attribute), LANGUAGE)
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


def _heading(word: DocxDocument, text: str, *, level: int) -> None:
    """一级标题 (一、…) in 黑体, 二级标题 (（一）…) in 楷体_GB2312; both indented two characters."""
    paragraph = word.add_paragraph()
    paragraph.paragraph_format.keep_with_next = True
    paragraph.paragraph_format.first_line_indent = BODY_SIZE * 2
    font = HEADING_FONT if level == 1 else SUBHEADING_FONT
    _run(paragraph, text, font, BODY_SIZE, latin=font)


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
    _cell_padding(table)
    text_width = (A4_HEIGHT if landscape else A4_WIDTH) - MARGIN_LEFT - MARGIN_RIGHT
    widths = column_widths(grid, text_width)
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
            font = HEADING_FONT if column_head else BODY_FONT
            for index, line in enumerate(spec.printed_lines):
                run = _run(paragraph, line, font, TABLE_SIZE)
                if index < len(spec.printed_lines) - 1:
                    run.add_break()
    word.add_paragraph()  # Word needs a paragraph between a table and what follows


def column_widths(grid: Grid, text_width: int) -> list[int]:
    """Widths (EMU) filling `text_width` in the definition's proportions, except that no column
    is narrower than its longest column-header line: header words never break inside. A table
    whose headers cannot all fit keeps plain proportions (the form then needs `print_breaks`)."""
    padding = Pt(2 * CELL_PADDING_SIDE / 20)
    least = [0] * grid.n_cols
    for cell in grid.cells:
        if cell.scope == "col" and cell.text:
            longest = max(len(line) for line in cell.printed_lines)
            least[cell.col] = max(least[cell.col], int(TABLE_SIZE * longest + padding + HEADER_SLACK))
    widths = [int(text_width * w / sum(grid.widths)) for w in grid.widths]
    if sum(least) > text_width:
        return widths
    free = list(range(grid.n_cols))
    while free:  # give fixed minimums to columns that need them, share the rest by proportion
        room = text_width - sum(least[c] for c in range(grid.n_cols) if c not in free)
        share = sum(grid.widths[c] for c in free)
        widths = [int(room * grid.widths[c] / share) if c in free else least[c] for c in range(grid.n_cols)]
        short = [c for c in free if widths[c] < least[c]]
        if not short:
            break
        free = [c for c in free if c not in short]
    return widths


def _cell_padding(table: DocxTable) -> None:
    margins = "".join(
        f'<w:{side} w:w="{CELL_PADDING_SIDE if side in ("left", "right") else CELL_PADDING_TOP}" w:type="dxa"/>'
        for side in ("top", "left", "bottom", "right"))
    table._tbl.tblPr.append(parse_xml(f'<w:tblCellMar {nsdecls("w")}>{margins}</w:tblCellMar>'))
