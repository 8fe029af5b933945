"""Workbook -> Report + findings: identity, tamper checks, input values, rules.

The reader trusts nothing but the input cells the definition declares. Labels and total
formulas are compared with the definition to detect edited or shifted sheets, totals are
recomputed (cached results are only compared), and every value problem becomes a Finding
at its sheet and cell with the raw text the clerk typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation, localcontext
from functools import lru_cache
from pathlib import PurePath

from tianbao.cells import Cell, Range, column_index
from tianbao.distribute import file_name_part
from tianbao.formdef import FieldsSection, Form, InputCell, TableSection
from tianbao.model import FieldValue, Finding, Number, Report, Unit, empty_report
from tianbao.roster import Roster
from tianbao.rules import check_formula, check_report, computed_formula, expand_rule, recompute, stated_total_findings
from tianbao.writer import MAX_AMOUNT, MAX_COUNT, META_SHEET, number_cells, numbers_fingerprint
from tianbao.xlsx import RawCell, SheetData, SheetInfo, WorkbookInfo, XlsxPackage

# The sheet `tianbao annotate` puts first; a corrected return may still carry it.
ANNOTATION_SHEET = "错误清单"

_FULL_WIDTH = str.maketrans("０１２３４５６７８９．，－＋", "0123456789.,-+")
# ASCII digits only ([0-9], never \d): a Chinese keyboard types ASCII or full-width digits, and
# Decimal() would silently read Arabic-Indic or other scripts' digits.
_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")
_EXPONENT = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)[eE][+-]?[0-9]+$")
# How a spreadsheet stores a number (<v>): exponents allowed, nothing but ASCII.
_STORED_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")
_THOUSANDS = re.compile(r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$")
_SPACES = " \t\r\n\u3000\u00a0"
_DATE_TEXT = re.compile(r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?$")


@dataclass
class ReadOptions:
    roster: Roster | None = None
    year: int | None = None
    strict: bool = False
    unit_name: str | None = None  # for a published report that names no unit


@dataclass
class ReadResult:
    """What one workbook gave: the report (None when unusable) and every finding."""

    report: Report | None
    findings: list[Finding]
    # Raw text of inputs that could not be used, by (sheet, A1): `annotate` shows them again.
    rejected_inputs: dict[tuple[str, str], str] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)


def error(rule: str, message: str, sheet: str | None = None, cell: str | None = None,
          expected: str | None = None, found: str | None = None) -> Finding:
    return Finding(rule=rule, severity="error", message=message, sheet=sheet, cell=cell,
                   expected=expected, found=found)


def warning(rule: str, message: str, sheet: str | None = None, cell: str | None = None,
            expected: str | None = None, found: str | None = None) -> Finding:
    return Finding(rule=rule, severity="warning", message=message, sheet=sheet, cell=cell,
                   expected=expected, found=found)


def read_workbook(package: XlsxPackage, form: Form, options: ReadOptions, file_name: str | None = None) -> ReadResult:
    """Read one workbook package (XlsxError propagates for unreadable packages); `file_name`,
    the name it was submitted under, is checked against the identity it carries."""
    book = package.workbook()
    meta, findings, sources = read_identity(package, book)
    saved_at = package.saved_at()
    if saved_at:
        meta["saved_at"] = saved_at
    stop = _identity_stop(form, meta)
    if stop is not None:
        return ReadResult(None, [*findings, stop], meta=meta)
    if book.external_links:
        findings.append(warning("tamper.external_link", f"工作簿中有 {book.external_links} 个指向其他文件的外部链接；"
                                "导入只读取本文件中填写的数值，请删除外部链接后再报送。",
                                found=str(book.external_links)))
    sheets, structure = _load_sheets(package, book, form)
    structure += label_findings(form, sheets) + formula_findings(form, sheets) + input_name_findings(form, book)
    structure += check_cell_findings(form, sheets) + merged_area_findings(form, sheets)
    if not structure and meta.get("fingerprint") and meta["fingerprint"] != form.fingerprint:
        # Same id and version, same labels and formulas: an edited copy of the definition.
        findings.append(warning(
            "identity.fingerprint",
            "该工作簿由另一份表单定义文件生成（表单编号和版本相同，但定义内容不同）；标签和公式与当前定义一致，已照常导入。",
            expected=form.fingerprint[:12], found=meta["fingerprint"][:12],
        ))
    findings += structure
    values = _Values(form, sheets, options.strict, book.date1904)
    report = _build_report(form, values)
    findings += values.findings + _identity_findings(form, report, options)
    findings += identity_mismatch_findings(form, report, sources, file_name, options.roster)
    if not any(f.is_error for f in values.findings):  # an unreadable number is not an untouched one
        findings += unfilled_findings(form, report, meta)
    findings += outside_findings(form, sheets)
    recompute(form, report.tables)
    stated = _stated_tables(form, report, sheets)
    if stated != report.tables:  # only then can a cached total differ (saves a recompute)
        findings += stated_total_findings(form, stated, "warning")
    findings += check_report(form, report)
    report.findings = findings
    return ReadResult(report, findings, values.rejected, meta)


# ---------------------------------------------------------------------------------------
# Identity


# Where a workbook states its identity, as named to the clerk when they disagree.
IDENTITY_SOURCES = {
    "sheet": f"隐藏的标识工作表“{META_SHEET}”",
    "names": "工作簿的定义名称",
    "properties": "文档属性",
    "cells": "基本信息单元格",
    "file": "文件名",
}
_UNIT_ROLES = {"unit_name": "单位名称", "unit_code": "单位代码", "unit_level": "单位层级", "year": "报告年度"}


def read_identity(package: XlsxPackage,
                  book: WorkbookInfo) -> tuple[dict[str, str], list[Finding], dict[str, dict[str, str]]]:
    """Identity keys from the hidden sheet, then defined names, then custom properties
    (merged in that order), and what each of these sources says on its own."""
    findings: list[Finding] = []
    sources: dict[str, dict[str, str]] = {"sheet": {}, "names": {}, "properties": {}}
    info = next((s for s in book.sheets if s.name == META_SHEET), None)
    if info is not None:
        if info.state == "visible":
            findings.append(warning("identity.meta_visible",
                                    f"隐藏的标识工作表“{META_SHEET}”被取消了隐藏；请不要修改其中的内容。",
                                    sheet=META_SHEET))
        data = package.sheet(info)
        for (row, col), raw in data.cells.items():
            if col == 0 and raw.value:
                value = data.cells.get((row, 1))
                sources["sheet"].setdefault(raw.value, (value.value or "") if value else "")
    for name, text in book.defined_names.items():
        if name.startswith("tianbao_"):
            sources["names"].setdefault(name.removeprefix("tianbao_"), _name_constant(text))
    for name, text in package.custom_properties().items():
        if name.startswith("tianbao_"):
            sources["properties"].setdefault(name.removeprefix("tianbao_"), text)
    meta: dict[str, str] = {}
    for values in sources.values():
        for key, value in values.items():
            meta.setdefault(key, value)
    return meta, findings, sources


def _name_constant(text: str) -> str:
    text = text.strip().removeprefix("=")
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('""', '"')
    return text


def _identity_stop(form: Form, meta: dict[str, str]) -> Finding | None:
    """A finding that makes reading pointless: not ours, another form, an old version."""
    form_id = meta.get("form_id", "")
    if not form_id:
        return error("identity.form", "这不是用 tianbao 生成的填报工作簿（找不到模板标识）。"
                     "请使用下发的填报模板填写后报送，不要把内容复制到自己新建的表格里。",
                     expected=form.id, found="（无）")
    if form_id != form.id:
        return error("identity.form", f"该工作簿属于另一种表单（{form_id}），"
                     f"不是本次收集的“{form.spec.title}”（{form.id}）。请使用本次下发的模板填写。",
                     expected=form.id, found=form_id)
    version = meta.get("form_version", "")
    if version not in form.accepted_versions:
        accepted = "、".join(form.accepted_versions)
        return error("identity.version", f"该工作簿是用 {version or '未知'} 版模板生成的，本次只接受 {accepted} 版。"
                     "请用新下发的模板重新填写（可以把数字逐项抄过去）。", expected=accepted, found=version or "（无）")
    return None


# ---------------------------------------------------------------------------------------
# Sheets, labels, formulas


def _load_sheets(package: XlsxPackage, book: WorkbookInfo, form: Form) -> tuple[dict[str, SheetData], list[Finding]]:
    by_name = {s.name: s for s in book.sheets}
    expected = [s.sheet for s in form.sections]
    known = {*form.sheet_names, META_SHEET, ANNOTATION_SHEET}
    missing = [name for name in form.sheet_names if name not in by_name]
    extra = [s.name for s in book.sheets if s.name not in known]
    findings = []
    for name in missing:
        if len(missing) == 1 and len(extra) == 1:
            message = f"工作表“{name}”被改名为“{extra[0]}”。请把名称改回“{name}”，或使用新模板重新填写。"
            found = extra[0]
        else:
            message = f"缺少工作表“{name}”（可能被删除或改名）。请使用下发的模板填写，不要删除或改名工作表。"
            found = "（无）"
        findings.append(error("tamper.sheet", message, sheet=name, expected=name, found=found))
    sheets = {}
    for name in expected:
        info: SheetInfo | None = by_name.get(name)
        if info is not None:
            sheets[name] = package.sheet(info)
    if extra and not (len(missing) == 1 and len(extra) == 1):
        copies = copy_findings(form, sheets, {name: package.sheet(by_name[name]) for name in extra})
        findings += copies
        others = [name for name in extra if name not in {f.sheet for f in copies}]
        if others:
            listed = "、".join(others)
            findings.append(warning("tamper.extra_sheet", f"工作簿中多出工作表：{listed}，其中的内容不会被导入。",
                                    found=listed))
    return sheets, findings


def _content(raw: RawCell | None) -> str:
    if raw is None:
        return ""
    return "=" + raw.formula.removeprefix("=") if raw.formula else (raw.value or "").strip(_SPACES)


def copy_findings(form: Form, sheets: dict[str, SheetData], extra: dict[str, SheetData]) -> list[Finding]:
    """An extra sheet with the labels of a form sheet is a copy of it ("表二 (2)"). Only the
    original is read: a copy holding other values than the original is an error naming it."""
    labels: dict[str, list[tuple[Cell, str]]] = {}
    for sheet, cell, text in _label_positions(form):
        labels.setdefault(sheet, []).append((cell, text))
    findings = []
    for name, data in extra.items():
        original = next((sheet for sheet, placed in labels.items() if sheet in sheets
                         and all(_same_label(_text(data.at(cell)), text) for cell, text in placed)), None)
        if original is None:
            continue
        differing = [c for c in form.input_cells if c.sheet == original
                     and _content(data.at(c.cell)) not in ("", _content(sheets[original].at(c.cell)))]
        if not differing:
            continue
        shown = "、".join(c.a1 for c in differing[:5]) + ("等" if len(differing) > 5 else "")
        first = differing[0]
        findings.append(error(
            "tamper.sheet_copy",
            f"工作表“{name}”是“{original}”的副本，其中 {shown} 共 {len(differing)} 个单元格的内容与“{original}”不同，"
            f"而导入只读取“{original}”，副本中的内容不会被导入。请把要报送的内容填在“{original}”中，并删除工作表“{name}”。",
            name, ",".join(c.a1 for c in differing), _content(sheets[original].at(first.cell)) or "（空）",
            _clip(_content(data.at(first.cell))),
        ))
    return findings


def _text(raw: RawCell | None) -> str:
    if raw is None or raw.value is None:
        return ""
    return raw.value


def _same_label(found: str, expected: str) -> bool:
    return " ".join(found.split()) == " ".join(expected.split())


@lru_cache(maxsize=8)
def _label_positions(form: Form) -> list[tuple[str, Cell, str]]:
    """(sheet, cell, text) of every label the definition places."""
    found = []
    for section in form.sections:
        if isinstance(section, FieldsSection):
            col = column_index(section.label_column)
            found += [(section.sheet, Cell(f.row - 1, col), f.label) for f in section.fields]
        else:
            origin = form.origin(section)
            found += [(section.sheet, Range.parse(lbl.range).shifted(origin).first, lbl.text) for lbl in section.labels]
    return found


def label_findings(form: Form, sheets: dict[str, SheetData]) -> list[Finding]:
    findings = []
    texts: dict[str, dict[str, list[Cell]]] = {}
    for sheet, cell, expected in _label_positions(form):
        data = sheets.get(sheet)
        if data is None:
            continue
        found = _text(data.at(cell))
        if _same_label(found, expected):
            continue
        if sheet not in texts:
            texts[sheet] = {}
            for (row, col), raw in data.cells.items():
                if raw.kind == "s" and raw.value:
                    texts[sheet].setdefault(" ".join(raw.value.split()), []).append(Cell(row, col))
        elsewhere = [c for c in texts[sheet].get(" ".join(expected.split()), []) if c != cell]
        if elsewhere:
            message = (f"{sheet}!{cell.a1} 应为“{expected}”，这一标签现在在 {elsewhere[0].a1}："
                       "表格的行或列被插入、删除或移动了。请使用下发的模板重新填写，不要增删行列。")
        elif found:
            message = f"{sheet}!{cell.a1} 的标签被改为“{_clip(found)}”，应为“{expected}”。请不要修改表格的标签。"
        else:
            message = f"{sheet}!{cell.a1} 的标签“{expected}”被删除了。请使用下发的模板，不要修改表格的标签。"
        findings.append(error("tamper.label", message, sheet=sheet, cell=cell.a1, expected=expected,
                              found=found or "（空）"))
    return findings


_NAME_TARGET = re.compile(r"^=?(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Z]{1,3})\$?([0-9]+)$")


def input_name_findings(form: Form, book: WorkbookInfo) -> list[Finding]:
    """Every input cell has a defined name; spreadsheet programs move names with the cells,
    so a name pointing elsewhere shows an input cell that was moved (rows or columns inserted
    or deleted). Names a client dropped are not an error."""
    findings = []
    for cell in form.input_cells:
        target = book.defined_names.get(cell.defined_name)
        if target is None:
            continue
        match = _NAME_TARGET.match(target.strip())
        where = f"{cell.sheet}!{cell.a1}"
        if match is None:
            message = (f"“{cell.label}”的输入单元格（应在 {where}）已被删除：表格的行或列被删除了。"
                       "请使用下发的模板重新填写。")
            findings.append(error("tamper.input", message, cell.sheet, cell.a1, where, target))
            continue
        sheet = (match.group(1) or "").replace("''", "'") or match.group(2)
        a1 = f"{match.group(3)}{match.group(4)}"
        if (sheet, a1) != (cell.sheet, cell.a1):
            message = (f"“{cell.label}”的输入单元格应在 {where}，现在在 {sheet}!{a1}："
                       "表格的行或列被插入、删除或移动了。请使用下发的模板重新填写，不要增删行列。")
            findings.append(error("tamper.input", message, cell.sheet, cell.a1, where, f"{sheet}!{a1}"))
    return findings


_QUOTED_SHEET = re.compile(r"'((?:[^']|'')+)'!")


def normalise_formula(text: str) -> str:
    # Clients differ in quoting sheet names ('基本信息'!B5 or 基本信息!B5): compare unquoted.
    text = _QUOTED_SHEET.sub(lambda m: m.group(1).replace("''", "'") + "!", text)
    return re.sub(r"[\s$]", "", text).removeprefix("=").upper()


@lru_cache(maxsize=8)
def _check_cells(form: Form) -> list[tuple[str, Cell, str]]:
    """(sheet, cell, formula) of every ✓/✗ check cell the workbook carries."""
    found = []
    for rule in form.spec.rules:
        if rule.check is None:
            continue
        for instance in expand_rule(form, rule):
            if instance.check_cell is not None:
                formula = check_formula(form, instance, rule.check.sheet)
                found.append((rule.check.sheet, Cell.parse(instance.check_cell), formula))
    return found


def check_cell_findings(form: Form, sheets: dict[str, SheetData]) -> list[Finding]:
    """A check cell overwritten (a constant "✓") no longer shows whether the numbers agree."""
    findings = []
    for sheet, cell, expected in _check_cells(form):
        data = sheets.get(sheet)
        if data is None:
            continue
        raw = data.at(cell)
        if raw is not None and raw.formula and normalise_formula(raw.formula) == normalise_formula(expected):
            continue
        where = f"{sheet}!{cell.a1}"
        if raw is None or raw.is_empty:
            message, found = f"{where} 的校验公式被删除了（现在是空白）。", "（空）"
        elif not raw.formula:
            found = _text(raw)
            message = f"{where} 的校验公式被改成了固定内容“{_clip(found)}”，不再随数字变化。"
        else:
            found = "=" + raw.formula.removeprefix("=")
            message = f"{where} 的校验公式被改为 {_clip(found)}。"
        message += "校验结果应由公式自动计算，请使用下发的模板重新填写。"
        findings.append(error("tamper.check", message, sheet, cell.a1, expected, found))
    return findings


@lru_cache(maxsize=8)
def _merged_areas(form: Form) -> list[tuple[str, Range, InputCell | None, str]]:
    """(sheet, range, input cell or None, label text) of every area the workbook merges
    into one cell: only its first cell is read, so the others must stay empty."""
    areas: list[tuple[str, Range, InputCell | None, str]] = []
    for cell in form.input_cells:
        if cell.merge is not None and not cell.merge.is_single:
            areas.append((cell.sheet, cell.merge, cell, cell.label))
    for section in form.tables:
        origin = form.origin(section)
        for label in section.labels:
            rng = Range.parse(label.range).shifted(origin)
            if not rng.is_single:
                areas.append((section.sheet, rng, None, label.text))
    for rule in form.spec.rules:
        if rule.check and rule.check.label and not Range.parse(rule.check.label.range).is_single:
            areas.append((rule.check.sheet, Range.parse(rule.check.label.range), None, rule.check.label.text))
    return areas


def merged_area_findings(form: Form, sheets: dict[str, SheetData]) -> list[Finding]:
    """Content typed into a merged area after it was unmerged is never read: say where it is."""
    findings = []
    for sheet, area, input_cell, text in _merged_areas(form):
        data = sheets.get(sheet)
        if data is None:
            continue
        first = area.first
        for cell in area.cells():
            raw = data.at(cell)
            if cell == first or raw is None or (not raw.formula and (raw.value or "").strip(_SPACES) == ""):
                continue
            found = _clip(_text(raw) or "=" + (raw.formula or "").removeprefix("="))
            if input_cell is not None:
                message = (f"“{text}”应填在 {sheet}!{first.a1}（{area.first.a1}:{area.last.a1} 原是合并单元格，"
                           f"只读取 {first.a1}），{cell.a1} 中填写的“{found}”不会被导入。"
                           f"请把内容填在 {first.a1}，并清空 {cell.a1}。")
            else:
                message = (f"{sheet}!{cell.a1} 在标签“{_clip(text)}”的区域 {area.first.a1}:{area.last.a1} 内"
                           f"（原是合并单元格），不应填写内容，其中的“{found}”不会被导入。请删除；需要说明的情况请写在文字部分。")
            findings.append(error("tamper.merged_area", message, sheet, cell.a1, "（空）", found))
    return findings


def formula_findings(form: Form, sheets: dict[str, SheetData]) -> list[Finding]:
    findings = []
    for (table_id, row_id, column_id), computed in form.computed_cells.items():
        data = sheets.get(computed.sheet)
        if data is None:
            continue
        expected = computed_formula(form, table_id, row_id, column_id)
        raw = data.at(computed.cell)
        where = f"{computed.sheet}!{computed.a1}"
        if raw is not None and raw.formula and normalise_formula(raw.formula) == normalise_formula(expected):
            continue
        if raw is None or raw.is_empty:
            message, found = f"{where} 的合计公式被删除了（现在是空白）。", "（空）"
        elif not raw.formula:
            found = _text(raw)
            message = f"{where} 的合计公式被改为数值 {found}。"
        else:
            found = "=" + raw.formula.removeprefix("=")
            message = f"{where} 的合计公式被改为 {found}。"
        message += f"合计应由公式 {expected} 自动计算，请使用下发的模板重新填写。"
        findings.append(error("tamper.formula", message, sheet=computed.sheet, cell=computed.a1,
                              expected=expected, found=found))
    return findings


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------
# Values


class _Values:
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

    def _add(self, cell: InputCell, severity: str, rule: str, message: str, raw: str | None,
             expected: str | None = None, typed: str | None = None) -> None:
        """A finding at the cell; for an error, `typed` (default `raw`) is what the clerk typed."""
        text = f"“{cell.label}”{message}"
        self.findings.append(Finding(rule=rule, severity=severity, message=text, sheet=cell.sheet,  # type: ignore[arg-type]
                                     cell=cell.a1, expected=expected, found=raw))
        if severity == "error" and rule not in ("value.blank", "value.required"):
            self.rejected[(cell.sheet, cell.a1)] = typed if typed is not None else raw or ""

    def _read(self, cell: InputCell, raw: RawCell | None) -> FieldValue:
        if raw is not None and raw.formula:
            formula = "=" + raw.formula.removeprefix("=")
            if "[" in formula or re.search(r"\w+:/|\\\\", formula):
                self._add(cell, "error", "value.external", f"填写了引用其他文件的公式 {formula}，请改为直接填写数值。",
                          formula, "数值")
                return None
            if raw.value is None:
                # Written by a script (<f> without <v>): only a spreadsheet program computes it.
                self._add(cell, "error", "value.formula_without_value",
                          f"填写的是公式 {formula}，公式的结果没有保存，无法读取。请改为直接填写数值。",
                          formula, _expected(cell))
                return None
            self._add(cell, "warning", "value.formula",
                      f"填写的是公式 {formula}，已按计算结果读取；请改为直接填写数值。", formula)
        if raw is None or raw.value is None or raw.value.strip(_SPACES) == "":
            return self._blank(cell)
        if raw.kind in ("b", "e"):
            shown = {"0": "FALSE", "1": "TRUE"}.get(raw.value, raw.value) if raw.kind == "b" else raw.value
            self._add(cell, "error", "value.text", f"的内容“{shown}”不是有效的值。", shown, _expected(cell))
            return None
        if cell.type in ("int", "decimal", "year"):
            return self._number(cell, raw)
        if cell.type == "date":
            return self._date(cell, raw)
        return self._text(cell, raw)

    def _blank(self, cell: InputCell) -> FieldValue:
        if cell.type in ("int", "decimal"):
            if cell.required or self.strict:
                self._add(cell, "error", "value.blank", "是空白。没有发生的事项请填 0，不要留空。", "（空）", "0")
                return None
            self._add(cell, "warning", "value.blank", "是空白，已按 0 计算。没有发生的事项请填 0，不要留空。",
                      "（空）", "0")
            return Decimal(0).quantize(Decimal(1).scaleb(-cell.places)) if cell.type == "decimal" else 0
        if cell.required:
            self._add(cell, "error", "value.required", "是必填项，请填写。", "（空）", _expected(cell))
        return None

    def _number(self, cell: InputCell, raw: RawCell) -> FieldValue:
        text = raw.value or ""
        changes: list[str] = []
        if raw.kind == "s":
            parsed = _normalise_number_text(text, changes)
            if parsed is None:
                self._add(cell, "error", *_not_a_number(text), text, _expected(cell))
                return None
            number = parsed
        else:
            try:
                if not _STORED_NUMBER.match(text.strip()):
                    raise InvalidOperation
                number = Decimal(text)
            except InvalidOperation:
                self._add(cell, "error", "value.text", f"的内容“{_clip(text)}”不是数字。", text, _expected(cell))
                return None
        if not number.is_finite():  # NaN, Infinity: Decimal parses them, comparisons would raise
            self._add(cell, "error", "value.text", f"的内容“{_clip(text)}”不是数字。", text, _expected(cell))
            return None
        if raw.date_style and cell.type in ("int", "decimal"):
            # Excel turns "3/1" or "2025-3-1" typed into a number cell into a date serial number.
            day = self._serial_date(number)
            shown = day.isoformat() if day else text
            self._add(cell, "error", "value.date_in_number", f"填写的是日期 {shown}，这里应填写数字。"
                      "请清除该单元格的格式后重新填写数字。", shown, _expected(cell))
            return None
        if number < 0:
            self._add(cell, "error", "value.negative", f"填写了负数 {text.strip(_SPACES)}，应为不小于 0 的数。", text,
                      _expected(cell))
            return None
        if cell.type == "decimal":
            return self._decimal(cell, number, text, changes)
        if number != number.to_integral_value():
            self._add(cell, "error", "value.fraction", f"填写了 {text.strip(_SPACES)}，这里只能填整数。", text,
                      _expected(cell))
            return None
        # Range checks on the Decimal, before int(): int(Decimal("1e999999999")) runs for minutes.
        if cell.type == "year":
            if not 2000 <= number <= 2100:
                self._add(cell, "error", "value.year", f"填写的年份 {text} 无效，应为四位年份。", text, "四位年份")
                return None
        elif number > MAX_COUNT:
            self._add(cell, "error", "value.magnitude", f"填写的 {_clip(text)} 大得不合常理，请核对。", text,
                      f"不超过 {MAX_COUNT}")
            return None
        value = int(number)
        if raw.kind == "n" and str(value) != text:
            changes.append("去掉了多余的小数点和零")
        if changes:
            self._add(cell, "warning", "value.normalised", f"填写的“{text}”已按 {value} 读取（{'，'.join(changes)}）。",
                      text, str(value))
        return value

    def _decimal(self, cell: InputCell, number: Decimal, text: str, changes: list[str]) -> FieldValue:
        places = cell.places
        if _places(number) > places:
            # A binary double written with 17 digits (4068.2080000000002): Excel keeps 15.
            with localcontext() as context:
                context.prec = 15
                rounded = +number
            if _places(rounded) > places:
                self._add(cell, "error", "value.places", f"填写的 {text.strip(_SPACES)} 超过 {places} 位小数。", text,
                          f"最多 {places} 位小数")
                return None
            number = rounded
        if number > MAX_AMOUNT:
            self._add(cell, "error", "value.magnitude", f"填写的 {text} 大得不合常理，请核对单位。", text,
                      f"不超过 {MAX_AMOUNT}")
            return None
        value = number.quantize(Decimal(1).scaleb(-places))
        if changes:
            self._add(cell, "warning", "value.normalised", f"填写的“{text}”已按 {value} 读取（{'，'.join(changes)}）。",
                      text, str(value))
        return value

    def _serial_date(self, serial: Decimal) -> date | None:
        """The day a spreadsheet date serial number stands for (None when out of range)."""
        try:
            return self.epoch + timedelta(days=int(serial)) if serial.is_finite() and serial.adjusted() < 7 else None
        except OverflowError:
            return None

    def _date(self, cell: InputCell, raw: RawCell) -> FieldValue:
        text = (raw.value or "").strip(_SPACES)
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
                        self._add(cell, "warning", "value.normalised",
                                  f"填写的“{text}”已按日期 {day.isoformat()} 读取。", text, day.isoformat())
                    return day.isoformat()
        self._add(cell, "error", "value.date", f"填写的“{_clip(text)}”不是有效日期，请按 2026-01-15 的格式填写。", text,
                  "日期")
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
            value = text.strip(_SPACES)
            if value not in cell.choices:
                allowed = "、".join(cell.choices)
                self._add(cell, "error", "value.choice",
                          f"填写的“{_clip(value)}”不在可选范围内（{allowed}），请从下拉列表中选择。", text, allowed)
                return None
            return value
        if cell.max_length and len(text) > cell.max_length:
            self._add(cell, "error", "value.too_long",
                      f"有 {len(text)} 个字，超过上限 {cell.max_length} 个字，请精简。",
                      f"{len(text)} 字", f"不超过 {cell.max_length} 字", typed=text)
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
    """(rule, message) for number text that `_normalise_number_text` refused."""
    plain = text.strip(_SPACES).translate(_FULL_WIDTH)
    if any(char.isdecimal() and not char.isascii() for char in plain):
        return "value.digits", (f"填写的“{_clip(text)}”中有键盘上的 0–9 以外的数字字符"
                                "（例如阿拉伯文或其他文字的数字），请用阿拉伯数字 0–9 重新输入。")
    if _EXPONENT.match(plain):
        return "value.text", f"填写的“{_clip(text)}”是科学计数法，请直接填写完整的数字（例如 1000，而不是 1e3）。"
    if re.search(r"[0-9]", plain):
        return "value.text", f"填写了“{_clip(text)}”，只填阿拉伯数字，不要带单位或文字。"
    return "value.text", f"填写了“{_clip(text)}”，应填写阿拉伯数字，没有请填 0。"


def _normalise_number_text(text: str, changes: list[str]) -> Decimal | None:
    """A number typed as text, with what had to change noted; None when it is no number."""
    value = text
    if value != value.strip(_SPACES):
        value = value.strip(_SPACES)
        changes.append("去掉了首尾空格")
    converted = value.translate(_FULL_WIDTH)
    if converted != value:
        value = converted
        changes.append("全角数字已转为半角")
    if _THOUSANDS.match(value):
        value = value.replace(",", "")
        changes.append("去掉了千位分隔符")
    if not _NUMBER.match(value):
        return None
    number = Decimal(value)
    if number == number.to_integral_value() and "." in value:
        changes.append("去掉了多余的小数点和零")
    return number


# ---------------------------------------------------------------------------------------
# The report


def _build_report(form: Form, values: _Values) -> Report:
    """The report from the parsed input values (identity fields go to unit and year)."""
    section = form.identity_section.id
    roles = form.identity_fields
    identity = {role: values.get(section, (field_id,)) for role, field_id in roles.items()}
    name = str(identity["unit_name"] or "")
    code = str(identity["unit_code"] or "")
    level = str(identity["unit_level"] or "")
    year = identity["year"] if isinstance(identity["year"], int) else 0
    report = empty_report(form, Unit(code=code, name=name, level=level), year)
    identity_ids = set(roles.values())
    for cell in form.input_cells:
        value = values.get(cell.section, cell.key)
        if cell.section in report.tables:
            if value is not None:
                report.tables[cell.section][cell.key[0]][cell.key[1]] = value  # type: ignore[assignment]
        elif not (cell.section == section and cell.key[0] in identity_ids):
            report.fields[cell.section][cell.key[0]] = value
    return report


def _identity_cell(form: Form, role: str) -> tuple[str, str]:
    basic = form.identity_section
    field_def = form.field(basic.id, form.identity_fields[role])
    return basic.sheet, Cell(field_def.row - 1, column_index(basic.input_column)).a1


# distribute's file names: code_name_year.xlsx (a copy may add " (1)" or more after the year).
_DISTRIBUTED_NAME = re.compile(r"^(?P<code>[^_]*)_(?P<name>.+?)_(?P<year>20[0-9]{2}|2100)(?P<rest>(?:[^0-9].*)?)$")
_COPY_SUFFIX = re.compile(r"^\s*[(（][0-9]+[)）]$")


def _file_name_identity(file_name: str | None, claims: dict[str, dict[str, str]],
                        roster: Roster | None) -> dict[str, str]:
    """The unit and year a file name states, when it is one of distribute's names.

    A name exactly in distribute's form counts; a longer one ("…_2025_修改.xlsx") only when
    its code or name is one the workbook states, or names a roster unit, so that a clerk's
    own name such as "报告_第2版_2025.xlsx" is not taken for a unit."""
    if not file_name:
        return {}
    match = _DISTRIBUTED_NAME.match(PurePath(file_name.replace("\\", "/")).stem)
    if match is None:
        return {}
    code, name, year = match["code"], match["name"], match["year"]
    codes = {values["unit_code"] for values in claims.values() if "unit_code" in values}
    names = {file_name_part(values["unit_name"]): values["unit_name"] for values in claims.values()
             if "unit_name" in values}
    exact = match["rest"] == "" or _COPY_SUFFIX.match(match["rest"]) is not None
    listed = roster is not None and roster.find(code, name) is not None
    if not (exact or listed or code in codes or name in names):
        return {}
    said = {"unit_name": names.get(name, name), "year": year}
    if code:
        said["unit_code"] = code
    return said


def identity_mismatch_findings(form: Form, report: Report, sources: dict[str, dict[str, str]],
                               file_name: str | None, roster: Roster | None) -> list[Finding]:
    """The unit and year stated by the cells, the hidden sheet, the defined names, the
    document properties and the distributed file name must agree: otherwise nobody can tell
    whose numbers these are (locked cells changed, or a workbook saved under another unit's
    name). Sources a client dropped, and values left empty at generation, are not compared."""
    claims = {source: {role: values[role].strip() for role in _UNIT_ROLES if values.get(role, "").strip()}
              for source, values in sources.items()}
    claims["cells"] = {role: str(value).strip() for role in _UNIT_ROLES
                       if (value := report.identity_value(role)) not in (None, "", 0)}
    claims["file"] = _file_name_identity(file_name, claims, roster)
    findings = []
    for role, what in _UNIT_ROLES.items():
        said: dict[str, list[str]] = {}
        for source, values in claims.items():
            if role in values:
                said.setdefault(values[role], []).append(IDENTITY_SOURCES[source])
        if len(said) < 2:
            continue
        sheet, a1 = _identity_cell(form, role)
        parts = "；".join(f"{'、'.join(where)}为“{_clip(value)}”" for value, where in said.items())
        named = any(IDENTITY_SOURCES["file"] in where for where in said.values())
        shown = f"（{file_name}）" if file_name and named else ""
        generated = next((values[role] for source, values in claims.items()
                          if source in ("sheet", "names", "properties") and role in values), "")
        found = "、".join(value for value in said if value != generated)
        findings.append(error(
            "identity.mismatch",
            f"{what}前后不一致：{parts}{shown}。工作簿下发后单位信息被改动过，或者把别的单位的工作簿改成了这个文件名，"
            "无法确定这份报告属于哪个单位，已退回。请使用下发给本单位的工作簿填写，不要修改单位信息和文件名。",
            sheet, a1, generated or None, found,
        ))
    return findings


def unfilled_findings(form: Form, report: Report, meta: dict[str, str]) -> list[Finding]:
    """A workbook returned with its numbers as distributed was never filled in: refused as
    未填写 unless the unit confirmed it has nothing to report (the definition's `unfilled`).
    Without the distributed numbers' fingerprint (older workbooks), all zeros count as such."""
    check = form.spec.unfilled
    if check is None:
        return []
    section_id, field_id = check.ref
    confirm = next(c for c in form.input_cells if c.section == section_id and c.key == (field_id,))
    answer = report.field_value(form, section_id, field_id)
    confirmed = answer not in (None, "")
    distributed = meta.get("distributed_inputs", "")
    if distributed:
        untouched = numbers_fingerprint(form, report) == distributed
        state = "工作簿中的数字与下发时完全相同"
    else:
        untouched = not any(_number_value(report, section, key) for section, key, _type in number_cells(form))
        state = "工作簿中的数字全部为 0"
    where = f"{confirm.sheet}!{confirm.a1}“{confirm.label}”"
    if untouched and not confirmed:
        how = f"在 {where}中选择“{confirm.choices[0]}”" if confirm.choices else f"在 {where}中填写说明"
        return [error("file.untouched",
                      f"{state}，看起来还没有填写（未填写），已退回。请填写本单位本年度的数字后重新报送；"
                      f"如果本年度确实没有任何相关数据、全部为 0，请{how}后重新报送。",
                      confirm.sheet, confirm.a1, f"填写数字，或确认“{confirm.label}”", "（未填写）")]
    if confirmed and not untouched:
        return [warning("file.confirmed_with_numbers",
                        f"{where}选择了“{answer}”，但表格中填有数字。请核对：本年度有数据的，请清除这一确认；"
                        "确实没有的，请把数字改为 0。", confirm.sheet, confirm.a1, "（空）", str(answer))]
    return []


def _number_value(report: Report, section: str, key: tuple[str, ...]) -> FieldValue:
    if len(key) == 2:
        return report.tables[section][key[0]][key[1]]
    return report.fields.get(section, {}).get(key[0])


def _identity_findings(form: Form, report: Report, options: ReadOptions) -> list[Finding]:
    findings = []
    if options.year is not None and report.year and report.year != options.year:
        sheet, a1 = _identity_cell(form, "year")
        findings.append(error("identity.year", f"这是 {report.year} 年度的报告，本次收集的是 {options.year} 年度。"
                              "请确认报送的文件是否正确。", sheet, a1, str(options.year), str(report.year)))
    if options.roster is not None and (report.unit.code or report.unit.name):
        unit = options.roster.find(report.unit.code, report.unit.name)
        sheet, a1 = _identity_cell(form, "unit_code" if report.unit.code else "unit_name")
        shown = f"{report.unit.name}（代码 {report.unit.code}）" if report.unit.code else report.unit.name
        if unit is None:
            findings.append(error("identity.roster", f"单位“{shown}”不在单位名单中。请使用为本单位下发的模板，"
                                  "或联系汇总部门核对名单。", sheet, a1, "名单中的单位", shown))
        elif unit.name != report.unit.name:
            sheet, a1 = _identity_cell(form, "unit_name")
            findings.append(warning("identity.roster", f"单位代码 {unit.code} 在名单中的名称是“{unit.name}”，"
                                    f"工作簿中填的是“{report.unit.name}”。", sheet, a1, unit.name, report.unit.name))
    return findings


def _stated_tables(form: Form, report: Report, sheets: dict[str, SheetData]) -> dict[str, dict[str, dict[str, Number]]]:
    """Table values as received: inputs plus the cached totals (recomputed where absent);
    `report.tables` must already be recomputed."""
    stated = {t: {r: dict(cols) for r, cols in rows.items()} for t, rows in report.tables.items()}
    for (table_id, row_id, column_id), computed in form.computed_cells.items():
        data = sheets.get(computed.sheet)
        raw = data.at(computed.cell) if data else None
        if raw is None or raw.kind != "n" or not raw.value:
            continue
        try:
            cached = Decimal(raw.value)
        except InvalidOperation:
            continue
        if not cached.is_finite():
            continue
        current = stated[table_id][row_id][column_id]
        # A cached 1e999999999 stays a Decimal: int() of a huge exponent never ends.
        whole = isinstance(current, int) and cached.adjusted() < 30 and cached == int(cached)
        stated[table_id][row_id][column_id] = int(cached) if whole else cached
    return stated


# ---------------------------------------------------------------------------------------
# Content outside the form


@lru_cache(maxsize=8)  # per form, not per workbook: a batch reads hundreds of workbooks
def _known_positions(form: Form) -> dict[str, set[tuple[int, int]]]:
    return {sheet: {(c.row, c.col) for c in cells} for sheet, cells in _known_cells(form).items()}


def _known_cells(form: Form) -> dict[str, set[Cell]]:
    known: dict[str, set[Cell]] = {s.sheet: set() for s in form.sections}
    for section in form.sections:
        cells = known[section.sheet]
        if isinstance(section, TableSection):
            origin = form.origin(section)
            cells.add(Cell(0, origin.col))
            for lbl in section.labels:
                cells.update(Range.parse(lbl.range).shifted(origin).cells())
        else:
            label_col, input_col = column_index(section.label_column), column_index(section.input_column)
            cells.add(Cell(0, label_col))
            for f in section.fields:
                cells.add(Cell(f.row - 1, label_col))
                if f.max_length and f.type in ("text", "longtext"):
                    cells.add(Cell(f.row - 1, input_col + 1))  # the live character count
    for cell in form.input_cells:
        known[cell.sheet].update(cell.merge.cells() if cell.merge else [cell.cell])
    for computed in form.computed_cells.values():
        known[computed.sheet].add(computed.cell)
    for rule in form.spec.rules:
        if rule.check and rule.check.sheet in known:
            known[rule.check.sheet].update(Cell.parse(a1) for a1 in rule.check.cells)
            if rule.check.label:
                known[rule.check.sheet].update(Range.parse(rule.check.label.range).cells())
    return known


def outside_findings(form: Form, sheets: dict[str, SheetData]) -> list[Finding]:
    findings = []
    known = _known_positions(form)
    for sheet, data in sheets.items():
        stray = sorted(Cell(*position) for position in data.cells.keys() - known[sheet]
                       if (data.cells[position].value or "").strip(_SPACES) != "" or data.cells[position].formula)
        if not stray:
            continue
        shown = "、".join(c.a1 for c in stray[:10]) + ("等" if len(stray) > 10 else "")
        findings.append(warning(
            "tamper.outside",
            f"{sheet} 中有 {len(stray)} 个单元格在填报区域之外填写了内容（{shown}），这些内容不会被导入；"
            "请删除，或移到对应的黄色单元格中。",
            sheet, ",".join(c.a1 for c in stray), "（空）", _clip(_text(data.at(stray[0]))),
        ))
    return findings
