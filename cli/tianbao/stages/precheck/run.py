"""`tianbao precheck`: every check on every report of a batch, then the batch-wide ones.

The result holds all findings at once (per unit and for the batch), the reuse ratios per
part, the clusters of units sharing text, and a score preview when a rule pack is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tianbao.errors import UserError
from tianbao.form import Form
from tianbao.io.roster import Roster
from tianbao.precheck_catalogue import SEVERITY_ORDER, load_catalogue
from tianbao.stages.precheck.catalogue import PrecheckFinding, make
from tianbao.stages.precheck.config import Pack, PrecheckConfig, check_against_form, load_config, load_pack
from tianbao.stages.precheck.context import Context
from tianbao.stages.precheck.copying import (
    BatchReuse,
    Boilerplate,
    Reuse,
    UnitText,
    across_units,
    cluster_findings,
    drop_boilerplate,
    previous_year_findings,
    previous_year_reuse,
    unit_text,
)
from tianbao.stages.precheck.deadline import deadline_findings
from tianbao.stages.precheck.fees import fee_findings
from tianbao.stages.precheck.inputs import PreviousReports, Subject, apply_publish_dates, load_batch, load_previous
from tianbao.stages.precheck.numbers import percentage_findings, rule_findings, year_on_year_findings
from tianbao.stages.precheck.parts import local_findings, part_findings
from tianbao.stages.precheck.scoring import MODES, UnitScore, score_unit
from tianbao.stages.precheck.texts import text_parts
from tianbao.stages.precheck.years import year_findings
from tianbao.workbook.limits import DEFAULT_LIMITS, Limits

MODE_ALIASES = {"保守": "conservative", "严格": "strict"}


@dataclass
class Options:
    previous: list[Path] | None = None
    pack: str | None = None
    mode: str = "conservative"
    threshold: float | None = None
    publish_date: str | None = None
    roster: Roster | None = None
    year: int | None = None
    limits: Limits = DEFAULT_LIMITS


@dataclass
class UnitResult:
    subject: Subject
    findings: list[PrecheckFinding]
    reuse: Reuse | None = None
    score: UnitScore | None = None

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")


@dataclass
class PrecheckResult:
    year: int | None
    units: list[UnitResult]
    batch: list[PrecheckFinding]  # refusals, units missing from the roster, common wording
    threshold: float
    mode: str
    pack: Pack | None = None
    part_labels: dict[str, str] = field(default_factory=dict)
    previous_given: bool = False

    def all_findings(self) -> list[PrecheckFinding]:
        return self.batch + [f for unit in self.units for f in unit.findings]

    @property
    def errors(self) -> int:
        return sum(1 for f in self.all_findings() if f.severity == "error")


def unit_checks(ctx: Context) -> list[PrecheckFinding]:
    """Every check that looks at one report (and its own last year)."""
    findings = deadline_findings(ctx) + part_findings(ctx) + local_findings(ctx) + year_findings(ctx)
    findings += fee_findings(ctx) + rule_findings(ctx) + percentage_findings(ctx) + year_on_year_findings(ctx)
    if ctx.previous is None:
        catalogue = load_catalogue()
        criteria = sorted({catalogue.criterion_of(c) for c in catalogue.check("previous.missing").covers})
        names = "、".join(f"{c} {catalogue.criteria[c]}" for c in criteria)
        findings.append(make("previous.missing", checks=names))
    return findings


def precheck(form: Form, inputs: list[Path], options: Options) -> PrecheckResult:
    config = load_config()
    check_against_form(config, form)
    mode = MODE_ALIASES.get(options.mode, options.mode)
    if mode not in MODES:
        raise UserError(f"--mode 只能是 保守（conservative）或 严格（strict），不是 “{options.mode}”")
    threshold = options.threshold if options.threshold is not None else config.copying.threshold
    pack = load_pack(options.pack, form) if options.pack else None
    loaded = load_batch(inputs, form, options.year, options.limits)
    apply_publish_dates(loaded.subjects, options.publish_date)
    if options.roster is not None:
        _levels_from_roster(loaded.subjects, options.roster)
    previous = load_previous(options.previous, form, options.limits) if options.previous else None
    units, common = _check_units(form, config, loaded.subjects, previous, pack, threshold)
    batch = list(loaded.refusals) + common
    if options.roster is not None:
        batch += _missing_from_roster(loaded.subjects, options.roster)
    result = PrecheckResult(loaded.year, units, batch, threshold, mode, pack,
                            previous_given=previous is not None)
    for unit in units:
        if pack is not None:
            unit.score = score_unit(form, pack, unit.subject.report, unit.findings, mode)
        unit.findings.sort(key=lambda f: SEVERITY_ORDER[f.severity])
    return result


def _check_units(form: Form, config: PrecheckConfig, subjects: list[Subject], previous: PreviousReports | None,
                 pack: Pack | None, threshold: float) -> tuple[list[UnitResult], list[PrecheckFinding]]:
    """The units' results, and the batch notes on common wording."""
    # Each report's parts and sentences are made once: the checks of one unit, its reuse of
    # last year's text and the comparison across units all read the same ones.
    contexts = [Context(form, config, s, previous.find(s.report) if previous else None, pack, threshold)
                for s in subjects]
    texts = [unit_text(ctx.report, ctx.parts) for ctx in contexts]
    befores = [unit_text(ctx.previous, text_parts(form, ctx.previous)) if ctx.previous is not None else None
               for ctx in contexts]
    boilerplate = Boilerplate(form)
    for text in [*texts, *(b for b in befores if b)]:
        drop_boilerplate(text, boilerplate)
    units = []
    for ctx, text, before in zip(contexts, texts, befores, strict=True):
        findings = unit_checks(ctx)
        reuse = None
        if before is not None:
            reuse = previous_year_reuse(text, before, config.copying)
            findings += previous_year_findings(reuse, config.copying, threshold)
        units.append(UnitResult(ctx.subject, findings, reuse))
    shared = across_units(texts, config.copying, threshold)
    _attach_clusters(units, texts, shared)
    for unit in units:
        for finding in unit.findings:
            finding.unit, finding.unit_code = unit.subject.report.unit.name, unit.subject.report.unit.code
    common = [make("copy.common_sentence", count=count, quote=text) for count, text in shared.common]
    return units, common


def _attach_clusters(units: list[UnitResult], texts: list[UnitText], shared: BatchReuse) -> None:
    for cluster in shared.clusters:
        for member, finding in cluster_findings(cluster, texts).items():
            units[member].findings.append(finding)


def _levels_from_roster(subjects: list[Subject], roster: Roster) -> None:
    """A published document names its unit but not its level: take it from the roster."""
    for subject in subjects:
        unit = subject.report.unit
        found = roster.find(unit.code, unit.name) or roster.find("", unit.name)
        if found is not None:
            unit.code = unit.code or found.code
            unit.level = unit.level or found.level


def _missing_from_roster(subjects: list[Subject], roster: Roster) -> list[PrecheckFinding]:
    have = {s.report.unit.code for s in subjects if s.report.unit.code} | {s.report.unit.name for s in subjects}
    missing = []
    for unit in roster.units:
        if unit.code in have or unit.name in have:
            continue
        finding = make("roster.missing", unit=unit.name)
        finding.unit, finding.unit_code = unit.name, unit.code
        missing.append(finding)
    return missing
