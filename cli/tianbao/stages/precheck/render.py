"""The 预检报告 files: the findings as .xlsx and .html (the terminal tables are cli.console's).

The workbook lists everything at once: each finding with its severity, check id, criterion,
message, the quoted text and, for copying, the passages side by side with their source. It
is written row by row (xlsxwriter's constant_memory), so a district of 10,000 units costs
no more memory than one sheet row.

The page is what a person reads: the counts per check over the whole batch, then the
findings most serious first, the units reusing most of last year's text first and the
lowest score previews first, each list cut at HTML_ROWS rows with a line saying how many
more the workbook holds. Uncut, 10,000 units made a page of over 100 MB that no browser
opens comfortably and no clerk reads; below HTML_ROWS the page lists everything.
"""

from __future__ import annotations

import html
from decimal import Decimal
from pathlib import Path

from tianbao.io.atomic import write_atomic
from tianbao.io.tables import xlsx_listing
from tianbao.precheck_catalogue import SEVERITY_NAMES, SEVERITY_ORDER, load_catalogue
from tianbao.stages.precheck.catalogue import PrecheckFinding
from tianbao.stages.precheck.run import PrecheckResult, UnitResult
from tianbao.stages.precheck.scoring import UnitScore

FINDING_HEADER = ["单位代码", "单位", "严重程度", "检查编号", "评估指标", "部分", "说明", "原文", "本报告段落",
                  "对照段落", "对照来源", "工作表", "单元格"]
