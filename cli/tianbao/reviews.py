"""A reviewer's decisions on findings, as the stages see them: how a decision is shown, which
finding it belongs to, and keeping it when a merge re-runs the rules.

A decision is keyed by check id, place (sheet!cell) and the value found (and, in the
collection ledger, the unit). Recording and applying decisions is `tianbao.collection`'s.
"""

from __future__ import annotations

from tianbao.cells import Cell
from tianbao.report import Finding

# What a reviewer picks in findings.xlsx (审核处理), by decision.
LABELS = {"fix": "需修改", "accept": "已核实接受", "override": "确认无误（覆盖错误）"}
BY_LABEL = {label: decision for decision, label in LABELS.items()}


def place(finding: Finding) -> str:
    """Where a finding is: sheet!cell, the sheet alone, or empty for the whole file."""
    if finding.sheet and finding.cell:
        return f"{finding.sheet}!{finding.cell}"
    return finding.sheet or ""


def finding_cells(finding: Finding) -> list[tuple[str, str]]:
    """(sheet, A1) of every cell a finding names ("D6,D7,表二!B5" style lists)."""
    if not finding.cell or not finding.sheet:
        return []
    cells = []
    for part in finding.cell.split(","):
        sheet, _, a1 = part.rpartition("!")
        a1 = a1.split(":")[0].strip()
        try:
            Cell.parse(a1)
        except ValueError:
            continue
        cells.append((sheet.strip("'") or finding.sheet, a1))
    return cells


def key(finding: Finding) -> tuple[str, str, str]:
    return finding.rule, place(finding), finding.found or ""


def review_label(finding: Finding) -> str:
    return LABELS[finding.review.decision] if finding.review else ""


def severity_label(finding: Finding) -> str:
    if not finding.is_error:
        return "警告"
    return "错误" if finding.blocking else "错误（已覆盖）"


def overridden(findings: list[Finding]) -> list[Finding]:
    """Errors a reviewer confirmed correct: they no longer stop the report, but must stay visible."""
    return [f for f in findings if f.is_error and not f.blocking]


def overridden_note(findings: list[Finding]) -> str:
    """'有 2 个错误经审核覆盖（理由：…）' for a unit's line, or "" when no error was overridden."""
    errors = overridden(findings)
    if not errors:
        return ""
    reasons = "；".join(dict.fromkeys(r for f in errors if f.review and (r := f.review.reason.strip())))
    return f"有 {len(errors)} 个错误经审核覆盖" + (f"（理由：{reasons}）" if reasons else "")


def carry_reviews(reviewed: list[Finding], findings: list[Finding]) -> None:
    """Give re-run findings the reviews their stored twins had (same check, place and value):
    a merge re-runs the rules, a reviewer's decision must survive that."""
    by_key = {key(f): f.review for f in reviewed if f.review is not None}
    for finding in findings:
        if finding.review is None and key(finding) in by_key:
            finding.review = by_key[key(finding)]
