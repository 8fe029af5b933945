"""`tianbao annotate`: the workbook sent back to a department for correction.

A fresh workbook with the department's values (what the clerk typed, even where it was
refused), every finding as a cell comment, and a first sheet listing the findings with
links. The department's own file is only read, through the same limited pool as an import.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from tianbao.cells import Cell, quote_sheet
from tianbao.errors import UserError
from tianbao.findings import SEVERITY_NAMES, check_names
from tianbao.form import Form
from tianbao.io.atomic import write_atomic
from tianbao.io.printing import row_height, set_up_page
from tianbao.io.roster import Roster
from tianbao.report import Finding
from tianbao.reviews import finding_cells
from tianbao.stages.batch import read_limited
from tianbao.stages.intake import ImportOutcome
from tianbao.workbook.layout import ANNOTATION_SHEET
from tianbao.workbook.limits import DEFAULT_LIMITS, Limits
from tianbao.workbook.read import ReadOptions, ReadResult
from tianbao.workbook.return_mark import mark_return
from tianbao.workbook.styles import BAD_FILL, BAD_FONT, BODY_FONT, HEADER_FILL, WARN_FILL, WARN_FONT
from tianbao.workbook.write import Annotation, FormWorkbook, WriteOptions, identity_locks


def annotate(path: Path, form: Form, output: Path, *, roster: Roster | None = None, year: int | None = None,
             strict: bool = False, convert: bool = False, limits: Limits = DEFAULT_LIMITS) -> ImportOutcome:
    """A fresh workbook with the department's values, every finding as a cell comment, and
    a first sheet listing the findings with links. The department's own file is only read."""
    outcome, read = read_limited(path, form, ReadOptions(roster, year, strict), convert, limits)
    if outcome.report is None or read is None:
        raise UserError(f"{outcome.name}：{outcome.findings[0].message}")
    report = outcome.report.model_copy(deep=True)
    report.findings = []
    findings = outcome.findings
    notes = [Annotation(sheet, a1, f"{SEVERITY_NAMES[f.severity]}：{f.message}", f.is_error)
             for f in findings for sheet, a1 in finding_cells(f) if sheet in form.sheet_names]
    locked = identity_locks(form) if read.meta.get("unit_name") and read.meta.get("year") else set()
    book = FormWorkbook(form, report, WriteOptions(annotations=notes, locked=locked))
    listing = book.add_sheet(ANNOTATION_SHEET, first=True)
    book.write_form()
    _restore_rejected_inputs(book, form, read)
    _annotate_other_cells(book, form, notes)
    _write_listing(book, listing, outcome.name, findings, check_names(form), report.unit.name)
    mark_return(book.workbook, outcome.sha256, outcome.report)
    write_atomic(output, book.finish())
    return outcome


def _restore_rejected_inputs(book: FormWorkbook, form: Form, read: ReadResult) -> None:
    """Show what the clerk typed ("五", "0件") in the cell again, not the 0 we counted."""
    for cell in form.input_cells:
        raw = read.rejected_inputs.get((cell.sheet, cell.a1))
        if raw is not None and cell.sheet in book.sheets:
            book.sheets[cell.sheet].write_string(cell.cell.row, cell.cell.col, raw,
                                                 book.formats.input_style(cell.type, False))


def _annotate_other_cells(book: FormWorkbook, form: Form, notes: list[Annotation]) -> None:
    """The writer comments input cells; totals, labels and stray cells get theirs here."""
    inputs = {(c.sheet, c.a1) for c in form.input_cells}
    merged: dict[tuple[str, str], list[Annotation]] = {}
    for note in notes:
        if (note.sheet, note.cell) not in inputs:
            merged.setdefault((note.sheet, note.cell), []).append(note)
    for (sheet, a1), cell_notes in merged.items():
        cell = Cell.parse(a1)
        target = book.sheets[sheet]
        target.write_comment(cell.row, cell.col, "\n".join(n.message for n in cell_notes),
                             {"x_scale": 2.5, "y_scale": 2})
        shade = book.formats.bad if any(n.is_error for n in cell_notes) else book.formats.warn
        target.conditional_format(cell.row, cell.col, cell.row, cell.col, {"type": "no_errors", "format": shade})


