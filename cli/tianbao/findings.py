"""The check catalogue: every check id the tool can emit, with its messages (in the spirit of
GSA FAC's message catalogue and frictionless' error types).

Checks emit by id, never with their own text:

    findings.emit("tamper.formula", "value", sheet=…, cell=…, expected=…, found=…, where=…)

An entry has a severity, a scope (where the problem lies: the whole file, the workbook's
structure, one cell, a published document), a short Chinese name, a one-line Chinese
description and one message template per variant (a variant is one way the check fails;
"" is the only one of most checks). A variant may carry its own severity when one check
is an error in one case and a warning in another (identity.year, identity.roster, value.blank).
Form rules (R1…, totals, R6, R8) keep their messages in the form definition; `form_checks`
lists them beside the catalogue for `tianbao checks` and docs/校验规则.md.

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
    "oversized": "文件结构异常（包含的部件数量远超正常工作簿，疑似恶意文件），已拒绝读取。请重新保存工作簿后再报送。",
    "unknown": "无法识别的文件格式，不是 .xlsx 工作簿。" + _SEND_XLSX,
}

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
              "convert_failed": "{rejection}（自动转换失败：{reason}）",
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
    Check("file.timeout", "error", "file", "读取超时",
          "读取一个文件超过时间限制（max_seconds），已中止；同批其他文件照常导入。", {
              "": "读取该文件超过 {seconds} 秒仍未完成，已中止（文件结构异常复杂或已损坏）。请重新保存后再报送。",
          }),
    Check("file.converted", "warning", "file", "已自动转换格式",
          "文件不是 .xlsx（.xls/.et/.ods），已按 --convert 用 LibreOffice 转换后导入。", {
              "": "文件不是 .xlsx 格式（{what}），已用 LibreOffice 转换后导入。请提醒报送单位以后直接报送 .xlsx 文件。",
          }),
    Check("identity.duplicate", "error", "file", "同一单位重复报送",
          "同一批文件中同一单位同一年度有两份报告，只接收第一份。", {
              "": "本批文件中 {other} 也是“{unit}”{year} 年度的报告，同一单位只能导入一份。"
                  "请确认哪一份是最终版本，只保留那一份再导入。",
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
    Check("identity.unit", "warning", "cell", "单位与下发模板不一致",
          "填写的单位名称或代码与下发模板中锁定的不同。", {
              "name": "单位名称“{found}”与下发模板中的“{expected}”不一致，请确认这份报告属于哪个单位。",
              "code": "单位代码“{found}”与下发模板中的“{expected}”不一致，请确认这份报告属于哪个单位。",
          }),
    Check("identity.year", "error", "cell", "报告年度不对",
          "报告年度不是本次收集的年度（错误），或与下发模板的年度不同（警告）。", {
              "collection": "这是 {found} 年度的报告，本次收集的是 {expected} 年度。请确认报送的文件是否正确。",
              "template": Message("报告年度 {found} 与下发模板的年度 {expected} 不一致。", "warning"),
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
    }),
    Check("document.kind", "error", "document", "不是年报文档", "文件不是文本、网页或 Word 格式的年报。", {
        "": "{name} 不是可以读取的年报文档：只能读取文本（.txt）、网页（.html）"
            "和 Word（.docx）格式的政府信息公开工作年度报告。",
    }),
    Check("document.title", "error", "document", "找不到报告标题", "文档中找不到报告标题，无法确定单位和年度。", {
        "": "{name} 中找不到报告标题（例如“{example}”），无法确定单位名称和年度。"
            "请确认这是一份政府信息公开工作年度报告。",
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
        "": "{where}应有 {expected} 个数字，文档中只找到 {found} 个，无法确定各列的数字，这一行已按 0 处理。",
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


def checks_markdown(form: Form) -> str:
    """docs/校验规则.md: the catalogue and the form's rules (`tianbao checks --markdown`)."""
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
    return "\n".join(lines) + "\n"
