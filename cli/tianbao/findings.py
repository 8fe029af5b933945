"""The check catalogue: every check id the tool can emit, with its messages (in the spirit of
GSA FAC's message catalogue and frictionless' error types).

Checks emit by id, never with their own text:

    findings.emit("tamper.formula", "value", sheet=…, cell=…, expected=…, found=…, where=…)

An entry has a severity, a scope (where the problem lies: the whole file, the workbook's
structure, one cell, a published document), a short Chinese name, a one-line Chinese
description and one message template per variant (a variant is one way the check fails;
"" is the only one of most checks). A variant may carry its own severity when one check
is an error in one case and a warning in another (identity.roster, value.blank).
Form rules (R1…, totals, R6, R8) keep their messages in the form definition; `form_checks`
lists them beside the catalogue for `tianbao checks` and docs/校验规则.md, and
`precheck_checks` the checks of `tianbao precheck` (their own data catalogue,
templates/precheck/catalogue.yaml, with four levels).

The catalogue is a Python table rather than a YAML file: it is imported only where a check
is emitted (no file to find and parse at start-up, nothing to ship beside the wheel), and
typos in ids fail at the first `emit` in the tests. This module is long because it is data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from tianbao.report import Finding

if TYPE_CHECKING:
    from tianbao.form.query import Form

Severity = Literal["error", "warning"]
Scope = Literal["file", "workbook", "cell", "document", "merge"]

SEVERITY_NAMES = {"error": "错误", "warning": "警告"}
# How each severity looks wherever a person reads it (提示 is the precheck's "info"):
# (cell fill, font colour) in workbooks and the colour in the terminal.
SEVERITY_FILLS = {"error": ("#FFC7CE", "#9C0006"), "warning": ("#FFE699", "#7F6000"), "info": ("#E7E6E6", "#404040")}
SEVERITY_COLOURS = {"error": "red", "warning": "yellow", "info": "grey50"}
SCOPE_NAMES = {"file": "文件", "workbook": "工作簿", "cell": "单元格", "document": "已发布年报", "merge": "汇总"}


@dataclass(frozen=True)
class Message:
    """A variant's template, with its own severity when it differs from the check's."""

    template: str
    severity: Severity | None = None


@dataclass(frozen=True)
class Check:
    id: str
    severity: Severity
    scope: Scope
    name: str
    description: str
    messages: Mapping[str, str | Message] = field(default_factory=dict)

    def message(self, variant: str) -> Message:
        found = self.messages[variant]
        return found if isinstance(found, Message) else Message(found)

    @property
    def severities(self) -> list[Severity]:
        seen = [self.severity]
        for variant in self.messages:
            severity = self.message(variant).severity
            if severity and severity not in seen:
                seen.append(severity)
        return seen


_REDO = "请使用下发的模板重新填写"
_SAVE_AS = "请“另存为”Excel 工作簿（*.xlsx）后再报送。"
_SEND_XLSX = "请报送填好的 .xlsx 填报工作簿。"
_TOTAL_BY_FORMULA = "合计应由公式 {expected} 自动计算，请使用下发的模板重新填写。"
# The `{where}` and `{choice}` placeholders stay for `emit`; the state and the way to confirm are filled here.
_UNTOUCHED = ("{state}，看起来还没有填写（未填写），已退回。请填写本单位本年度的数字后重新报送；"
              "如果本年度确实没有任何相关数据、全部为 0，请{how}后重新报送。")
_CHECK_BY_FORMULA = "校验结果应由公式自动计算，请使用下发的模板重新填写。"
_TOO_MANY_CELLS = "远超填报表格的范围（可能在表格以外粘贴了大量内容），已拒绝读取。请删除表格以外的内容后重新保存再报送"

# What each kind of file that is not an .xlsx workbook is, and what the clerk should do.
REJECTIONS: dict[str, str] = {
    "empty": "文件是空的。请打开填好的工作簿重新保存，再报送。",
    "truncated": "文件已损坏或不完整（可能下载或复制时中断）。请重新保存后再报送。",
    "xls": "这是旧版 Excel（.xls）或 WPS 表格（.et）格式的文件。"
           "请在 Excel 或 WPS 中“另存为”Excel 工作簿（*.xlsx）后再报送。",
    "ods": "这是 OpenDocument 表格（.ods）文件。" + _SAVE_AS,
    "encrypted": "文件设置了打开密码，请取消密码后重新保存，再报送。",
    "docx": "这是 Word 文档，不是填报工作簿。" + _SEND_XLSX,
    "doc": "这是 Word 文档，不是填报工作簿。" + _SEND_XLSX,
    "odt": "这是文字处理文档，不是填报工作簿。" + _SEND_XLSX,
    "pptx": "这是演示文稿，不是填报工作簿。" + _SEND_XLSX,
    "ole2": "这是旧版 Office 格式的文件，不是 .xlsx 工作簿。" + _SAVE_AS,
    "pdf": "这是 PDF 文件，不是填报工作簿。PDF 无法导入，" + _SEND_XLSX,
    "html": "这是网页（HTML）文件，不是填报工作簿。" + _SEND_XLSX,
    "text": "这是文本文件，不是填报工作簿。" + _SEND_XLSX,
    "zip": "这是压缩包，不是填报工作簿。请解压后分别报送其中的 .xlsx 工作簿。",
    "xlsb": "这是 Excel 二进制工作簿（.xlsb）文件。请在 Excel 中“另存为”Excel 工作簿（*.xlsx）后再报送。",
    "numbers": "这是苹果 Numbers 表格文件。请在 Numbers 中选择“文件 → 导出为 → Excel”，导出 .xlsx 工作簿后再报送。",
    "xls_encrypted": "这是设置了打开密码的旧版 Excel（.xls）或 WPS 表格（.et）文件，无法读取。"
                     "请在 Excel 或 WPS 中输入密码打开，取消密码后“另存为”Excel 工作簿（*.xlsx），再报送。",
    "fods": "这是 OpenDocument 单文件表格（.fods）文件。" + _SAVE_AS,
    "csv": "这是 CSV 文件（逗号或制表符分隔的纯文本），只有数字没有表格格式，无法作为填报工作簿导入。"
           "请在下发的 .xlsx 填报工作簿中填写后报送。",
    "report_json": "这是 tianbao 导入后生成的 JSON 文件（某个单位的报告数据），不是报送的工作簿，不需要再导入。"
                   "汇总时请用 tianbao merge 读取它所在的文件夹。",
    "lock": "这是 Excel 或 WPS 打开工作簿时生成的临时锁定文件（文件名以 ~$ 开头），不是工作簿本身。"
            "请关闭工作簿后，报送同名但不带 ~$ 的 .xlsx 文件。",
    "oversized": "文件结构异常（包含的部件数量远超正常工作簿，疑似恶意文件），已拒绝读取。请重新保存工作簿后再报送。",
    "unknown": "无法识别的文件格式，不是 .xlsx 工作簿。" + _SEND_XLSX,
}

# Where a workbook states its identity, as named to the clerk when they disagree (identity.mismatch).
IDENTITY_SOURCES: dict[str, str] = {
    "sheet": "隐藏的标识工作表“{sheet}”",
    "names": "工作簿的定义名称",
    "properties": "文档属性",
    "cells": "基本信息单元格",
    "file": "文件名",
}
IDENTITY_ROLES: dict[str, str] = {"unit_name": "单位名称", "unit_code": "单位代码", "unit_level": "单位层级",
                                  "year": "报告年度"}

# How the files of one unit are listed in identity.duplicate.
DUPLICATE_LISTING: dict[str, str] = {"file": "{name}（保存于 {time}）", "unknown_time": "保存时间不详"}
_DUPLICATES = "本批文件中有 {count} 份“{unit}”{year} 年度的报告：{listed}。"
_ONLY_ONE = "同一单位只能导入一份，这几份都已退回。请确认哪一份是最终版本，只保留那一份再导入"

# How a number typed as text was read (value.normalised lists what changed).
NORMALISATIONS: dict[str, str] = {
    "spaces": "去掉了首尾空格",
    "full_width": "全角数字已转为半角",
    "thousands": "去掉了千位分隔符",
    "zeros": "去掉了多余的小数点和零",
}

CATALOGUE: tuple[Check, ...] = (
    # -- the file as a whole ----------------------------------------------------------------
    Check("file.unreadable", "error", "file", "文件无法读取",
          "文件不是可读取的 .xlsx 工作簿或已发布年报：格式不对、已损坏、加密、超出安全限制。", {
              **{f"kind.{kind}": text for kind, text in REJECTIONS.items()},
              "os": "文件无法读取（{reason}）。",
              "crashed": "文件无法读取（{kind}），可能已损坏。请重新保存后再报送。",
              "worker": "读取该文件时处理进程意外退出（可能占用内存过多），已中止。请重新保存后再报送。",
              "refused": "{reason}",
              "convert_failed": "{rejection}（已尝试用 LibreOffice 自动转换，但{reason}）",
              "not_a_report": "{rejection}它也不能作为已发布的年报读取：{reason}",
              "corrupt": "文件已损坏或不完整（可能下载或复制时中断），请重新保存后再报送",
              "too_large": "文件过大（{size}），不像是一份填报工作簿，已拒绝读取",
              "members": "文件包含 {count} 个部件，超出正常工作簿的范围（部件数量异常），已拒绝读取",
              "bomb": "文件解压后体积异常巨大（疑似“压缩炸弹”），已拒绝读取。请重新保存工作簿后再报送",
              "part_missing": "工作簿缺少必要的部件 {name}，文件可能已损坏",
              "part_bomb": "工作簿部件 {name} 解压后体积异常（疑似“压缩炸弹”），已拒绝读取",
              "part_damaged": "工作簿部件 {name} 已损坏，请重新保存后再报送",
              "part_size": "工作簿部件 {name} 的大小与声明不符，文件可能已损坏",
              "part_huge": "工作簿部件 {name} 的内容异常庞大（{size}），已拒绝读取",
              "part_unsafe": "工作簿部件 {name} 含有不安全的 XML 声明（DTD/实体），已拒绝读取",
              "part_unparsable": "工作簿部件 {name} 无法解析（{reason}），文件可能已损坏",
              "strict": "工作簿不是常规的 Excel 工作簿格式（可能保存成了“Strict Open XML”格式）。"
                        "请“另存为”Excel 工作簿（*.xlsx）后再报送",
              "strings": "工作簿中的文字条目超过 {limit} 个，远超填报表格的范围，已拒绝读取",
              "sheet_missing": "工作表“{sheet}”的内容缺失，文件可能已损坏",
              "sheet_unsafe": "工作表“{sheet}”含有不安全的 XML 声明（DTD/实体），已拒绝读取",
              "sheet_unparsable": "工作表“{sheet}”的内容无法解析（{reason}），文件可能已损坏",
              "long_text": "工作表“{sheet}”的单元格 {cell} 中有 {length} 个字符，超出每格 {limit} 个字符的上限"
                           "（可能误粘贴了大量内容），已拒绝读取。请删除多余内容后再报送",
              "cells_total": "工作簿中有内容的单元格超过 {limit} 个，" + _TOO_MANY_CELLS,
              "cells_sheet": "工作表“{sheet}”中有内容的单元格超过 {limit} 个，" + _TOO_MANY_CELLS,
          }),
    Check("file.untouched", "error", "file", "未填写",
          "工作簿中的数字与下发时相同（旧模板：全部为 0），又没有确认本年度确实没有数据：看起来还没有填写。", {
              "as_distributed.choice": _UNTOUCHED.format(state="工作簿中的数字与下发时完全相同",
                                                         how="在 {where}中选择“{choice}”"),
              "as_distributed.note": _UNTOUCHED.format(state="工作簿中的数字与下发时完全相同",
                                                       how="在 {where}中填写说明"),
              "zeros.choice": _UNTOUCHED.format(state="工作簿中的数字全部为 0", how="在 {where}中选择“{choice}”"),
              "zeros.note": _UNTOUCHED.format(state="工作簿中的数字全部为 0", how="在 {where}中填写说明"),
          }),
    Check("file.confirmed_with_numbers", "warning", "file", "确认没有数据却填有数字",
          "单位确认本年度没有数据，但表格中填有数字。", {
              "": "{where}选择了“{found}”，但表格中填有数字。请核对：本年度有数据的，请清除这一确认；"
                  "确实没有的，请把数字改为 0。",
          }),
    Check("file.timeout", "error", "file", "读取超时",
          "读取一个文件超过时间限制（max_seconds），已中止；同批其他文件照常导入。", {
              "": "读取该文件超过 {seconds} 秒仍未完成，已中止（文件结构异常复杂或已损坏）。请重新保存后再报送。",
          }),
    Check("file.converted", "warning", "file", "已自动转换格式",
          "文件不是 .xlsx（.xls/.et/.ods），已按 --convert 用 LibreOffice 转换后导入。", {
              "": "文件不是 .xlsx 格式（{what}），已用 LibreOffice 转换后导入。请提醒报送单位以后直接报送 .xlsx 文件。",
          }),
    Check("identity.duplicate", "error", "file", "同一单位重复报送",
          "同一批文件中同一单位同一年度有多份报告：全部退回，并指出保存时间较新的一份；"
          "加 --latest 时采用最新的一份。", {
              "undecided": _DUPLICATES + "无法从工作簿记录的保存时间判断哪一份较新。" + _ONLY_ONE + "。",
              "newer": _DUPLICATES + "按工作簿记录的保存时间，{newest} 较新。" + _ONLY_ONE
                       + "，或加上 --latest 采用保存时间最新的一份。",
              "older": "本批文件中 {other} 也是“{unit}”{year} 年度的报告，且保存时间较新，已按 --latest 采用那一份，"
                       "本文件未导入（{listed}）。",
              "kept": Message("本批文件中还有 {others} 也是“{unit}”{year} 年度的报告；按 --latest 采用了保存时间"
                              "最新的本文件（{listed}）。", "warning"),
          }),
    Check("file.return_workbook", "warning", "file", "未修改的退回工作簿",
          "收集文件夹中：文件是 tianbao annotate 生成的退回修改用工作簿，内容与退回时相同，不作为报送导入。", {
              "": "这是 tianbao 生成的退回修改用工作簿，内容与退回时相同（尚未修改），不作为报送文件导入，已跳过。",
          }),
    Check("review.stale", "warning", "cell", "审核决定不再适用",
          "收集文件夹中：审核人对某一问题的决定是针对当时的值作出的，该处的值已改变，需要重新审核。", {
              "": "{place} 的审核决定（{decision}：{reason}）不再适用：审核时的值为“{expected}”，"
                  "现在为“{found}”。请重新审核这一项。",
          }),
    # -- the workbook: identity and structure -------------------------------------------------
    Check("identity.form", "error", "workbook", "不是本表单的工作簿",
          "工作簿不是用 tianbao 生成的，或属于另一种表单。", {
              "": "这不是用 tianbao 生成的填报工作簿（找不到模板标识）。"
                  "请使用下发的填报模板填写后报送，不要把内容复制到自己新建的表格里。",
              "other": "该工作簿属于另一种表单（{found}），不是本次收集的“{title}”（{expected}）。"
                       "请使用本次下发的模板填写。",
          }),
    Check("identity.version", "error", "workbook", "模板版本不被接受",
          "工作簿由本表单的旧版本（或未被接受的版本）生成。", {
              "": "该工作簿是用 {version} 版模板生成的，本次只接受 {expected} 版。"
                  "请用新下发的模板重新填写（可以把数字逐项抄过去）。",
          }),
    Check("identity.fingerprint", "warning", "workbook", "表单定义文件不同",
          "表单编号和版本相同，但生成工作簿的定义文件内容不同；标签和公式一致时照常导入。", {
              "": "该工作簿由另一份表单定义文件生成（表单编号和版本相同，但定义内容不同）；"
                  "标签和公式与当前定义一致，已照常导入。",
          }),
    Check("identity.meta_visible", "warning", "workbook", "标识工作表被取消隐藏",
          "存放模板标识的隐藏工作表被取消了隐藏。", {
              "": "隐藏的标识工作表“{sheet}”被取消了隐藏；请不要修改其中的内容。",
          }),
    Check("identity.mismatch", "error", "workbook", "单位或年度前后不一致",
          "基本信息单元格、隐藏的标识工作表、定义名称、文档属性和下发时的文件名所写的单位或年度不一致，"
          "无法确定报告属于哪个单位。", {
              "": "{what}前后不一致：{parts}{shown}。"
                  "工作簿下发后单位信息被改动过，或者把别的单位的工作簿改成了这个文件名，"
                  "无法确定这份报告属于哪个单位，已退回。请使用下发给本单位的工作簿填写，不要修改单位信息和文件名。",
          }),
    Check("identity.year", "error", "cell", "报告年度不对",
          "报告年度不是本次收集的年度。", {
              "collection": "这是 {found} 年度的报告，本次收集的是 {expected} 年度。请确认报送的文件是否正确。",
          }),
    Check("identity.roster", "error", "cell", "单位不在名单中",
          "单位不在 --roster 名单中（错误），或代码相同而名称不同（警告）。", {
              "missing": "单位“{found}”不在单位名单中。请使用为本单位下发的模板，或联系汇总部门核对名单。",
              "name": Message("单位代码 {code} 在名单中的名称是“{expected}”，工作簿中填的是“{found}”。", "warning"),
          }),
    Check("tamper.external_link", "warning", "workbook", "有外部链接",
          "工作簿中有指向其他文件的外部链接；只读取本文件中的数值。", {
              "": "工作簿中有 {found} 个指向其他文件的外部链接；导入只读取本文件中填写的数值，请删除外部链接后再报送。",
          }),
    Check("tamper.sheet", "error", "workbook", "工作表被删除或改名",
          "表单的工作表缺失或被改名。", {
              "renamed": "工作表“{sheet}”被改名为“{found}”。请把名称改回“{sheet}”，或使用新模板重新填写。",
              "missing": "缺少工作表“{sheet}”（可能被删除或改名）。请使用下发的模板填写，不要删除或改名工作表。",
          }),
    Check("tamper.extra_sheet", "warning", "workbook", "多出工作表",
          "工作簿中多出表单以外的工作表，其内容不导入。", {
              "": "工作簿中多出工作表：{found}，其中的内容不会被导入。",
          }),
    Check("tamper.label", "error", "cell", "标签被改",
          "表格的标签被修改、删除，或因增删行列而移位。", {
              "moved": "{sheet}!{cell} 应为“{expected}”，这一标签现在在 {now}："
                       "表格的行或列被插入、删除或移动了。" + _REDO + "，不要增删行列。",
              "changed": "{sheet}!{cell} 的标签被改为“{shown}”，应为“{expected}”。请不要修改表格的标签。",
              "deleted": "{sheet}!{cell} 的标签“{expected}”被删除了。请使用下发的模板，不要修改表格的标签。",
          }),
    Check("tamper.input", "error", "cell", "输入单元格被移动",
          "输入单元格的名称指向别处：行或列被插入、删除或移动。", {
              "deleted": "“{label}”的输入单元格（应在 {expected}）已被删除：表格的行或列被删除了。" + _REDO + "。",
              "moved": "“{label}”的输入单元格应在 {expected}，现在在 {found}："
                       "表格的行或列被插入、删除或移动了。" + _REDO + "，不要增删行列。",
          }),
    Check("tamper.formula", "error", "cell", "合计公式被改",
          "合计单元格的公式被删除、改为数值或改为别的公式。", {
              "deleted": "{where} 的合计公式被删除了（现在是空白）。" + _TOTAL_BY_FORMULA,
              "value": "{where} 的合计公式被改为数值 {found}。" + _TOTAL_BY_FORMULA,
              "formula": "{where} 的合计公式被改为 {found}。" + _TOTAL_BY_FORMULA,
          }),
    Check("tamper.check", "error", "cell", "校验公式被改",
          "✓/✗ 校验单元格的公式被删除、改为固定内容或改为别的公式，不再显示数字是否一致。", {
              "deleted": "{where} 的校验公式被删除了（现在是空白）。" + _CHECK_BY_FORMULA,
              "value": "{where} 的校验公式被改成了固定内容“{shown}”，不再随数字变化。" + _CHECK_BY_FORMULA,
              "formula": "{where} 的校验公式被改为 {shown}。" + _CHECK_BY_FORMULA,
          }),
    Check("tamper.merged_area", "error", "cell", "合并区域内填了内容",
          "原是合并单元格的区域被取消合并后，在第一格以外填写了内容；这些内容不会被导入。", {
              "input": "“{label}”应填在 {sheet}!{first}（{first}:{last} 原是合并单元格，只读取 {first}），"
                       "{cell} 中填写的“{found}”不会被导入。请把内容填在 {first}，并清空 {cell}。",
              "label": "{sheet}!{cell} 在标签“{label}”的区域 {first}:{last} 内（原是合并单元格），不应填写内容，"
                       "其中的“{found}”不会被导入。请删除；需要说明的情况请写在文字部分。",
          }),
    Check("tamper.sheet_copy", "error", "workbook", "工作表的副本中有不同内容",
          "多出的工作表是表单某张工作表的副本，且其中的内容与原表不同；只读取原表。", {
              "": "工作表“{sheet}”是“{original}”的副本，其中 {shown} 共 {count} 个单元格的内容与“{original}”不同，"
                  "而导入只读取“{original}”，副本中的内容不会被导入。"
                  "请把要报送的内容填在“{original}”中，并删除工作表“{sheet}”。",
          }),
    Check("tamper.outside", "warning", "workbook", "填报区域外有内容",
          "填报区域以外的单元格有内容，这些内容不导入。", {
              "": "{sheet} 中有 {count} 个单元格在填报区域之外填写了内容（{shown}），这些内容不会被导入；"
                  "请删除，或移到对应的黄色单元格中。",
          }),
    # -- one input cell -------------------------------------------------------------------
    Check("value.external", "error", "cell", "引用其他文件的公式",
          "输入单元格中是引用其他文件的公式。", {
              "": "“{label}”填写了引用其他文件的公式 {found}，请改为直接填写数值。",
          }),
    Check("value.formula", "warning", "cell", "填写了公式",
          "输入单元格中是公式，按其计算结果读取。", {
              "": "“{label}”填写的是公式 {found}，已按计算结果读取；请改为直接填写数值。",
          }),
    Check("value.formula_without_value", "error", "cell", "公式没有保存结果",
          "输入单元格中是公式，但文件中没有保存公式的结果（例如由程序生成），无法读取。", {
              "": "“{label}”填写的是公式 {found}，公式的结果没有保存，无法读取。请改为直接填写数值。",
          }),
    Check("value.blank", "warning", "cell", "数字单元格空白",
          "数字单元格留空：按 0 计算并警告；必填或 --strict 时为错误。", {
              "": "“{label}”是空白，已按 0 计算。没有发生的事项请填 0，不要留空。",
              "required": Message("“{label}”是空白。没有发生的事项请填 0，不要留空。", "error"),
              "document": "{where}为{shown}，已按 0 处理。",
              "document_total": "{where}为{shown}，已按各项之和计算。",
          }),
    Check("value.required", "error", "cell", "必填项未填",
          "必填的文字或日期单元格是空白。", {
              "": "“{label}”是必填项，请填写。",
          }),
    Check("value.text", "error", "cell", "不是数字",
          "数字单元格中填写了文字、带单位的数字或无效的值。", {
              "invalid": "“{label}”的内容“{shown}”不是有效的值。",
              "with_words": "“{label}”填写了“{shown}”，只填阿拉伯数字，不要带单位或文字。",
              "words": "“{label}”填写了“{shown}”，应填写阿拉伯数字，没有请填 0。",
              "not_number": "“{label}”的内容“{shown}”不是数字。",
              "exponent": "“{label}”填写的“{shown}”是科学计数法，请直接填写完整的数字（例如 1000，而不是 1e3）。",
          }),
    Check("value.digits", "error", "cell", "不是 0–9 的数字字符",
          "数字单元格中有键盘上的 0–9 以外的数字字符（例如阿拉伯文数字），不会被悄悄当作数字读取。", {
              "": "“{label}”填写的“{shown}”中有键盘上的 0–9 以外的数字字符"
                  "（例如阿拉伯文或其他文字的数字），请用阿拉伯数字 0–9 重新输入。",
          }),
    Check("value.date_in_number", "error", "cell", "数字单元格中是日期",
          "数字单元格中的内容被表格程序当成了日期。", {
              "": "“{label}”填写的是日期 {found}，这里应填写数字。请清除该单元格的格式后重新填写数字。",
          }),
    Check("value.negative", "error", "cell", "负数", "填写了负数。", {
        "": "“{label}”填写了负数 {shown}，应为不小于 0 的数。",
    }),
    Check("value.fraction", "error", "cell", "整数单元格填了小数", "只能填整数的单元格填了小数。", {
        "": "“{label}”填写了 {shown}，这里只能填整数。",
    }),
    Check("value.year", "error", "cell", "年份无效", "年份不是 2000–2100 之间的四位年份。", {
        "": "“{label}”填写的年份 {found} 无效，应为四位年份。",
    }),
    Check("value.magnitude", "error", "cell", "数字大得不合常理", "数字超过合理上限（件数或金额）。", {
        "count": "“{label}”填写的 {shown} 大得不合常理，请核对。",
        "amount": "“{label}”填写的 {shown} 大得不合常理，请核对单位。",
    }),
    Check("value.places", "error", "cell", "小数位数过多", "金额的小数位数超过表单规定。", {
        "": "“{label}”填写的 {shown} 超过 {places} 位小数。",
    }),
    Check("value.normalised", "warning", "cell", "已按规范读取",
          "数字或日期的写法不规范（全角、千位分隔符、空格、中文日期），已按规范读取。", {
              "number": "“{label}”填写的“{found}”已按 {expected} 读取（{changes}）。",
              "date": "“{label}”填写的“{found}”已按日期 {expected} 读取。",
          }),
    Check("value.date", "error", "cell", "日期无效", "日期单元格中不是有效日期。", {
        "": "“{label}”填写的“{shown}”不是有效日期，请按 2026-01-15 的格式填写。",
    }),
    Check("value.choice", "error", "cell", "不在可选范围内", "选择题的值不在下拉列表中。", {
        "": "“{label}”填写的“{shown}”不在可选范围内（{expected}），请从下拉列表中选择。",
    }),
    Check("value.too_long", "error", "cell", "字数超限", "文字超过表单规定的字数上限。", {
        "": "“{label}”有 {length} 个字，超过上限 {limit} 个字，请精简。",
    }),
    Check("value.number", "error", "cell", "年报表格中不是数字", "已发布年报表格中的值不是不小于 0 的数。", {
        "": "{where}的“{found}”不是{expected}，已按 0 处理。",
    }),
    # -- a published report -------------------------------------------------------------------
    Check("document.unreadable", "error", "document", "年报无法读取", "已发布的年报文件无法读取或已损坏。", {
        "os": "无法读取文件 {name}（{reason}）。",
        "refused": "{name}：{reason}",
        "crashed": "{name} 无法读取（{kind}），文件可能已损坏。请重新保存后再试。",
        "encoding": "文件不是可识别的文本编码（UTF-8 或 GB18030）",
        "docx_unsafe": "Word 文件已损坏或未通过安全检查：{reason}",
        "docx_damaged": "Word 文件已损坏或不是 .docx 格式（{kind}）",
        "pdf_scanned": "这是扫描版 PDF（没有文字层，页面只是图片），无法读取其中的文字。"
                       "请改用网页版、Word 版或可复制文字的 PDF 年报。",
        "pdf_failed": "PDF 文件无法读取（{kind}）",
        "pdf_refused": "PDF 文件已损坏、加密或无法读取。请重新导出 PDF，或改用网页版、Word 版年报。",
        "pdf_support": "读取 PDF 需要安装 PDF 支持（pip install \"tianbao[pdf]\"）或 poppler 的 pdftotext。"
                       "也可以改用网页版或 Word 版年报。",
        "pdf_password": "PDF 文件设置了密码，无法读取。请提供没有密码的文件。",
        "pdf_damaged": "PDF 文件已损坏或无法读取（{kind}）",
    }),
    Check("document.kind", "error", "document", "不是年报文档", "文件不是文本、网页、Word 或 PDF 格式的年报。", {
        "": "{name} 不是可以读取的年报文档：只能读取文本（.txt）、网页（.html）、"
            "Word（.docx）和 PDF 格式的政府信息公开工作年度报告。",
    }),
    Check("document.title", "error", "document", "找不到报告标题",
          "标题、引言、统计期间、文件名和 --unit-name/--year 都不能确定单位名称或年度。", {
              "": "{name} 中找不到报告标题（例如“{example}”），无法确定{lacking}。"
                  "请把文件改名为报告标题（如“{example}.txt”），或在导入、检查时用 --unit-name 单位名称"
                  " 和 --year 年度 指定。",
          }),
    Check("document.parts", "error", "document", "找不到报告的各部分", "文档中找不到报告的任何一个部分。", {
        "": "{name} 中找不到报告的任何一个部分（例如“{example}”），不像是一份政府信息公开工作年度报告。",
    }),
    Check("document.part", "warning", "document", "缺少一个部分", "文档中找不到某一部分或某张表的标题。", {
        "text": "文档中找不到“{title}”部分，这一部分的文字按空白处理。",
        "table": "文档中找不到“{title}”的标题，已在前一部分中查找这张表。",
    }),
    Check("document.subparts", "warning", "document", "找不到小标题", "一部分中找不到各小标题，文字全部归入第一项。", {
        "": "“{title}”中找不到小标题（如“{label}”），全部文字已放在“{label}”中。",
    }),
    Check("table.missing", "error", "document", "找不到表格", "年报中找不到一张表的数字。", {
        "": "文档中找不到“{title}”这张表的数字（表格可能是图片，或行名称与格式相差太多），"
            "这张表已按 0 处理。",
    }),
    Check("table.row_missing", "error", "document", "找不到表格的一行", "年报表格中找不到某一行。", {
        "": "{where}在文档中找不到，已按 0 处理。请核对文档中这一行的名称。",
    }),
    Check("table.count", "error", "document", "一行的数字个数不对",
          "年报表格一行的数字个数与表单不符，无法对应各列。", {
        "": "{where}应有 {expected} 个数字，文档中只找到 {found} 个，无法确定各列的数字，这一行已按 0 处理。"
            "这可能是读取问题，请核对原文。",
    }),
    Check("table.short_row", "error", "document", "一行少了一个空白单元格",
          "年报表格一行少一个数字且最后一个等于其余之和：复制时丢失了一个空白单元格，只保留合计。", {
        "": "{where}只有 {count} 个数字（{found}），比应有的少一个；最后一个数字等于其余之和，"
            "应是“{total}”，原文中可能有一个空白单元格在复制时丢失，无法确定其余数字各属哪一列。"
            "这一行只保留了“{total}”，其余按 0 处理。这可能是读取问题，请核对原文。",
    }),
    Check("table.paired", "warning", "document", "各行数字按顺序对应",
          "年报表格的行名称缺失或与数字分开，已按顺序把每行数字对应到各行。", {
        "": "“{title}”{why}，已假定 {count} 行数字依次是“{first}”至“{last}”"
            "各行的数字（每行一行数字，按顺序对应）。请核对原文。",
    }),
    Check("table.note", "warning", "document", "数字带括号说明", "年报表格的数字后带有括号说明，说明没有计入。", {
        "": "{where}写作“{found}”，已按 {expected} 读取，括号中的说明没有计入。",
    }),
    Check("table.reading", "warning", "document", "可能是读取问题",
          "读取不完整的表格中某条规则不成立：可能是读取问题而不是报告的错误。", {
        "": "{difference}。这张表有读取不确定的地方（见本表的其他提示），这一差异可能是读取问题，请核对原文。",
    }),
    Check("table.extra", "warning", "document", "一行多出数字", "年报表格一行的数字比表单多，只取前面的。", {
        "": "{where}多出 {extra} 个数字，只取了前 {expected} 个，请核对这一行。",
    }),
    Check("table.total_missing", "warning", "document", "一行缺少合计", "年报表格一行没有合计数，已按各项之和计算。", {
        "": "{where}只有 {found} 个数字，没有“{missing}”，已按各项之和计算。",
    }),
    Check("legacy.format", "warning", "document", "旧版格式", "年报按旧版格式编写；说明见 templates/legacy/。", {
        "": "{message}",
    }),
    Check("legacy.mapped", "warning", "document", "旧版行已换算", "旧版格式的一行已换算到现行表单。", {
        "": "{title}「{row}」一行：{note}",
    }),
    Check("legacy.unmapped", "warning", "document", "旧版行无法对应", "旧版格式中无法对应到现行表单的一行。", {
        "": "{where}{reason}",
    }),
)

BY_ID: dict[str, Check] = {check.id: check for check in CATALOGUE}


def emit(check_id: str, variant: str = "", *, sheet: str | None = None, cell: str | None = None,
         expected: str | None = None, found: str | None = None, **params: object) -> Finding:
    """The finding of a catalogue check; the location and values are also template parameters."""
    check = BY_ID[check_id]
    message = check.message(variant)
    text = message.template.format(sheet=sheet, cell=cell, expected=expected, found=found, **params)
    return Finding(rule=check.id, severity=message.severity or check.severity, message=text, sheet=sheet,
                   cell=cell, expected=expected, found=found)


def text(check_id: str, variant: str = "", **params: object) -> str:
    """A check's message alone: the text of an exception that becomes this check's finding."""
    return BY_ID[check_id].message(variant).template.format(**params)


# ---------------------------------------------------------------------------------------
# The form's own checks, listed beside the catalogue


@dataclass(frozen=True)
class FormCheck:
    id: str
    severity: str
    kind: str
    message: str


def form_checks(form: Form) -> Iterator[FormCheck]:
    """The checks a form definition declares, with their messages from the definition."""
    seen: set[str] = set()
    for table in form.tables:
        for computed in table.computed:
            if computed.rule not in seen:
                seen.add(computed.rule)
                yield FormCheck(computed.rule, computed.severity, f"合计（{table.title}）", computed.message)
    for rule in form.spec.rules:
        yield FormCheck(rule.id, rule.severity, "表内关系", rule.message)
    for link in form.spec.year_links:
        yield FormCheck(link.rule, link.severity, "跨年度延续", link.message)
    for check in form.spec.narrative_checks:
        yield FormCheck(check.rule, check.severity, "年报正文数字", check.message)


def check_names(form: Form) -> dict[str, str]:
    """Each check id's short Chinese name: the catalogue's, or for a form rule its kind and,
    where the definition labels its check row, that label ("表内关系：一＋二＝三（七）＋四")."""
    names = {check.id: check.name for check in CATALOGUE}
    labels = {rule.id: rule.check.label.text for rule in form.spec.rules if rule.check and rule.check.label}
    for item in form_checks(form):
        label = labels.get(item.id, "").removeprefix("校验：").strip()
        names.setdefault(item.id, f"{item.kind}：{label}" if label else item.kind)
    return names


@dataclass(frozen=True)
class PrecheckCheck:
    id: str
    level: str  # 错误/警告/提示/无法判断
    criterion: str  # the evaluation criterion it serves, e.g. "D2 文字未照抄其他单位"
    decidable: str
    message: str


def precheck_checks() -> Iterator[PrecheckCheck]:
    """The checks of `tianbao precheck`, from its catalogue (templates/precheck/catalogue.yaml)."""
    from tianbao.precheck_catalogue import DECIDABLE_NAMES, load_catalogue
    from tianbao.precheck_catalogue import SEVERITY_NAMES as PRECHECK_LEVELS

    catalogue = load_catalogue()
    for check in catalogue.checks:
        yield PrecheckCheck(check.id, PRECHECK_LEVELS[check.severity], catalogue.criterion_title(check.id),
                            DECIDABLE_NAMES[check.auto], " ".join(check.message.split()))


def checks_markdown(form: Form) -> str:
    """docs/校验规则.md: the catalogue, the form's rules and the precheck's checks
    (`tianbao checks --markdown`)."""
    lines = [
        "# 校验规则",
        "",
        "本页由 `tianbao checks --markdown` 生成，请勿手工修改。",
        "",
        "## 工具的检查",
        "",
        "| 编号 | 严重程度 | 范围 | 名称 | 说明 |",
        "|---|---|---|---|---|",
    ]
    for check in CATALOGUE:
        severity = "、".join(SEVERITY_NAMES[s] for s in check.severities)
        lines.append(f"| `{check.id}` | {severity} | {SCOPE_NAMES[check.scope]} | {check.name} | {check.description} |")
    lines += ["", f"## 表单 {form.id}（{form.spec.title}）的规则", "", "| 编号 | 严重程度 | 类别 | 提示 |",
              "|---|---|---|---|"]
    for item in form_checks(form):
        message = " ".join(item.message.split()).replace("|", "\\|")
        lines.append(f"| `{item.id}` | {SEVERITY_NAMES[item.severity]} | {item.kind} | {message} |")
    lines += ["", "## 评估预检（`tianbao precheck`）的检查", "",
              "预检按评估指标检查年度报告，分四个级别：错误、警告、提示、无法判断（缺少判断所需的材料，"
              "既不算通过也不扣分）。判定方式“疑似”的检查是启发式的，只给出警告或提示。", "",
              "| 编号 | 级别 | 评估指标 | 判定方式 | 提示 |", "|---|---|---|---|---|"]
    for check in precheck_checks():
        message = check.message.replace("|", "\\|")
        lines.append(f"| `{check.id}` | {check.level} | {check.criterion} | {check.decidable} | {message} |")
    return "\n".join(lines) + "\n"
