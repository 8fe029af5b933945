"""B3 and B5: the statistics period, stale years, a citation of the superseded format."""

from __future__ import annotations

import re

from tianbao.stages.precheck.catalogue import PrecheckFinding, make
from tianbao.stages.precheck.context import Context


def sentence_around(text: str, start: int, end: int, ends: str) -> str:
    begin = max((text.rfind(ch, 0, start) for ch in ends), default=-1) + 1
    stops = [i for i in (text.find(ch, end) for ch in ends) if i >= 0]
    return text[begin:(min(stops) + 1 if stops else len(text))].strip()


def quote_at(raw: str, text: str, start: int, end: int, ends: str) -> str:
    """The sentence around a match in the NFKC `text`, in the clerk's own characters when
    normalising kept the positions (it does for Chinese text)."""
    return sentence_around(raw if len(raw) == len(text) else text, start, end, ends)


def year_findings(ctx: Context) -> list[PrecheckFinding]:
    """Periods not the report year (a whole period, or only its first day), years before or
    after it outside comparisons (last year's 年底/年度, 截至 any other year's end), and a
    citation of the superseded format. These state the form's R9 and R10 (which the
    document reader also gives) with the comparison phrases left alone; one finding per
    sentence and criterion."""
    config = ctx.config.years
    ends = ctx.config.copying.sentence_ends
    period = re.compile(config.period)
    period_start = re.compile(config.period_start)
    stale = re.compile(config.stale.replace("{last}", str(ctx.year - 1)))
    as_of = re.compile(config.as_of)
    superseded = re.compile(config.superseded)
    findings: list[PrecheckFinding] = []
    quoted: set[tuple[str, str]] = set()  # (criterion, sentence) already given a finding

    def add(finding: PrecheckFinding) -> None:
        key = (finding.criterion, finding.quote)
        if key not in quoted:
            quoted.add(key)
            findings.append(finding)

    def compared(text: str, match: re.Match[str]) -> bool:
        clause = sentence_around(text, match.start(), match.end(), config.clause_ends)
        return any(word in clause for word in config.comparison)

    for label, raw, text in ctx.normalized_passages:
        for match in period.finditer(text):
            start, end = int(match.group("start")), int(match.group("end"))
            if start != ctx.year or end != ctx.year:
                add(make("year.period", part=label, quote=quote_at(raw, text, match.start(), match.end(), ends),
                         start=start, end=end, year=ctx.year))
        for match in period_start.finditer(text):
            start = int(match.group("start"))
            if start != ctx.year:
                add(make("year.period_start", part=label, start=start, year=ctx.year,
                         quote=quote_at(raw, text, match.start(), match.end(), ends)))
        for match in as_of.finditer(text):
            if int(match.group("y")) != ctx.year and not compared(text, match):
                add(make("year.stale", part=label, found=match.group(0), year=ctx.year,
                         quote=quote_at(raw, text, match.start(), match.end(), ends)))
        for match in stale.finditer(text):
            if not compared(text, match):
                add(make("year.stale", part=label, found=match.group(0), year=ctx.year,
                         quote=quote_at(raw, text, match.start(), match.end(), ends)))
        if ctx.year >= config.superseded_from_year:
            for match in superseded.finditer(text):
                add(make("year.superseded_format", part=label, year=ctx.year,
                         quote=quote_at(raw, text, match.start(), match.end(), ends)))
    return findings