MODE_NAMES = {"conservative": "保守", "strict": "严格"}
CHECK_HEADER = ["检查编号", "评估指标", "严重程度", "问题数", "涉及单位数"]
HTML_ROWS = 1000  # rows per list of the HTML page; the workbook has them all


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def points(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"


def score_summary(score: UnitScore) -> str:
    """The score of the chosen mode first, the other beside it."""
    other = "strict" if score.mode == "conservative" else "conservative"
    other_score = score.strict if other == "strict" else score.conservative
    return (f"预估得分（{MODE_NAMES[score.mode]}）：{points(score.score)}"
            f"（{MODE_NAMES[other]} {points(other_score)}，满分 {points(score.full)}）")


class _CriterionTitles(dict[str, str]):
    """Check id -> its criterion with its name, looked up once per id (a batch has few ids
    and many findings)."""

    def __missing__(self, check: str) -> str:
        title = self[check] = load_catalogue().criterion_title(check)
        return title


def finding_rows(result: PrecheckResult) -> list[list[str]]:
    rows = []
    titles = _CriterionTitles()
    for f in result.all_findings():
        rows.append([f.unit_code, f.unit, f.severity_name, f.check, titles[f.check], f.part,
                     f.message, f.quote,
                     "\n\n".join(p.text for p in f.passages), "\n\n".join(p.other for p in f.passages),
                     f.other_source, f.sheet or "", f.cell or ""])
    return rows


def reuse_header(result: PrecheckResult) -> list[str]:
    labels = _part_labels(result)
    return ["单位代码", "单位", "全文与上年重复", *[f"{label}" for label in labels.values()]]


def _part_labels(result: PrecheckResult) -> dict[str, str]:
    labels: dict[str, str] = {}
    for unit in result.units:
        if unit.reuse is not None:
            for part in unit.reuse.parts:
                labels.setdefault(part.key, part.label)
    return labels


def reuse_rows(result: PrecheckResult, units: list[UnitResult] | None = None) -> list[list[str]]:
    keys = list(_part_labels(result))
    rows = []
    for unit in result.units if units is None else units:
        report = unit.subject.report
        if unit.reuse is None:
            rows.append([report.unit.code, report.unit.name, "无上年度报告", *["—"] * len(keys)])
            continue
        ratios = {p.key: p.ratio for p in unit.reuse.parts}
        rows.append([report.unit.code, report.unit.name, _percent(unit.reuse.ratio),
                     *[_percent(ratios.get(k)) for k in keys]])
    return rows


def score_header() -> list[str]:
    return ["单位代码", "单位", "评分项目", "结果", "确定扣分", "可能扣分", "依据"]


def score_rows(result: PrecheckResult, units: list[UnitResult] | None = None) -> list[list[str]]:
    rows = []
    for unit in result.units if units is None else units:
        if unit.score is None:
            continue
        for item in unit.score.items:
            rows.append([unit.score.unit_code, unit.score.unit, item.item.title, item.state, points(item.deduction),
                         points(item.possible), item.reason])
        rows.append([unit.score.unit_code, unit.score.unit, "预估得分",
                     f"{points(unit.score.score)}（{MODE_NAMES[unit.score.mode]}）",
                     f"保守 {points(unit.score.conservative)}", f"严格 {points(unit.score.strict)}",
                     f"满分 {points(unit.score.full)}"])
    return rows


def manual_rows() -> list[list[str]]:
    catalogue = load_catalogue()
    return [[item.criterion, catalogue.criteria.get(item.criterion, ""), item.text, "□"] for item in catalogue.manual]


def catalogue_rows() -> list[list[str]]:
    catalogue = load_catalogue()
    return [[c.id, SEVERITY_NAMES[c.severity], c.auto, f"{c.criterion} {catalogue.criteria.get(c.criterion, '')}",
             c.message] for c in catalogue.checks]


def _sheets(result: PrecheckResult) -> list[tuple[str, list[str], list[list[str]], list[int]]]:
    sheets = [
        ("问题清单", FINDING_HEADER, finding_rows(result), [12, 22, 8, 24, 22, 24, 60, 40, 40, 40, 16, 8, 10]),
        ("按检查汇总", CHECK_HEADER, check_rows(result), [26, 30, 10, 10, 12]),
        ("与上年重复比例", reuse_header(result), reuse_rows(result), [12, 22, 14, *[16] * len(_part_labels(result))]),
    ]
    if result.pack is not None:
        title = f"评分预览（{result.pack.name}）"[:31]
        sheets.append((title, score_header(), score_rows(result), [12, 22, 28, 10, 12, 12, 60]))
    sheets.append(("人工核对清单", ["评估指标", "指标名称", "核对内容", "已核对"], manual_rows(), [8, 24, 80, 8]))
    sheets.append(("检查目录", ["检查编号", "严重程度", "可判定", "评估指标", "说明模板"], catalogue_rows(),
                   [26, 10, 8, 30, 80]))
    return sheets


def render_xlsx(result: PrecheckResult) -> bytes:
    return xlsx_listing(_sheets(result))


_STYLE = """
body{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0;width:100%}th,td{border:1px solid #bbb;padding:4px 6px;
vertical-align:top;text-align:left}th{background:#ddebf7}.error{color:#b00020}.warning{color:#a05a00}
.undetermined{color:#7b1fa2}.info{color:#00695c}.pair td{width:50%;background:#fafafa}
"""


def _h(text: object) -> str:
    return html.escape(str(text)).replace("\n", "<br>")


def render_html(result: PrecheckResult) -> str:
    counts = _counts(result)
    out = ["<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
           f"<title>{_h(_title(result))}</title><style>{_STYLE}</style></head><body>",
           f"<h1>{_h(_title(result))}</h1>", f"<p>{_h(summary_line(result))}</p>",
           f"<p>{_h('、'.join(f'{SEVERITY_NAMES[k]} {v} 项' for k, v in counts.items()))}</p>"]
    out += _table("按检查汇总", CHECK_HEADER, check_rows(result))
    findings = sorted(result.all_findings(), key=lambda f: SEVERITY_ORDER[f.severity])
    columns = ["单位", "严重程度", "检查编号", "评估指标", "部分", "说明"]
    out.append("<h2>问题清单</h2><table><tr>" + "".join(f"<th>{_h(h)}</th>" for h in columns) + "</tr>")
    titles = _CriterionTitles()
    for f in findings[:HTML_ROWS]:
        out.append(f"<tr><td>{_h(f.unit)}</td><td class=\"{f.severity}\">{_h(f.severity_name)}</td>"
                   f"<td>{_h(f.check)}</td><td>{_h(titles[f.check])}</td><td>{_h(f.part)}</td>"
                   f"<td>{_h(f.message)}{_pairs_html(f)}</td></tr>")
    out.append("</table>")
    out += _more(len(findings), "问题清单", "按严重程度排列")
    reuse = sorted(result.units, key=_reuse_order)
    out += _table("与上年重复比例", reuse_header(result), reuse_rows(result, reuse[:HTML_ROWS]))
    out += _more(len(reuse), "与上年重复比例", "重复比例高的在前", unit="份报告")
    if result.pack is not None:
        scored = sorted((u for u in result.units if u.score is not None), key=_score)
        title = f"评分预览（{result.pack.name}）"[:31]
        out += _table(title, score_header(), score_rows(result, scored[:HTML_ROWS]))
        out += _more(len(scored), title, "预估得分低的在前", unit="份报告")
    out += _table("人工核对清单", ["评估指标", "指标名称", "核对内容", "已核对"], manual_rows())
    out += _table("检查目录", ["检查编号", "严重程度", "可判定", "评估指标", "说明模板"], catalogue_rows())
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _table(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    return [f"<h2>{_h(title)}</h2><table><tr>" + "".join(f"<th>{_h(h)}</th>" for h in header) + "</tr>",
            *("<tr>" + "".join(f"<td>{_h(c)}</td>" for c in row) + "</tr>" for row in rows), "</table>"]


def _more(total: int, sheet: str, order: str, unit: str = "项") -> list[str]:
    """The line under a list cut at HTML_ROWS: where the rest is."""
    if total <= HTML_ROWS:
        return []
    return [f"<p>以上列出前 {HTML_ROWS} {unit}（{order}），共 {total} {unit}；"
            f"全部内容见同名 .xlsx 文件的“{_h(sheet)}”工作表。</p>"]


def _score(unit: UnitResult) -> Decimal:
    return unit.score.score if unit.score is not None else Decimal(0)


def _reuse_order(unit: UnitResult) -> tuple[bool, float]:
    ratio = unit.reuse.ratio if unit.reuse is not None else None
    return (ratio is None, -(ratio or 0.0))


def check_rows(result: PrecheckResult) -> list[list[str]]:
    """One row per check that found something: how many findings, in how many units."""
    findings: dict[str, int] = {}
    units: dict[str, set[tuple[str, str]]] = {}
    severities: dict[str, str] = {}
    for f in result.all_findings():
        findings[f.check] = findings.get(f.check, 0) + 1
        units.setdefault(f.check, set()).add((f.unit_code, f.unit))
        severities.setdefault(f.check, f.severity)
    titles = _CriterionTitles()
    ordered = sorted(findings, key=lambda c: (SEVERITY_ORDER[severities[c]], -findings[c], c))
    return [[c, titles[c], SEVERITY_NAMES[severities[c]], str(findings[c]), str(len(units[c]))] for c in ordered]


def _pairs_html(finding: PrecheckFinding) -> str:
    if not finding.passages:
        return f"<br>原文：“{_h(finding.quote)}”" if finding.quote else ""
    rows = "".join(f"<tr class=\"pair\"><td>{_h(p.text)}</td><td>{_h(p.other)}</td></tr>" for p in finding.passages)
    return (f"<table><tr><th>本报告</th><th>{_h(finding.other_source or '对照')}</th></tr>{rows}</table>")


def _title(result: PrecheckResult) -> str:
    return f"{result.year or ''}年度政府信息公开工作年度报告预检报告"


def _counts(result: PrecheckResult) -> dict[str, int]:
    counts = dict.fromkeys(SEVERITY_NAMES, 0)
    for f in result.all_findings():
        counts[f.severity] += 1
    return counts


def summary_line(result: PrecheckResult) -> str:
    counts = _counts(result)
    units = len(result.units)
    flagged = sum(1 for u in result.units if u.errors)
    mode = MODE_NAMES[result.mode]
    return (f"共预检 {units} 份报告（{flagged} 份有错误）：错误 {counts['error']} 项、警告 {counts['warning']} 项、"
            f"无法判断 {counts['undetermined']} 项、提示 {counts['info']} 项。重复比例阈值 {result.threshold:.0%}，"
            f"{mode}模式。")


def write_outputs(result: PrecheckResult, output: Path) -> list[Path]:
    """The 预检报告 as both .xlsx and .html, named after `output` (atomic writes)."""
    xlsx, page = output.with_suffix(".xlsx"), output.with_suffix(".html")
    write_atomic(xlsx, render_xlsx(result))
    write_atomic(page, render_html(result))
    return [xlsx, page]
