"""Console rendering of import, check, merge and precheck results (rich tables; Chinese for the clerk)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from tianbao.findings import (
    CATALOGUE,
    SCOPE_NAMES,
    SEVERITY_COLOURS,
    SEVERITY_NAMES,
    check_names,
    form_checks,
    precheck_checks,
)
from tianbao.form import Form
from tianbao.reviews import finding_cells
from tianbao.stages.batch import status
from tianbao.stages.intake import ImportOutcome

# Merge, the precheck and annotate load only in the commands that show them (`check` starts fast).
if TYPE_CHECKING:
    from tianbao.stages.merge import MergeResult
    from tianbao.stages.precheck import PrecheckResult
    from tianbao.stages.precheck.catalogue import PrecheckFinding

PRECHECK_COLOURS = {**SEVERITY_COLOURS, "undetermined": "magenta"}


def findings_table(outcomes: list[ImportOutcome], form: Form) -> Group:
    """Every finding of every file for the terminal: one titled table per file."""
    names = check_names(form)
    tables = []
    for outcome in outcomes:
        verdict = status(outcome)
        colour = "red" if outcome.rejected else ("yellow" if outcome.warnings else "green")
        table = Table(title=f"[bold]{escape(outcome.name)}[/bold]  [{colour}]{verdict}[/{colour}]",
                      title_justify="left", header_style="bold", expand=True, show_edge=False)
        table.add_column("类别", no_wrap=True)
        table.add_column("检查", no_wrap=True)
        table.add_column("位置", style="cyan", no_wrap=True)
        table.add_column("说明", ratio=1, overflow="fold")
        table.add_column("实为", max_width=16, overflow="fold")
        for finding in outcome.findings:
            cells = finding_cells(finding)
            place = f"{cells[0][0]}!{cells[0][1]}" if cells else (finding.sheet or "")
            kind = Text(SEVERITY_NAMES[finding.severity], style=SEVERITY_COLOURS[finding.severity])
            table.add_row(kind, names.get(finding.rule, finding.rule), place, finding.message, finding.found or "")
        clean = Text.from_markup(f"[bold]{escape(outcome.name)}[/bold]  [green]{verdict}[/green]：没有发现问题")
        tables.append(table if outcome.findings else clean)
    return Group(*tables)


def summary_line(outcomes: list[ImportOutcome]) -> str:
    accepted = [o for o in outcomes if not o.rejected]
    warned = sum(1 for o in accepted if o.warnings)
    rejected = len(outcomes) - len(accepted)
    flawed = sum(1 for o in accepted if any(f.is_error for f in o.findings))
    also = f"、有错误的已发布年报 {flawed} 个" if flawed else ""
    return f"共 {len(outcomes)} 个文件：接收 {len(accepted)} 个（其中有警告 {warned} 个{also}），退回 {rejected} 个。"


def status_tables(result: MergeResult, limit: int = 30) -> list[Table]:
    """Counts per status, then the lines that need attention (all but 已通过/有警告)."""
    from tianbao.stages.merge import STATUS_ORDER, STATUS_PASSED, STATUS_WARNINGS

    title = f"报送情况（计入汇总 {len(result.summed)} 个单位）"
    counts = Table(title=title, title_justify="left", min_width=len(title) * 2)  # CJK: two cells a character
    counts.add_column("状态")
    counts.add_column("数量", justify="right")
    for name in STATUS_ORDER:
        if number := result.count(name):
            counts.add_row(name, str(number))
    attention = [e for e in result.entries if e.status not in (STATUS_PASSED, STATUS_WARNINGS)]
    if not attention:
        return [counts]
    lines = Table(title="需要处理的单位和文件", title_justify="left")
    for column in ("状态", "单位代码", "单位名称", "文件", "说明"):
        lines.add_column(column, overflow="fold")
    for entry in attention[:limit]:
        source = entry.submission.name if entry.submission else ""
        lines.add_row(entry.status, entry.code, entry.name, source, entry.note)
    if len(attention) > limit:
        lines.caption = f"另有 {len(attention) - limit} 行未显示，见汇总工作簿的“报送情况”表"
    return [counts, lines]


def key_rows_table(result: MergeResult) -> Table | None:
    """District totals of the definition's key rows: one column per key row, one line per
    table column (narrow enough for a terminal)."""
    form, district = result.form, result.district
    refs = form.spec.summary.key_row_refs()
    if not refs:
        return None
    table = Table(title=f"{district.unit.name}{district.year}年汇总数（主要行）", title_justify="left")
    table.add_column("")
    lines: list[tuple[str, str, str]] = []  # (table id, column id, label)
    for table_id, row_id in refs:
        section = form.table(table_id)
        row = next(r for r in section.rows if r.id == row_id)
        table.add_column(row.label, justify="right", overflow="fold")
        for column in form.row_columns(section, row):
            if (table_id, column.id, column.label) not in lines:
                lines.append((table_id, column.id, column.label))
    for table_id, column_id, label in lines:
        cells = []
        for ref_table, row_id in refs:
            values = district.tables[ref_table][row_id]
            cells.append(str(values[column_id]) if ref_table == table_id and column_id in values else "")
        table.add_row(label, *cells)
    return table


def checks_tables(form: Form) -> list[Table]:
    """The check catalogue, the form's own rules and the precheck's checks (`tianbao checks`)."""
    tool = Table(title="工具的检查", title_justify="left", header_style="bold")
    for column in ("编号", "严重程度", "范围", "名称", "说明"):
        tool.add_column(column, overflow="fold")
    for check in CATALOGUE:
        severity = "、".join(SEVERITY_NAMES[s] for s in check.severities)
        tool.add_row(check.id, severity, SCOPE_NAMES[check.scope], check.name, check.description)
    rules = Table(title=f"表单 {form.id} 的规则", title_justify="left", header_style="bold")
    for column in ("编号", "严重程度", "类别", "提示"):
        rules.add_column(column, overflow="fold")
    for item in form_checks(form):
        rules.add_row(item.id, SEVERITY_NAMES[item.severity], item.kind, " ".join(item.message.split()))
    precheck = Table(title="评估预检（tianbao precheck）的检查", title_justify="left", header_style="bold")
    for column in ("编号", "级别", "评估指标", "判定方式", "提示"):
        precheck.add_column(column, overflow="fold")
    for item in precheck_checks():
        precheck.add_row(item.id, item.level, item.criterion, item.decidable, item.message)
    return [tool, rules, precheck]


def precheck_tables(result: PrecheckResult, max_units: int = 30) -> Group:
    """Per unit, a table of its precheck findings (units with the most serious findings first)."""
    from tianbao.stages.precheck.render import score_summary

    shown: list[Table | Text] = []
    ordered = sorted(result.units, key=lambda u: (-u.errors, -len(u.findings)))
    if result.batch:
        shown.append(_precheck_table("本批次", result.batch))
    for unit in ordered[:max_units]:
        name = f"{unit.subject.report.unit.name}（{unit.subject.source}）"
        if unit.score is not None:
            name += "  " + score_summary(unit.score)
        shown.append(_precheck_table(name, unit.findings) if unit.findings else Text(f"{name}：没有发现问题"))
    if len(ordered) > max_units:
        shown.append(Text(f"另有 {len(ordered) - max_units} 份报告的结果见预检报告文件（-o）。"))
    return Group(*shown)


def _precheck_table(title: str, findings: list[PrecheckFinding]) -> Table:
    table = Table(title=f"[bold]{escape(title)}[/bold]", title_justify="left", header_style="bold",
                  expand=True, show_edge=False)
    table.add_column("严重程度", no_wrap=True)
    table.add_column("检查", style="cyan", no_wrap=True)
    table.add_column("说明", ratio=1, overflow="fold")
    for finding in findings:
        message = finding.message
        if finding.passages:
            first = finding.passages[0]
            message += f"\n  本报告：{first.text}\n  {finding.other_source or '对照'}：{first.other}"
        table.add_row(Text(finding.severity_name, style=PRECHECK_COLOURS[finding.severity]), finding.check,
                      Text(message))
    return table
