"""Report JSON files read back: `load_report` (the model and `conform` live in `tianbao.report`).

Here, not beside the model, because a file's name in a message is shown printable
(`io.names.shown_name`), and the model sits below the io layer."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from tianbao.errors import ReportLoadError
from tianbao.form import Form
from tianbao.io.names import shown_name
from tianbao.report import Report, conform


def load_report(path: str | Path, form: Form | None = None) -> Report:
    """Read a report JSON file; with a form, check its keys and restore exact types."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportLoadError(f"{shown_name(path.name)}: 不是有效的 JSON 报告文件（{exc}）") from exc
    try:
        report = Report.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ReportLoadError(f"{shown_name(path.name)}: 报告 JSON 的 {where} 不符合格式：{first['msg']}") from exc
    if form is not None:
        conform(report, form, shown_name(path.name))
    return report
