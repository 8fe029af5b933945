"""The generated workbook's cell styles and the data validation (with its prompt) of each input."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from xlsxwriter.workbook import Workbook

from tianbao.findings import SEVERITY_FILLS
from tianbao.form.query import InputCell
from tianbao.workbook.layout import MAX_AMOUNT, MAX_COUNT

BODY_FONT = "宋体"
TITLE_FONT = "黑体"
INPUT_FILL = "#FFF2CC"
COMPUTED_FILL = "#E7E6E6"
HEADER_FILL = "#DDEBF7"
BAD_FILL, BAD_FONT = SEVERITY_FILLS["error"]
WARN_FILL, WARN_FONT = SEVERITY_FILLS["warning"]


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@cache
def validation(cell: InputCell) -> tuple[str, dict[str, Any]]:
    """(grouping key, XlsxWriter validation options) for an input cell."""
    # Table cells get a prompt without their label (the row shows it), so that a whole
    # table shares a few validation rules; single fields name themselves.
    label = "本单元格" if len(cell.key) > 1 else _truncate(cell.label, 60)
    if cell.type in ("int", "year"):
        low, high = (2000, 2100) if cell.type == "year" else (0, MAX_COUNT)
        what = "四位年份" if cell.type == "year" else "不小于 0 的整数"
        rule: dict[str, Any] = {"validate": "integer", "criteria": "between", "minimum": low, "maximum": high}
        hint = f"{label}：请填写{what}，没有请填 0。" if cell.type == "int" else f"{label}：请填写{what}。"
        title = "请填写整数"
    elif cell.type == "decimal":
        rule = {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": MAX_AMOUNT}
        hint = f"{label}：请填写不小于 0 的数字，最多 {cell.places} 位小数，没有请填 0。"
        title = "请填写金额"
    elif cell.type == "date":
        rule = {"validate": "date", "criteria": "between", "minimum": date(2000, 1, 1),
                "maximum": date(2100, 12, 31)}
        hint = f"{label}：请填写日期，例如 2026-01-15。"
        title = "请填写日期"
    elif cell.type == "choice":
        rule = {"validate": "list", "source": list(cell.choices)}
        hint = f"{label}：请从下拉列表中选择。"
        title = "请选择"
    else:
        limit = cell.max_length or 32767
        rule = {"validate": "length", "criteria": "<=", "value": limit}
        hint = f"{label}：最多 {limit} 个字。"
        title = "请填写文字"
    rule.update(
        {
            "input_title": title,
            "input_message": _truncate(hint, 250),
            "error_title": "输入不符合要求",
            "error_message": _truncate(hint, 250),
            "error_type": "stop",
            "ignore_blank": True,
        }
    )
    return repr(sorted(rule.items())), rule


class Formats:
    """The workbook's cell styles, created once."""

    def __init__(self, workbook: Workbook) -> None:
        add = workbook.add_format
        base = {"font_name": BODY_FONT, "font_size": 11, "valign": "vcenter"}
        border = {"border": 1}
        self.title = add({**base, "font_name": TITLE_FONT, "font_size": 16, "align": "center"})
        self.note = add({**base, "text_wrap": True})
        self.note_number = add({**base, "align": "center"})
        self.header = add({**base, **border, "bold": True, "align": "center", "text_wrap": True,
                           "bg_color": HEADER_FILL})
        self.label = add({**base, **border, "align": "left", "text_wrap": True})
        self.label_left = add({**base, **border, "align": "left", "text_wrap": True, "bold": True})
        self.computed = add({**base, **border, "align": "center", "bg_color": COMPUTED_FILL,
                             "num_format": "0"})
        self.computed_decimal = add({**base, **border, "align": "center", "bg_color": COMPUTED_FILL,
                                     "num_format": "0.0000"})
        self.check_label = add({**base, "bold": True, "align": "right", "font_color": "#595959"})
        self.check = add({**base, **border, "align": "center", "font_color": "#375623"})
        self.counter = add({**base, "align": "left", "valign": "top", "font_color": "#7F7F7F"})
        self.bad = add({"bg_color": BAD_FILL, "fg_color": BAD_FILL, "pattern": 1, "font_color": BAD_FONT})
        self.warn = add({"bg_color": WARN_FILL, "fg_color": WARN_FILL, "pattern": 1, "font_color": WARN_FONT})
        inputs = {**base, **border, "bg_color": INPUT_FILL, "locked": False}
        self._inputs = {
            "int": add({**inputs, "align": "center", "num_format": "0"}),
            "year": add({**inputs, "align": "center", "num_format": "0"}),
            "decimal": add({**inputs, "align": "center", "num_format": "0.00##"}),
            "date": add({**inputs, "align": "center", "num_format": "yyyy-mm-dd"}),
            "text": add({**inputs, "align": "left", "text_wrap": True}),
            "choice": add({**inputs, "align": "left"}),
            "longtext": add({**inputs, "align": "left", "valign": "top", "text_wrap": True}),
        }
        fixed = {**base, **border, "bg_color": COMPUTED_FILL}
        self._locked_inputs = {
            key: add({**fixed, "align": "center" if key in ("int", "year", "decimal", "date") else "left",
                      "num_format": {"decimal": "0.00##", "date": "yyyy-mm-dd"}.get(key, "General")})
            for key in self._inputs
        }

    def input_style(self, cell_type: str, locked: bool) -> Any:
        return (self._locked_inputs if locked else self._inputs)[cell_type]
