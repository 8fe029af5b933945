"""The district summary workbook written by `tianbao merge`.

The form's official sheets carry the district totals (every cell locked, totals and checks
as live formulas, the look of the department workbook); then the sheets a district clerk
works from: 分单位明细 (one row per summed unit, every value, a totals row of live SUMs),
报送情况 (every roster unit's status and a 催报名单), 各单位文字材料 (the units' narrative
texts side by side) and a native column chart of the definition's `summary.chart` cell.
Every department-supplied text is written with write_string, never as a formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from tianbao.errors import UserError
from tianbao.form import Form
from tianbao.form.spec import FieldsSection, TableSection
from tianbao.io.atomic import write_atomic
from tianbao.io.times import shown_time
from tianbao.io.values import VALUES_CSV, VALUES_PARQUET, csv_bytes, parquet_bytes, values_frame
from tianbao.report import Report
from tianbao.stages.merge import (
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
    numeric_fields,
)
from tianbao.workbook.styles import BODY_FONT, TITLE_FONT
from tianbao.workbook.write import FormWorkbook, WriteOptions

DETAIL_SHEET = "分单位明细"
STATUS_SHEET = "报送情况"
TEXTS_SHEET = "各单位文字材料"
CHART_SHEET = "图表"
FIRST_DATA_ROW = 3  # three header rows on the detail sheet: table, row, column
SHORT_HASH = 12
# Per-point data labels only while a chart stays readable.
MAX_LABELLED_POINTS = 40


@dataclass(frozen=True)
class DetailColumn:
    """One value column of 分单位明细: a table cell or a number field, labelled from the form."""

    group: str
    row_label: str
    label: str
    key: tuple[str, ...]  # (table, row, column) or (section, field)
    decimal: bool
    computed: bool = False

    def value(self, report: Report) -> Any:
        if len(self.key) == 3:
            table, row, column = self.key
            return report.tables[table][row][column]
        section, field_id = self.key
        return report.fields.get(section, {}).get(field_id)


def detail_columns(form: Form) -> list[DetailColumn]:
    """Every table value (inputs and totals) and every summed number field, in form order."""
    numbers = {(s, f): t for s, f, t in numeric_fields(form)}
    columns: list[DetailColumn] = []
    for section in form.sections:
        if isinstance(section, FieldsSection):
            for field in section.fields:
                field_type = numbers.get((section.id, field.id))
                if field_type:
                    columns.append(
                        DetailColumn(section.title, "", field.label, (section.id, field.id), field_type == "decimal")
                    )
            continue
        columns.extend(_table_columns(form, section))
    return columns


def _table_columns(form: Form, table: TableSection) -> list[DetailColumn]:
    rows = {r.id: r for r in table.rows}
    columns = {c.id: c for c in table.columns}
    found = []
    for row_id, column_id in form.table_value_keys(table):
        found.append(
            DetailColumn(
                table.title, rows[row_id].label, columns[column_id].label, (table.id, row_id, column_id),
                columns[column_id].type == "decimal", form.is_computed(table.id, row_id, column_id),
            )
        )
    return found


def render_summary(result: MergeResult) -> bytes:
    form = result.form
    locked = {(cell.section, cell.key) for cell in form.input_cells}
    book = FormWorkbook(form, result.district, WriteOptions(locked=locked))
    book.write_form()
    styles = _Styles(book)
    columns = detail_columns(form)
    _status_sheet(book, styles, result)
    _detail_sheet(book, styles, result, columns)
    _texts_sheet(book, styles, result)
    _chart_sheet(book, result, columns)
    return book.finish()


class _Styles:
    def __init__(self, book: FormWorkbook) -> None:
        add = book.workbook.add_format
        base = {"font_name": BODY_FONT, "font_size": 11, "valign": "vcenter", "border": 1}
        self.header = book.formats.header
        self.title = book.formats.title
        self.text = add({**base, "align": "left"})
        self.wrap = add({**base, "align": "left", "valign": "top", "text_wrap": True})
        self.number = add({**base, "align": "center", "num_format": "0"})
        self.decimal = add({**base, "align": "center", "num_format": "0.0000"})
        self.computed = book.formats.computed
        self.computed_decimal = book.formats.computed_decimal
        self.total_label = add({**base, "bold": True, "align": "center", "bg_color": "#DDEBF7"})
        self.total = add({**base, "bold": True, "align": "center", "num_format": "0", "bg_color": "#DDEBF7"})
        self.total_decimal = add(
            {**base, "bold": True, "align": "center", "num_format": "0.0000", "bg_color": "#DDEBF7"}
        )
        self.note = add({"font_name": BODY_FONT, "font_size": 11, "valign": "vcenter"})
        self.section = add({"font_name": TITLE_FONT, "font_size": 13, "valign": "vcenter"})
        self.status = {
            STATUS_PASSED: add({**base, "font_color": "#375623", "bg_color": "#E2EFDA"}),
            STATUS_WARNINGS: add({**base, "font_color": "#7F6000", "bg_color": "#FFF2CC"}),
            STATUS_INVALID: add({**base, "font_color": "#9C0006", "bg_color": "#FFC7CE"}),
            STATUS_MISSING: add({**base, "font_color": "#9C0006", "bg_color": "#FFC7CE"}),
            STATUS_UNFILLED: add({**base, "font_color": "#9C0006", "bg_color": "#FFC7CE"}),
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


def _write_run(sheet: Worksheet, row: int, first: int, last: int, text: str, style: Any) -> None:
    if last > first:
        sheet.merge_range(row, first, row, last, text, style)
    else:
        sheet.write_string(row, first, text, style)


def _runs(labels: list[str]) -> list[tuple[int, int, str]]:
    """(first, last, label) for each run of equal consecutive labels."""
    runs: list[tuple[int, int, str]] = []
    for index, label in enumerate(labels):
        if runs and runs[-1][2] == label:
            runs[-1] = (runs[-1][0], index, label)
        else:
            runs.append((index, index, label))
    return runs


def _number(value: int | Decimal | None) -> int | float:
    # Excel stores binary floats; the exact Decimal stays in the JSON and values outputs.
    return 0 if value is None else (float(value) if isinstance(value, Decimal) else value)


def _detail_sheet(book: FormWorkbook, styles: _Styles, result: MergeResult, columns: list[DetailColumn]) -> None:
    sheet = book.add_sheet(DETAIL_SHEET)
    lead = 3  # unit code, unit name, status
    sheet.set_column(0, 0, 14)
    sheet.set_column(1, 1, 28)
    sheet.set_column(2, 2, 11)
    if columns:
        sheet.set_column(lead, lead + len(columns) - 1, 11)
    sheet.merge_range(0, 0, 1, lead - 1, "单位", styles.header)
    for col, text in enumerate(("单位代码", "单位名称", "状态")):
        sheet.write_string(2, col, text, styles.header)
    for first, last, text in _runs([c.group for c in columns]):
        _write_run(sheet, 0, lead + first, lead + last, text, styles.header)
    for first, last, text in _runs([f"{c.group}\x00{c.row_label}" for c in columns]):
        _write_run(sheet, 1, lead + first, lead + last, text.split("\x00")[1], styles.header)
    for index, column in enumerate(columns):
        sheet.write_string(2, lead + index, column.label, styles.header)
    sheet.set_row(0, 30)
    sheet.set_row(1, 60)
    sheet.set_row(2, 45)

    # A unit's totals are its report's (recomputed) values, shaded like totals; formulas per
    # unit would cost more than the rest of the sheet for a large district.
    cell_styles = [
        (styles.computed_decimal if c.decimal else styles.computed) if c.computed
        else (styles.decimal if c.decimal else styles.number)
        for c in columns
    ]
    entries = result.summed
    for offset, entry in enumerate(entries):
        row = FIRST_DATA_ROW + offset
        report = entry.report
        if report is None:  # summed entries always carry their report
            continue
        sheet.write_string(row, 0, entry.code, styles.text)
        sheet.write_string(row, 1, entry.name, styles.text)
        sheet.write_string(row, 2, entry.status, styles.status_style(entry.status))
        for index, column in enumerate(columns):
            sheet.write_number(row, lead + index, _number(column.value(report)), cell_styles[index])

    # Totals row: live sums that must equal the official tables of this workbook.
    total_row = FIRST_DATA_ROW + len(entries)
    sheet.merge_range(total_row, 0, total_row, lead - 1, "合计", styles.total_label)
    for index, column in enumerate(columns):
        letter = xl_col_to_name(lead + index)
        formula = f"=SUM({letter}{FIRST_DATA_ROW + 1}:{letter}{total_row})" if entries else "=0"
        style = styles.total_decimal if column.decimal else styles.total
        sheet.write_formula(total_row, lead + index, formula, style, _number(column.value(result.district)))
    sheet.autofilter(2, 0, max(total_row - 1, 2), lead + len(columns) - 1)
    sheet.freeze_panes(FIRST_DATA_ROW, lead)
    styles.protect(sheet)


def _status_sheet(book: FormWorkbook, styles: _Styles, result: MergeResult) -> None:
    sheet = book.add_sheet(STATUS_SHEET, first=True)
    headers = (
        "序号", "单位代码", "单位名称", "状态", "计入汇总", "错误", "警告",
        "文件", "导入时间", "哈希（前12位）", "说明",
    )
    widths = (6, 14, 28, 11, 9, 6, 6, 30, 22, 16, 70)
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    district = result.district
    sheet.merge_range(0, 0, 0, len(headers) - 1, f"{district.unit.name}{district.year}年度报告报送情况", styles.title)
    sheet.set_row(0, 30)
    counts = "，".join(f"{s} {n}" for s in STATUS_ORDER if (n := result.count(s)))
    line = f"共 {len(result.entries)} 行：{counts}。计入汇总 {len(result.summed)} 个单位。"
    sheet.write_string(1, 0, line, styles.note)
    header_row = 3
    for col, text in enumerate(headers):
        sheet.write_string(header_row, col, text, styles.header)
    for offset, entry in enumerate(result.entries, start=1):
        _entry_row(sheet, styles, header_row + offset, offset, entry)
    last = header_row + len(result.entries)
    sheet.autofilter(header_row, 0, last, len(headers) - 1)
    sheet.freeze_panes(header_row + 1, 3)

    owing = [e for e in result.entries if e.owing]
    start = last + 2
    sheet.write_string(start, 0, f"催报名单（尚未报送合格报告的单位，共 {len(owing)} 个）", styles.section)
    if not owing:
        sheet.write_string(start + 1, 0, "全部单位均已报送合格报告。", styles.note)
    else:
        for col, text in enumerate(("序号", "单位代码", "单位名称", "状态")):
            sheet.write_string(start + 1, col, text, styles.header)
        sheet.merge_range(start + 1, 4, start + 1, 10, "说明", styles.header)
        for offset, entry in enumerate(owing, start=1):
            row = start + 1 + offset
            sheet.write_number(row, 0, offset, styles.number)
            sheet.write_string(row, 1, entry.code, styles.text)
            sheet.write_string(row, 2, entry.name, styles.text)
            sheet.write_string(row, 3, entry.status, styles.status_style(entry.status))
            sheet.merge_range(row, 4, row, 10, "", styles.text)
            sheet.write_string(row, 4, entry.note or "尚未收到报告", styles.text)
    styles.protect(sheet)


def _entry_row(sheet: Worksheet, styles: _Styles, row: int, number: int, entry: Entry) -> None:
    sub = entry.submission
    sheet.write_number(row, 0, number, styles.number)
    sheet.write_string(row, 1, entry.code, styles.text)
    sheet.write_string(row, 2, entry.name, styles.text)
    sheet.write_string(row, 3, entry.status, styles.status_style(entry.status))
    sheet.write_string(row, 4, "是" if entry.summed else "否", styles.text)
    if sub is None:
        for col in range(5, 10):
            sheet.write_blank(row, col, None, styles.text)
    else:
        sheet.write_number(row, 5, sub.errors, styles.number)
        sheet.write_number(row, 6, sub.warnings, styles.number)
        sheet.write_string(row, 7, sub.name, styles.text)
        sheet.write_string(row, 8, shown_time(sub.imported_at), styles.text)
        sheet.write_string(row, 9, sub.sha256[:SHORT_HASH], styles.text)
    sheet.write_string(row, 10, entry.note, styles.text)


def narrative_fields(form: Form) -> list[tuple[FieldsSection, str, str]]:
    """(section, field id, label) of the text fields that appear in a published document."""
    return [
        (section, field.id, field.label)
        for section in form.field_sections
        if section.in_document
        for field in section.fields
        if field.type in ("text", "longtext")
    ]


def _texts_sheet(book: FormWorkbook, styles: _Styles, result: MergeResult) -> None:
    sheet = book.add_sheet(TEXTS_SHEET)
    fields = narrative_fields(result.form)
    lead = 3
    sheet.set_column(0, 0, 14)
    sheet.set_column(1, 1, 24)
    sheet.set_column(2, 2, 11)
    if fields:
        sheet.set_column(lead, lead + len(fields) - 1, 60)
    for col, text in enumerate(("单位代码", "单位名称", "状态")):
        sheet.merge_range(0, col, 1, col, text, styles.header)
    for first, last, text in _runs([section.title for section, _, _ in fields]):
        _write_run(sheet, 0, lead + first, lead + last, text, styles.header)
    for index, (_, _, label) in enumerate(fields):
        sheet.write_string(1, lead + index, label, styles.header)
    sheet.set_row(1, 30)
    units = [e for e in result.entries if e.report and e.status in (STATUS_PASSED, STATUS_WARNINGS, STATUS_INVALID)]
    for offset, entry in enumerate(units):
        row = 2 + offset
        report = entry.report
        if report is None:  # filtered above
            continue
        sheet.set_row(row, 150)
        sheet.write_string(row, 0, entry.code, styles.wrap)
        sheet.write_string(row, 1, entry.name, styles.wrap)
        sheet.write_string(row, 2, entry.status, styles.status_style(entry.status))
        for index, (section, field_id, _) in enumerate(fields):
            text = report.fields.get(section.id, {}).get(field_id)
            sheet.write_string(row, lead + index, "" if text is None else str(text), styles.wrap)
    sheet.freeze_panes(2, 2)
    styles.protect(sheet)


def _chart_sheet(book: FormWorkbook, result: MergeResult, columns: list[DetailColumn]) -> None:
    """A column chart of the definition's chart cell per summed unit, from 分单位明细."""
    chart_spec = result.form.spec.summary.chart
    count = len(result.summed)
    if chart_spec is None or not count:
        return
    col = 3 + next(i for i, c in enumerate(columns) if c.key == chart_spec.ref)
    first, last = FIRST_DATA_ROW, FIRST_DATA_ROW + count - 1
    chart = book.workbook.add_chart({"type": "column"})
    series: dict[str, Any] = {
        "name": chart_spec.title,
        "categories": [DETAIL_SHEET, first, 1, last, 1],
        "values": [DETAIL_SHEET, first, col, last, col],
        "fill": {"color": "#4472C4"},
    }
    if count <= MAX_LABELLED_POINTS:
        series["data_labels"] = {"value": True}
    chart.add_series(series)
    chart.set_title({"name": chart_spec.title, "name_font": {"name": TITLE_FONT, "size": 14}})
    chart.set_legend({"none": True})
    chart.set_x_axis({"num_font": {"rotation": -45, "name": BODY_FONT}})
    chart.set_y_axis({"major_gridlines": {"visible": True}, "num_format": "0"})
    sheet = book.workbook.add_chartsheet(CHART_SHEET)
    sheet.set_chart(chart)


# ---------------------------------------------------------------------------------------
# The merge's output files


def _write(path: Path, payload: bytes | str) -> Path:
    try:
        write_atomic(path, payload)
    except OSError as exc:
        raise UserError(f"无法写入 {path}（{exc.strerror}）") from exc
    return path


def write_values(result: MergeResult, outdir: Path) -> list[Path]:
    """values.csv and values.parquet: the long-format table for analysts."""
    frame = values_frame(result.form, [e.report for e in result.summed if e.report], result.district)
    return [_write(outdir / VALUES_CSV, csv_bytes(frame)), _write(outdir / VALUES_PARQUET, parquet_bytes(frame))]


def write_outputs(result: MergeResult, outdir: Path) -> list[Path]:
    """district.json, summary.xlsx, values.csv and values.parquet, each written atomically."""
    return [
        _write(outdir / DISTRICT_JSON, result.district.to_json()),
        _write(outdir / SUMMARY_XLSX, render_summary(result)),
        *write_values(result, outdir),
    ]
