"""Reviewer decisions on findings, and applying them to a newly read report.

A decision is keyed by unit, check id, place (sheet!cell) and the value found, so it keeps
applying to a re-import of the same or a corrected file while that finding is unchanged; when
the value changed, the decision no longer applies and a `review.stale` warning says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tianbao.collection.ledger import Decision
from tianbao.findings import emit
from tianbao.report import Finding, Review
from tianbao.reviews import LABELS, key, place

STALE_RULE = "review.stale"


@dataclass(frozen=True)
class Applied:
    applied: int
    stale: list[Finding]


def apply_decisions(findings: list[Finding], decisions: Iterable[Decision]) -> Applied:
    """Attach the matching decision to each finding (in place); a decision whose finding now
    shows another value is reported by a `review.stale` warning appended to `findings`."""
    by_key = {(d.rule, d.place, d.found): d for d in decisions}
    by_place: dict[tuple[str, str], list[Decision]] = {}
    for decision in by_key.values():
        by_place.setdefault((decision.rule, decision.place), []).append(decision)
    applied = 0
    stale: list[Finding] = []
    for finding in list(findings):
        if finding.rule == STALE_RULE:
            continue
        decision = by_key.get(key(finding))
        if decision is not None:
            finding.review = Review(decision=_fitting(decision.decision, finding), reason=decision.reason,
                                    decided_at=decision.decided_at)
            applied += 1
            continue
        for old in by_place.get((finding.rule, place(finding)), []):
            stale.append(emit(STALE_RULE, sheet=finding.sheet, cell=finding.cell, expected=old.found,
                              found=finding.found or "", place=place(finding) or "该文件",
                              decision=LABELS[old.decision], reason=old.reason))
    findings.extend(stale)
    return Applied(applied, stale)


def _fitting(decision: str, finding: Finding) -> str:
    """An override recorded for what is now a warning is simply an acceptance."""
    return "accept" if decision == "override" and not finding.is_error else decision


def check_decision(decision: str, is_error: bool, reason: str) -> str | None:
    """Why this decision cannot be taken on this finding (Chinese), or None."""
    if decision == "accept" and is_error:
        return "错误不能“已核实接受”；如确认数字无误，请选“确认无误（覆盖错误）”并写明理由"
    if decision in ("accept", "override") and not reason.strip():
        return f"“{LABELS[decision]}”必须写明理由（审核说明）"
    return None
