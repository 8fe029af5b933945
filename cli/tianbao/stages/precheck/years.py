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
    config = ctx.config.years
    ends = ctx.config.copying.sentence_ends
    period = re.compile(config.period)
    stale = re.compile(config.stale.replace("{last}", str(ctx.year - 1)))
    superseded = re.compile(config.superseded)
    findings: list[PrecheckFinding] = []
    quoted: set[tuple[str, str]] = set()
    for label, raw, text in ctx.normalized_passages:
        for match in period.finditer(text):
            start, end = int(match.group("start")), int(match.group("end"))
            if start == end == ctx.year:
                continue
            quoted_text = quote_at(raw, text, match.start(), match.end(), ends)
            findings.append(make("year.period", part=label, quote=quoted_text, start=start, end=end, year=ctx.year))
            quoted.add(("period", quoted_text))
        for match in stale.finditer(text):
            clause = sentence_around(text, match.start(), match.end(), config.clause_ends)
            if any(word in clause for word in config.comparison):
                continue
            quoted_text = quote_at(raw, text, match.start(), match.end(), ends)
            if ("stale", quoted_text) in quoted or ("period", quoted_text) in quoted:
                continue
            quoted.add(("stale", quoted_text))
            findings.append(make("year.stale", part=label, quote=quoted_text, found=match.group(0), year=ctx.year))
        if ctx.year >= config.superseded_from_year:
            for match in superseded.finditer(text):
                findings.append(make("year.superseded_format", part=label, year=ctx.year,
                                     quote=quote_at(raw, text, match.start(), match.end(), ends)))
    return findings
