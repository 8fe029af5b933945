"""Report JSON files read back: `load_report` (the model and `conform` live in `tianbao.report`).

Here, not beside the model, because a file's name in a message is shown printable
(`io.names.shown_name`), and the model sits below the io layer."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import ValidationError

from tianbao.errors import ReportLoadError
from tianbao.form import Form
from tianbao.io.names import shown_name
from tianbao.report import Report, conform

_WHERE = re.compile(r"line (\d+) column (\d+)")


def load_report(path: str | Path, form: Form | None = None) -> Report:
    """Read a report JSON file; with a form, check its keys and restore exact types."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReportLoadError(f"{shown_name(path.name)}: 无法读取文件（{exc.strerror}）") from exc
    return parse_report(data, shown_name(path.name), form)


def parse_report(data: bytes, name: str, form: Form | None = None) -> Report:
    """A report from the bytes of its JSON file (`name` for messages). pydantic parses and
    validates in one pass (twice as fast as json.loads then validation: a merge reads ten
    thousand)."""
    try:
        report = Report.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            where = _WHERE.search(str(first["msg"]))
            place = f"第 {where[1]} 行第 {where[2]} 列附近" if where else "文件中"
            raise ReportLoadError(f"{name}: 不是有效的 JSON 报告文件（{place}格式错误）") from exc
        where = ".".join(str(p) for p in first["loc"])
        raise ReportLoadError(f"{name}: 报告 JSON 的 {where} 不符合格式：{first['msg']}") from exc
    if form is not None:
        conform(report, form, name)
    return report
