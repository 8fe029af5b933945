"""`tianbao publish`: the annual report document, straight from a checked report JSON.

One document model (document.py, grid.py) is built from the report and its form definition
and rendered to HTML, DOCX, Markdown or plain text, so the layout is decided once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from tianbao.document.publish.document import Document, Trace, build_document, parse_date
from tianbao.document.publish.html_render import render_html
from tianbao.document.publish.text_render import render_markdown, render_text
from tianbao.errors import ReportLoadError, UserError
from tianbao.form import Form, resolve_form
from tianbao.io.atomic import write_atomic
from tianbao.io.reports import load_report
from tianbao.report import Finding, Report, conform
from tianbao.rules.check import check_report, stated_total_findings

FORMATS = ("html", "docx", "md", "txt")
_SUFFIXES = {".html": "html", ".htm": "html", ".docx": "docx", ".md": "md", ".markdown": "md", ".txt": "txt"}


@dataclass(frozen=True)
class Published:
    path: Path
    format: str
    report: Report
    warnings: list[Finding]  # rule findings of the data: published anyway, shown to the user


def output_format(output: Path, requested: str | None) -> str:
    """The format asked for with --format, else the one the file extension names."""
    if requested is not None:
        fmt = requested.lower().lstrip(".")
        if fmt not in FORMATS:
            raise UserError(f"不支持的发布格式 “{requested}”，可选：{'、'.join(FORMATS)}")
        return fmt
    fmt = _SUFFIXES.get(output.suffix.lower())
    if fmt is None:
        raise UserError(f"无法从文件名 {output.name} 判断发布格式：请使用 .html、.docx、.md 或 .txt，或加 --format")
    return fmt


def read_report(path: Path, form: str | Path | None) -> tuple[Form, Report, bytes]:
    """The report, the form it was filled on (or the one given) and the file's exact bytes."""
    if not path.is_file():
        raise UserError(f"找不到报告文件：{path}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"无法读取报告文件 {path}：{exc.strerror or exc}") from exc
    try:
        report = load_report(path)
        definition = resolve_form(form if form is not None else report.form.id)
        conform(report, definition, path.name)
    except ReportLoadError as exc:
        raise UserError(str(exc)) from exc
    return definition, report, data


def parse_date_option(text: str) -> dt.date:
    parsed = parse_date(text)
    if parsed is None:
        raise UserError(f"日期 “{text}” 无法识别，请写作 2026-01-20 或 2026年1月20日")
    return parsed


def read_intro(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"无法读取开头段落文件 {path}（需为 UTF-8 文本）：{exc}") from exc


def render(doc: Document, fmt: str, *, author: str = "") -> bytes:
    if fmt == "html":
        return render_html(doc).encode("utf-8")
    if fmt == "docx":
        from tianbao.document.publish.docx_render import render_docx  # python-docx only for this format

        return render_docx(doc, author=author)
    if fmt == "md":
        return render_markdown(doc).encode("utf-8")
    return render_text(doc).encode("utf-8")


def publish(
    report_path: Path,
    output: Path,
    *,
    form: str | Path | None = None,
    fmt: str | None = None,
    intro: str | None = None,
    date: dt.date | None = None,
    footer_hash: bool = False,
    force: bool = False,
) -> Published:
    """Write the document of one report (unit or district) to `output`.

    Totals in the JSON must equal the sums of their parts: a document must never print a
    total that does not add up. Open errors in the report (errors no reviewer overrode) stop it
    unless `force`; rule findings of the data (R1 …) are returned.
    """
    chosen = output_format(output, fmt)
    if output.resolve() == report_path.resolve():
        raise UserError("输出文件不能与报告文件相同")
    definition, report, data = read_report(report_path, form)
    if not report.unit.name.strip():
        raise UserError(f"{report_path.name}: 报告中没有单位名称，无法生成标题和落款")
    mismatched = stated_total_findings(definition, report.tables, "error")
    if mismatched:
        raise UserError(
            f"{report_path.name}: 合计与明细不一致，不能发布（共 {len(mismatched)} 处，"
            f"例如：{mismatched[0].message}）。请重新导入或汇总后再发布。"
        )
    blocking = [f for f in report.findings if f.blocking]
    if blocking and not force:
        raise UserError(f"{report_path.name}: 报告中还有 {len(blocking)} 个未处理的错误"
                        f"（例如：{blocking[0].message}），不能发布；请改正后重新导入，"
                        "或经审核确认后用 tianbao review 覆盖，或加 --force 强制生成。")
    trace = Trace(report_path.name, hashlib.sha256(data).hexdigest()) if footer_hash else None
    doc = build_document(definition, report, intro=intro, date=date, trace=trace)
    write_atomic(output, render(doc, chosen, author=report.unit.name))
    return Published(output, chosen, report, check_report(definition, report))

