"""The district summary workbook written by `tianbao merge`, and the merge's other files.

summary.xlsx is what a district clerk reads and prints, each sheet set up for A4 (print area,
landscape where wide, fit to width, header rows repeated, row heights computed for wrapped
text, the district and page number in the header and footer): 报送情况 (every roster unit's
status and a 催报名单), the form's official sheets carrying the district totals (locked, totals
and checks as live formulas; narrative sheets only when the district's text was given; no
填表说明 or character counters: nobody fills this workbook in), 图表 (the definition's
`summary.chart` cell per unit, with its numbers) and 各单位文字材料 (each unit's texts, one
part per row). The per-unit numbers are data, not print: detail.xlsx and values.csv up to
DETAIL_LIMIT units, values.parquet always (see `stages.detail`). Every department-supplied
text is written with write_string, never as a formula.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xlsxwriter.worksheet import Worksheet

from tianbao.errors import UserError
from tianbao.form import Form
from tianbao.form.spec import FieldsSection
from tianbao.io.atomic import write_atomic
from tianbao.io.printing import (
    fill_width,
    label_width,
    lines_height,
    page_marks,
    row_height,
    set_up_page,
    split_for_rows,
)
from tianbao.io.times import shown_time
from tianbao.io.values import VALUES_CSV, VALUES_PARQUET, write_values
from tianbao.stages.detail import DETAIL_LIMIT, detail_columns, write_detail
from tianbao.stages.merge import (
    DETAIL_XLSX,
    DISTRICT_JSON,
    STATUS_INVALID,
    STATUS_MISSING,
    STATUS_ORDER,
    STATUS_PASSED,
    STATUS_UNFILLED,
    STATUS_WARNINGS,
    SUMMARY_XLSX,
    Entry,
    MergeResult,
    settled_heap,
)
from tianbao.workbook.styles import BODY_FONT, TITLE_FONT
from tianbao.workbook.write import FormWorkbook, WriteOptions

STATUS_SHEET = "报送情况"
TEXTS_SHEET = "各单位文字材料"
CHART_SHEET = "图表"
SHORT_HASH = 12
# A chart stays readable up to this many units; beyond, it shows the largest ones.
MAX_CHART_UNITS = 40


# ---------------------------------------------------------------------------------------
# The workbook


def printed_sections(form: Form, result: MergeResult) -> frozenset[str]:
    """Every table; a sheet of fields only when it holds something besides the identity (summed
    numbers, or the district's own text given with `merge --text`): the district's name and
    year head every page already."""
    district = result.district
    identity = (form.identity_section.id, set(form.identity_fields.values()))
    kept = {s.id for s in form.sections if not isinstance(s, FieldsSection)}
    for section in form.field_sections:
        own = {k: v for k, v in district.fields.get(section.id, {}).items()
               if not (section.id == identity[0] and k in identity[1])}
        if any(v not in (None, "") for v in own.values()):
            kept.add(section.id)
    return frozenset(kept)


def render_summary(result: MergeResult, note: str = "") -> bytes:
    form = result.form
    locked = {(cell.section, cell.key) for cell in form.input_cells}
    printed = printed_sections(form, result)
    identity = form.identity_section
    # The identity sheet is always written (check formulas of conditional rules read the unit
    # level from it), but hidden when it has nothing to print.
    options = WriteOptions(locked=locked, filling_aids=False, sections=printed | {identity.id})
    book = FormWorkbook(form, result.district, options)
    styles = _Styles(book, f"{result.district.unit.name}{result.district.year}年度报告汇总")
    # 报送情况 first: it is read (and printed) first.
    _status_sheet(book.add_sheet(STATUS_SHEET, first=True), styles, result, note)
    book.write_form()
    if identity.id not in printed:
        book.sheets[identity.sheet].hide()
    for name, sheet in book.sheets.items():
        if name != STATUS_SHEET:  # the form's own print setup, with the summary's header and footer
            page_marks(sheet, styles.page_header, name)
    _chart_sheet(book, styles, result)
    _texts_sheet(book, styles, result)
    return book.finish()


class _Styles:
    def __init__(self, book: FormWorkbook, page_header: str) -> None:
        self.page_header = page_header
        add = book.workbook.add_format
        base = {"font_name": BODY_FONT, "font_size": 11, "valign": "vcenter", "border": 1}
        self.header = book.formats.header
        self.title = book.formats.title
        self.text = add({**base, "align": "left"})
        self.wrap = add({**base, "align": "left", "text_wrap": True})
        self.wrap_top = add({**base, "align": "left", "valign": "top", "text_wrap": True})
        self.number = add({**base, "align": "center", "num_format": "0"})
        self.note = add({"font_name": BODY_FONT, "font_size": 11, "valign": "top", "text_wrap": True})
        self.section = add({"font_name": TITLE_FONT, "font_size": 13, "valign": "vcenter"})
        red = add({**base, "font_color": "#9C0006", "bg_color": "#FFC7CE"})
        self.status = {
            STATUS_PASSED: add({**base, "font_color": "#375623", "bg_color": "#E2EFDA"}),
            STATUS_WARNINGS: add({**base, "font_color": "#7F6000", "bg_color": "#FFF2CC"}),
            STATUS_INVALID: red,
            STATUS_MISSING: red,
            STATUS_UNFILLED: red,
        }
        self.password = book.password

    def status_style(self, status: str) -> Any:
        return self.status.get(status, self.text)

    def protect(self, sheet: Worksheet) -> None:
        sheet.protect(
            self.password,
            {"select_locked_cells": True, "select_unlocked_cells": True, "format_columns": True,
             "format_rows": True, "autofilter": True},
        )


STATUS_HEADERS = ("序号", "单位代码", "单位名称", "状态", "计入汇总", "错误", "警告", "文件", "导入时间",
                  "哈希（前12位）", "说明")
STATUS_COLUMN, TIME_COLUMN, HASH_COLUMN = 3, 8, 9
# The least widths; landscape A4 at about 80%: 说明 wraps instead of running off the page.
STATUS_LEAST_WIDTHS = (5, 11, 22, 10, 6, 5, 5, 20, 16, 14, 44)


def _status_widths() -> tuple[float, ...]:
    """Each column as wide as its heading's words need; the status, time and hash columns as
    wide as their values on one line."""
    widths = [label_width(header, least) for header, least in zip(STATUS_HEADERS, STATUS_LEAST_WIDTHS, strict=True)]
    widths[STATUS_COLUMN] = max(widths[STATUS_COLUMN], status_width())
    for column, value in ((TIME_COLUMN, shown_time("2026-12-31T23:59:00+00:00")), (HASH_COLUMN, "f" * SHORT_HASH)):
        widths[column] = max(widths[column], label_width(value, whole_line=len(value)))
    return tuple(widths)


def status_width() -> float:
    """The width that shows every status on one line."""
    return max(label_width(status, whole_line=len(status)) for status in STATUS_ORDER)


STATUS_WIDTHS = _status_widths()


def _status_sheet(sheet: Worksheet, styles: _Styles, result: MergeResult, note: str) -> None:
    last_col = len(STATUS_HEADERS) - 1
    for col, width in enumerate(STATUS_WIDTHS):
        sheet.set_column(col, col, width)
    district = result.district
    sheet.merge_range(0, 0, 0, last_col, f"{district.unit.name}{district.year}年度报告报送情况", styles.title)
    sheet.set_row(0, 30)
    counts = "，".join(f"{s} {n}" for s in STATUS_ORDER if (n := result.count(s)))
    line = f"共 {len(result.entries)} 行：{counts}。计入汇总 {len(result.summed)} 个单位。{note}"
    sheet.merge_range(1, 0, 1, last_col, line, styles.note)
    sheet.set_row(1, row_height([(line, sum(STATUS_WIDTHS))]))
    header_row = 3
    for col, text in enumerate(STATUS_HEADERS):
        sheet.write_string(header_row, col, text, styles.header)
    sheet.set_row(header_row, lines_height(2))
    for offset, entry in enumerate(result.entries, start=1):
        _entry_row(sheet, styles, header_row + offset, offset, entry)
    last = header_row + len(result.entries)
    sheet.autofilter(header_row, 0, last, last_col)
    sheet.freeze_panes(header_row + 1, 3)

    owing = [e for e in result.entries if e.owing]
    start = last + 2
    sheet.write_string(start, 0, f"催报名单（尚未报送合格报告的单位，共 {len(owing)} 个）", styles.section)
    sheet.set_row(start, 24)
    end = start + 1
    if not owing:
        sheet.write_string(start + 1, 0, "全部单位均已报送合格报告。", styles.note)
    else:
        for col, text in enumerate(("序号", "单位代码", "单位名称", "状态")):
            sheet.write_string(start + 1, col, text, styles.header)
        sheet.merge_range(start + 1, 4, start + 1, last_col, "说明", styles.header)
        note_width = sum(STATUS_WIDTHS[4:])
        for offset, entry in enumerate(owing, start=1):
            row = end = start + 1 + offset
            note = entry.note or "尚未收到报告"
            sheet.write_number(row, 0, offset, styles.number)
            sheet.write_string(row, 1, entry.code, styles.wrap)
            sheet.write_string(row, 2, entry.name, styles.wrap)
            sheet.write_string(row, 3, entry.status, styles.status_style(entry.status))
            sheet.merge_range(row, 4, row, last_col, note, styles.wrap)
            sheet.set_row(row, row_height([(note, note_width), (entry.name, STATUS_WIDTHS[2])]))
    set_up_page(sheet, landscape=True, header_left=styles.page_header, header_right=STATUS_SHEET,
                repeat_rows=(header_row, header_row), print_area=(0, 0, end, last_col))
    styles.protect(sheet)


def _entry_row(sheet: Worksheet, styles: _Styles, row: int, number: int, entry: Entry) -> None:
    sub = entry.submission
    sheet.write_number(row, 0, number, styles.number)
    sheet.write_string(row, 1, entry.code, styles.wrap)
    sheet.write_string(row, 2, entry.name, styles.wrap)
    sheet.write_string(row, 3, entry.status, styles.status_style(entry.status))
    sheet.write_string(row, 4, "是" if entry.summed else "否", styles.text)
    wrapped = [(entry.note, STATUS_WIDTHS[10]), (entry.name, STATUS_WIDTHS[2])]
    if sub is None:
        for col in range(5, 10):
            sheet.write_blank(row, col, None, styles.text)
    else:
        sheet.write_number(row, 5, sub.errors, styles.number)
        sheet.write_number(row, 6, sub.warnings, styles.number)
        sheet.write_string(row, 7, sub.name, styles.wrap)
        sheet.write_string(row, 8, shown_time(sub.imported_at), styles.text)
        sheet.write_string(row, 9, sub.sha256[:SHORT_HASH], styles.text)
        wrapped.append((sub.name, STATUS_WIDTHS[7]))
    sheet.write_string(row, 10, entry.note, styles.wrap)
    sheet.set_row(row, row_height(wrapped))


def narrative_fields(form: Form) -> list[tuple[FieldsSection, str, str]]:
    """(section, field id, label) of the text fields that appear in a published document."""
    return [
        (section, field.id, field.label)
        for section in form.field_sections
        if section.in_document
        for field in section.fields
        if field.type in ("text", "longtext")
    ]


TEXT_UNIT_WIDTH = 16


def text_widths(form: Form) -> tuple[float, float, float, float]:
    """Unit, status, part, text: statuses and parts on one line each (a short text then takes
    one line, not two for its part's name), the text filling the rest of portrait A4 at 100%."""
    part = max(label_width(label, whole_line=len(label)) for _section, _field, label in narrative_fields(form))
    widths = (TEXT_UNIT_WIDTH, status_width(), part)
    return (*widths, fill_width(*widths))


def _texts_sheet(book: FormWorkbook, styles: _Styles, result: MergeResult) -> None:
    """One row per unit and part it wrote (long texts continue on the next rows), so that every
    text prints whole and readable, whatever the number of parts."""
    sheet = book.add_sheet(TEXTS_SHEET)
    widths = text_widths(result.form)
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    sheet.merge_range(0, 0, 0, 3, f"{result.district.unit.name}{result.district.year}年度各单位文字材料",
                      styles.title)
    sheet.set_row(0, 30)
    for col, text in enumerate(("单位名称", "状态", "部分", "内容")):
        sheet.write_string(1, col, text, styles.header)
    fields = narrative_fields(result.form)
    row = 2
    units = [e for e in result.entries if e.report and e.status in (STATUS_PASSED, STATUS_WARNINGS, STATUS_INVALID)]
    for entry in units:
        report = entry.report
        if report is None:  # filtered above
            continue
        for section, field_id, label in fields:
            text = report.fields.get(section.id, {}).get(field_id)
            content = "" if text is None else str(text).strip()
            if not content:  # a part left empty adds a row and says nothing
                continue
            for index, piece in enumerate(split_for_rows(content, widths[3])):
                part = label if index == 0 else f"{label}（续）"
                sheet.write_string(row, 0, entry.name, styles.wrap_top)
                sheet.write_string(row, 1, entry.status, styles.status_style(entry.status))
                sheet.write_string(row, 2, part, styles.wrap_top)
                sheet.write_string(row, 3, piece, styles.wrap_top)
                sheet.set_row(row, row_height([(piece, widths[3]), (part, widths[2]),
                                               (entry.name, widths[0])]))
                row += 1
    if row == 2:
        sheet.write_string(row, 0, "没有可列出的文字材料。", styles.note)
        row += 1
    sheet.freeze_panes(2, 0)
    set_up_page(sheet, landscape=False, header_left=styles.page_header, header_right=TEXTS_SHEET,
                repeat_rows=(1, 1), print_area=(0, 0, row - 1, 3))
    styles.protect(sheet)


def _chart_sheet(book: FormWorkbook, styles: _Styles, result: MergeResult) -> None:
    """A column chart of the definition's chart cell per summed unit (the largest
    MAX_CHART_UNITS when there are more), beside the numbers it draws."""
    chart_spec = result.form.spec.summary.chart
    summed = [e for e in result.summed if e.report is not None]
    if chart_spec is None or not summed:
        return
    column = next(c for c in detail_columns(result.form) if c.key == chart_spec.ref)
    points = [(e.name, column.value(e.report)) for e in summed if e.report is not None]
    title = chart_spec.title
    if len(points) > MAX_CHART_UNITS:
        points = sorted(points, key=lambda p: p[1] or 0, reverse=True)[:MAX_CHART_UNITS]
        title = f"{title}（最多的 {MAX_CHART_UNITS} 个单位）"
    sheet = book.add_sheet(CHART_SHEET)
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 10)
    sheet.merge_range(0, 0, 0, 12, title, styles.title)
    sheet.set_row(0, 30)
    sheet.write_string(1, 0, "单位名称", styles.header)
    sheet.write_string(1, 1, "数量", styles.header)
    for offset, (name, value) in enumerate(points):
        sheet.write_string(2 + offset, 0, name, styles.wrap)
        sheet.write_number(2 + offset, 1, float(value or 0), styles.number)
        sheet.set_row(2 + offset, row_height([(name, 24)]))
    first, last = 2, 1 + len(points)
    chart = book.workbook.add_chart({"type": "column"})
    series: dict[str, Any] = {
        "name": title,
        "categories": [CHART_SHEET, first, 0, last, 0],
        "values": [CHART_SHEET, first, 1, last, 1],
        "fill": {"color": "#4472C4"},
        "data_labels": {"value": True},
    }
    chart.add_series(series)
    chart.set_title({"none": True})
    chart.set_legend({"none": True})
    chart.set_x_axis({"num_font": {"rotation": -45, "name": BODY_FONT}})
    chart.set_y_axis({"major_gridlines": {"visible": True}, "num_format": "0", "min": 0})
    chart.set_size({"width": 600, "height": 420})
    sheet.insert_chart(1, 3, chart, {"x_offset": 10, "y_offset": 0})
    set_up_page(sheet, landscape=True, header_left=styles.page_header, header_right=CHART_SHEET,
                print_area=(0, 0, max(last, 22), 12))
    sheet.fit_to_pages(1, 1)
    styles.protect(sheet)


# ---------------------------------------------------------------------------------------
# The merge's output files


def _write(path: Path, payload: bytes | str) -> Path:
    try:
        write_atomic(path, payload)
    except OSError as exc:
        raise UserError(f"无法写入 {path}（{exc.strerror}）") from exc
    return path


def detail_note(units: int, limit: int) -> str:
    if units <= limit:
        return ""
    return (f"单位数超过 {limit} 个，分单位明细只写入 {VALUES_PARQUET}（可用 DuckDB 等工具查询），"
            f"不再生成 {DETAIL_XLSX} 和 {VALUES_CSV}。")


def write_outputs(result: MergeResult, outdir: Path, detail_limit: int = DETAIL_LIMIT) -> list[Path]:
    """district.json, summary.xlsx, values.parquet, and up to `detail_limit` summed units also
    detail.xlsx and values.csv, each written atomically. Beyond the limit, a detail.xlsx or
    values.csv left by an earlier run is removed: it would no longer match."""
    with settled_heap():
        return _write_outputs(result, outdir, detail_limit)


def _write_outputs(result: MergeResult, outdir: Path, detail_limit: int) -> list[Path]:
    units = [e.report for e in result.summed if e.report is not None]
    small = len(units) <= detail_limit
    written = [
        _write(outdir / DISTRICT_JSON, result.district.to_json()),
        _write(outdir / SUMMARY_XLSX, render_summary(result, detail_note(len(units), detail_limit))),
    ]
    try:
        write_values(result.form, units, result.district, outdir / VALUES_PARQUET,
                     outdir / VALUES_CSV if small else None)
        written += [outdir / VALUES_PARQUET] + ([outdir / VALUES_CSV] if small else [])
        if small:
            write_detail(result, outdir / DETAIL_XLSX)
            written.append(outdir / DETAIL_XLSX)
        else:
            for stale in (DETAIL_XLSX, VALUES_CSV):
                (outdir / stale).unlink(missing_ok=True)
    except OSError as exc:
        raise UserError(f"无法写入 {outdir}（{exc.strerror}）") from exc
    return written