# The listing's columns: (heading, width in Excel characters), filling a landscape page;
# a message wraps and its row grows.
LISTING_COLUMNS = (("序号", 4.5), ("类别", 5), ("检查", 17), ("位置", 11), ("说明", 80), ("应为", 13), ("实为", 10))
# 9 pt: 30 findings (two lines each) fit two landscape pages.
LISTING_FONT_SIZE = 9


@dataclass
class _ListingFormats:
    title: Format
    header: Format
    number: Format
    cell: Format
    link: Format
    bad: Format
    warn: Format


def _listing_formats(book: FormWorkbook) -> _ListingFormats:
    add = book.workbook.add_format
    base = {"font_name": BODY_FONT, "font_size": LISTING_FONT_SIZE, "valign": "top", "text_wrap": True, "border": 1}
    return _ListingFormats(
        title=add({**base, "font_size": 11, "bold": True, "border": 0, "valign": "vcenter"}),
        header=add({**base, "bold": True, "align": "center", "valign": "vcenter", "bg_color": HEADER_FILL}),
        number=add({**base, "align": "center"}),
        cell=add(base),
        link=add({**base, "font_color": "blue", "underline": 1}),
        bad=add({**base, "align": "center", "bg_color": BAD_FILL, "font_color": BAD_FONT}),
        warn=add({**base, "align": "center", "bg_color": WARN_FILL, "font_color": WARN_FONT}),
    )


def _write_listing(book: FormWorkbook, sheet: Worksheet, source: str, findings: list[Finding],
                   names: dict[str, str], unit: str) -> None:
    fmt = _listing_formats(book)
    widths = [width for _heading, width in LISTING_COLUMNS]
    last = len(LISTING_COLUMNS) - 1
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    errors = sum(1 for f in findings if f.is_error)
    title = (f"{source}：{errors} 个错误、{len(findings) - errors} 个警告。请按下表逐项修改，"
             "点击“位置”可跳到对应单元格；修改后在本工作簿中保存并重新报送。")
    sheet.merge_range(0, 0, 0, last, title, fmt.title)
    sheet.set_row(0, row_height([(title, sum(widths))], 11))
    sheet.set_row(1, 6)
    sheet.write_row(2, 0, [heading for heading, _width in LISTING_COLUMNS], fmt.header)
    sheet.set_row(2, row_height(LISTING_COLUMNS, LISTING_FONT_SIZE))
    for index, finding in enumerate(sorted(findings, key=lambda f: not f.is_error), start=1):
        row = index + 2
        cells = [c for c in finding_cells(finding) if c[0] in book.sheets]
        where = f"{cells[0][0]}!{cells[0][1]}" + ("等" if len(cells) > 1 else "") if cells else (
            finding.sheet or "（整个文件）")
        texts = [str(index), SEVERITY_NAMES[finding.severity], names.get(finding.rule, finding.rule), where,
                 finding.message, finding.expected or "", finding.found or ""]
        sheet.write_number(row, 0, index, fmt.number)
        sheet.write_string(row, 1, texts[1], fmt.bad if finding.is_error else fmt.warn)
        sheet.write_string(row, 2, texts[2], fmt.cell)
        if cells:
            sheet.write_url(row, 3, f"internal:{quote_sheet(cells[0][0])}!{cells[0][1]}", fmt.link,
                            string=where)
        else:
            sheet.write_string(row, 3, where, fmt.cell)
        for col in (4, 5, 6):
            sheet.write_string(row, col, texts[col], fmt.cell)
        sheet.set_row(row, row_height(zip(texts, widths, strict=True), LISTING_FONT_SIZE))
    sheet.freeze_panes(3, 0)
    set_up_page(sheet, landscape=True, header_left=unit, header_right=ANNOTATION_SHEET, repeat_rows=(2, 2),
                print_area=(0, 0, len(findings) + 2, last))
