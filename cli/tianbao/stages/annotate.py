"""`tianbao annotate`: the workbook sent back to a department for correction.

A fresh workbook with the department's values (what the clerk typed, even where it was
refused), every finding as a cell comment, and a first sheet listing the findings with
links. The department's own file is only read, through the same limited pool as an import.
"""

from __future__ import annotations

from pathlib import Path

from xlsxwriter.worksheet import Worksheet

from tianbao.cells import Cell, quote_sheet
from tianbao.errors import UserError
from tianbao.findings import SEVERITY_NAMES, check_names
from tianbao.form import Form
from tianbao.io.atomic import write_atomic
from tianbao.io.roster import Roster
from tianbao.report import Finding
from tianbao.reviews import finding_cells
from tianbao.stages.batch import read_limited
from tianbao.stages.intake import ImportOutcome
from tianbao.workbook.layout import ANNOTATION_SHEET
from tianbao.workbook.limits import DEFAULT_LIMITS, Limits
from tianbao.workbook.read import ReadOptions, ReadResult
from tianbao.workbook.return_mark import mark_return
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
    _write_listing(book, listing, outcome.name, findings, check_names(form))
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


def _write_listing(book: FormWorkbook, sheet: Worksheet, source: str, findings: list[Finding],
                   names: dict[str, str]) -> None:
    fmt = book.formats
    errors = sum(1 for f in findings if f.is_error)
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, 1, 8)
    sheet.set_column(2, 2, 18)
    sheet.set_column(3, 3, 18)
    sheet.set_column(4, 4, 90, fmt.note)
    sheet.set_column(5, 6, 16)
    sheet.merge_range(0, 0, 0, 6, f"{source}：{errors} 个错误、{len(findings) - errors} 个警告。请按下表逐项修改，"
                      "点击“位置”可跳到对应单元格；修改后在本工作簿中保存并重新报送。", fmt.note)
    sheet.set_row(0, 36)
    sheet.write_row(2, 0, ["序号", "类别", "检查", "位置", "说明", "应为", "实为"], fmt.header)
    for index, finding in enumerate(sorted(findings, key=lambda f: not f.is_error), start=1):
        row = index + 2
        sheet.write_number(row, 0, index)
        sheet.write_string(row, 1, SEVERITY_NAMES[finding.severity], fmt.bad if finding.is_error else fmt.warn)
        sheet.write_string(row, 2, names.get(finding.rule, finding.rule))
        cells = [c for c in finding_cells(finding) if c[0] in book.sheets]
        if cells:
            target_sheet, a1 = cells[0]
            sheet.write_url(row, 3, f"internal:{quote_sheet(target_sheet)}!{a1}",
                            string=f"{target_sheet}!{a1}" + ("等" if len(cells) > 1 else ""))
        else:
            sheet.write_string(row, 3, finding.sheet or "（整个文件）")
        sheet.write_string(row, 4, finding.message, fmt.note)
        sheet.write_string(row, 5, finding.expected or "")
        sheet.write_string(row, 6, finding.found or "")
    sheet.freeze_panes(3, 0)
