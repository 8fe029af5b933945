"""S1: a score preview under a district's rule pack.

Each item is 通过, 扣分 (a failing check, an error), 疑似 (only warnings: similarity and
plausibility never deduct by themselves), or 无法判断 (an input was missing). The
conservative score counts only 扣分; the strict score also takes the worst case of 疑似 and
无法判断 items.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tianbao.form import Form
from tianbao.precheck_catalogue import load_catalogue
from tianbao.report import Report
from tianbao.stages.precheck.catalogue import PrecheckFinding
from tianbao.stages.precheck.config import Pack, PackItem, cell_value

PASS, DEDUCT, SUSPECT, UNKNOWN = "通过", "扣分", "疑似", "无法判断"
MODES = ("conservative", "strict")


@dataclass
class ItemScore:
    item: PackItem
    state: str
    deduction: Decimal  # certain
    possible: Decimal  # counted only in strict mode
    reason: str


@dataclass
class UnitScore:
    unit: str
    unit_code: str
    full: Decimal
    items: list[ItemScore]
    mode: str = "conservative"  # the score shown first (--mode)

    @property
    def conservative(self) -> Decimal:
        return self.full - sum((i.deduction for i in self.items), Decimal(0))

    @property
    def strict(self) -> Decimal:
        return self.conservative - sum((i.possible for i in self.items), Decimal(0))

    @property
    def score(self) -> Decimal:
        """The score of the chosen mode."""
        return self.strict if self.mode == "strict" else self.conservative


def undetermined_checks(findings: list[PrecheckFinding]) -> dict[str, str]:
    """Check id -> why it could not be decided, from the unit's undetermined findings."""
    catalogue = load_catalogue()
    found: dict[str, str] = {}
    for finding in findings:
        if finding.severity != "undetermined":
            continue
        for check in catalogue.check(finding.check).covers:
            found.setdefault(check, finding.message)
    return found


def score_unit(form: Form, pack: Pack, report: Report, findings: list[PrecheckFinding],
               mode: str = "conservative") -> UnitScore:
    unknown = undetermined_checks(findings)
    items = []
    for item in pack.items:
        if item.cells:
            count = sum((cell_value(form, report.tables, ref) for ref in item.cells), Decimal(0))
            if count > 0:
                items.append(ItemScore(item, DEDUCT, min(item.cap, item.deduct * count), Decimal(0),
                                       f"表格中为 {count} 件"))
            else:
                items.append(ItemScore(item, PASS, Decimal(0), Decimal(0), ""))
            continue
        mine = [f for f in findings if f.check in item.checks]
        errors = [f for f in mine if f.severity == "error"]
        warnings = [f for f in mine if f.severity == "warning"]
        undecided = [unknown[c] for c in item.checks if c in unknown]
        if errors:
            items.append(ItemScore(item, DEDUCT, min(item.cap, item.deduct * len(errors)), Decimal(0),
                                   errors[0].message))
        elif warnings:
            items.append(ItemScore(item, SUSPECT, Decimal(0), min(item.cap, item.deduct * len(warnings)),
                                   warnings[0].message))
        elif undecided:
            items.append(ItemScore(item, UNKNOWN, Decimal(0), min(item.cap, item.deduct), undecided[0]))
        else:
            items.append(ItemScore(item, PASS, Decimal(0), Decimal(0), ""))
    return UnitScore(report.unit.name, report.unit.code, pack.full_score, items, mode)
