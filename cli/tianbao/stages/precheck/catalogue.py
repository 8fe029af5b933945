"""The findings of the precheck, made from its catalogue (tianbao.precheck_catalogue).

The code only fills in a check's message template. Findings of the form's own rules and of
the readers keep their ids and are placed under a criterion by prefix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tianbao.precheck_catalogue import SEVERITY_NAMES, Severity, load_catalogue
from tianbao.report import Finding


@dataclass
class Passage:
    """A quoted sentence of this report beside the one it matches elsewhere."""

    text: str
    other: str


@dataclass
class PrecheckFinding:
    """One result of the precheck, for one unit (or the whole batch when unit is empty)."""

    check: str
    severity: Severity
    message: str
    unit: str = ""
    unit_code: str = ""
    part: str = ""
    quote: str = ""
    other_source: str = ""  # whose text the passages are compared with
    passages: list[Passage] = field(default_factory=list)
    sheet: str | None = None
    cell: str | None = None

    @property
    def criterion(self) -> str:
        return load_catalogue().criterion_of(self.check)

    @property
    def severity_name(self) -> str:
        return SEVERITY_NAMES[self.severity]


def make(check_id: str, *, part: str = "", quote: str = "", passages: list[Passage] | None = None,
         other_source: str = "", **values: object) -> PrecheckFinding:
    """A finding of a catalogue check, its message filled with `values` (and part/quote)."""
    check = load_catalogue().check(check_id)
    message = check.message.format(part=part, quote=quote, **values)
    return PrecheckFinding(check=check.id, severity=check.severity, message=message, part=part, quote=quote,
                           passages=passages or [], other_source=other_source)


def from_finding(finding: Finding, part: str = "") -> PrecheckFinding:
    """A finding of the form's rules or a reader, under its own id."""
    return PrecheckFinding(check=finding.rule, severity=finding.severity, message=finding.message, part=part,
                           sheet=finding.sheet, cell=finding.cell)
