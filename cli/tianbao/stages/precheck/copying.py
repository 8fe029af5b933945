"""D1 and D2: text reused from last year's report of the same unit, and across the units
of one batch.

A sentence counts as reused when its character set has Jaccard similarity ≥ 0.88 (by
default) with a sentence of the other text; the ratio is the reused characters over all
countable characters (boilerplate excluded), per part and for the whole report. Across
units, two units whose same part reuses more than the threshold of each other's text are
linked, and linked units form clusters. Sentences shared by a large part of the batch are
common wording there (listed once as a note) rather than evidence of copying.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from tianbao.form import Form
from tianbao.report import Report
from tianbao.stages.precheck.catalogue import Passage, PrecheckFinding, make
from tianbao.stages.precheck.config import Copying, load_config
from tianbao.stages.precheck.similarity import SetIndex
from tianbao.stages.precheck.texts import Sentence, TextPart, boilerplate_keys, sentences


class Boilerplate:
    """The shipped and form-derived boilerplate sentences, matched by the same similarity
    as report sentences (so a sentence's own index keys serve here too)."""

    def __init__(self, form: Form) -> None:
        self.index = SetIndex(load_config().copying.sentence_similarity)
        for chars in boilerplate_keys(form):
            self.index.add(chars)

    def __contains__(self, sentence: Sentence) -> bool:
        return next(self.index.similar(sentence.chars, sentence.signatures), None) is not None


@dataclass
class UnitText:
    """A unit's countable sentences per part key, boilerplate removed."""

    name: str
    code: str
    parts: dict[str, list[Sentence]]
    labels: dict[str, str]

    @property
    def all(self) -> list[Sentence]:
        return [s for found in self.parts.values() for s in found]


def unit_text(report: Report, text_parts: list[TextPart]) -> UnitText:
    """All countable sentences of a report's parts; `drop_boilerplate` then takes the
    boilerplate out."""
    parts: dict[str, list[Sentence]] = {}
    labels: dict[str, str] = {}
    for part in text_parts:
        parts[part.key] = sentences(part.text, report.unit.name)
        labels[part.key] = part.label
    return UnitText(report.unit.name, report.unit.code, parts, labels)


def drop_boilerplate(text: UnitText, boilerplate: Boilerplate) -> None:
    for key, found in text.parts.items():
        text.parts[key] = [s for s in found if s not in boilerplate]


@dataclass
class PartReuse:
    key: str
    label: str
    total: int
    reused: int
    passages: list[tuple[int, Passage]] = field(default_factory=list)  # (weight, pair)

    @property
    def ratio(self) -> float | None:
        return self.reused / self.total if self.total else None


@dataclass
class Reuse:
    parts: list[PartReuse]

    @property
    def total(self) -> int:
        return sum(p.total for p in self.parts)

    @property
    def reused(self) -> int:
        return sum(p.reused for p in self.parts)

    @property
    def ratio(self) -> float | None:
        return self.reused / self.total if self.total else None


def previous_year_reuse(now: UnitText, before: UnitText, config: Copying) -> Reuse:
    """How much of each part of this year's text reappears anywhere in last year's."""
    index = SetIndex(config.sentence_similarity)
    earlier = before.all
    for sentence in earlier:
        index.add(sentence.chars, sentence.signatures)
    parts = []
    for key, found in now.parts.items():
        part = PartReuse(key, now.labels[key], sum(s.weight for s in found), 0)
        for sentence in found:
            match = index.best(sentence.chars, sentence.signatures)
            if match is not None:
                part.reused += sentence.weight
                part.passages.append((sentence.weight, Passage(sentence.text, earlier[match[0]].text)))
        parts.append(part)
    return Reuse(parts)


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _passages(found: list[tuple[int, Passage]], limit: int) -> list[Passage]:
    return [p for _, p in sorted(found, key=lambda item: -item[0])[:limit]]


def previous_year_findings(reuse: Reuse, config: Copying, threshold: float) -> list[PrecheckFinding]:
    findings = []
    for part in reuse.parts:
        if part.ratio is not None and part.ratio > threshold:
            findings.append(make("copy.previous_year", part=part.label, ratio=_percent(part.ratio),
                                 threshold=_percent(threshold), passages=_passages(part.passages, config.passages),
                                 other_source="上年度报告"))
    if reuse.ratio is not None and reuse.ratio > threshold:
        every = [p for part in reuse.parts for p in part.passages]
        findings.append(make("copy.previous_year_whole", ratio=_percent(reuse.ratio), threshold=_percent(threshold),
                             passages=_passages(every, config.passages), other_source="上年度报告"))
    return findings


# ---------------------------------------------------------------------------------------
# Across the units of one batch


@dataclass
class Cluster:
    part: str
    label: str
    members: list[int]
    best: dict[int, tuple[int, float, Passage | None]]  # member -> (partner, ratio, example)


@dataclass
class BatchReuse:
    clusters: list[Cluster]
    common: list[tuple[int, str]]  # (units, sentence) treated as common wording


def _find(parent: list[int], item: int) -> int:
    while parent[item] != item:
        parent[item] = parent[parent[item]]
        item = parent[item]
    return item


def across_units(units: list[UnitText], config: Copying, threshold: float) -> BatchReuse:
    limit = max(config.common_units, math.ceil(config.common_share * len(units)))
    keys = list(dict.fromkeys(k for unit in units for k in unit.parts))
    clusters: list[Cluster] = []
    common: dict[str, tuple[int, str]] = {}
    for key in keys:
        groups: dict[str, int] = {}
        firsts: list[Sentence] = []  # the first sentence of each group of equal keys
        occurrences: list[list[tuple[int, Sentence]]] = []
        for number, unit in enumerate(units):
            for sentence in unit.parts.get(key, []):
                group = groups.get(sentence.key)
                if group is None:
                    group = groups[sentence.key] = len(firsts)
                    firsts.append(sentence)
                    occurrences.append([])
                occurrences[group].append((number, sentence))
        index = SetIndex(config.sentence_similarity)
        for first in firsts:
            index.add(first.chars, first.signatures)
        reused: dict[tuple[int, int], int] = defaultdict(int)
        example: dict[tuple[int, int], tuple[int, Passage]] = {}
        excluded: dict[int, int] = defaultdict(int)
        for group, first in enumerate(firsts):
            near = [found for found, _ in index.similar(first.chars, first.signatures)]
            sharing = {n for g in near for n, _ in occurrences[g]}
            if len(sharing) < 2:
                continue
            if len(sharing) > limit:
                sentence = occurrences[group][0][1]
                if sentence.key not in common:
                    common[sentence.key] = (len(sharing), sentence.text)
                for number, found in occurrences[group]:
                    excluded[number] += found.weight
                continue
            for number, sentence in occurrences[group]:
                partners: dict[int, Sentence] = {}
                for g in near:
                    for other, other_sentence in occurrences[g]:
                        if other != number:
                            partners.setdefault(other, other_sentence)
                for other, other_sentence in partners.items():
                    reused[(number, other)] += sentence.weight
                    kept = example.get((number, other))
                    if kept is None or kept[0] < sentence.weight:
                        example[(number, other)] = (sentence.weight, Passage(sentence.text, other_sentence.text))
        totals = {n: sum(s.weight for s in unit.parts.get(key, [])) - excluded[n] for n, unit in enumerate(units)}
        clusters += _clusters(key, units, reused, example, totals, threshold)
    return BatchReuse(clusters, sorted(common.values(), key=lambda item: -item[0]))


def _clusters(key: str, units: list[UnitText], reused: dict[tuple[int, int], int],
              example: dict[tuple[int, int], tuple[int, Passage]], totals: dict[int, int],
              threshold: float) -> list[Cluster]:
    parent = list(range(len(units)))
    best: dict[int, tuple[int, float, Passage | None]] = {}
    for (a, b), amount in reused.items():
        if a > b and (b, a) in reused:
            continue  # each pair once
        both = totals[a] + totals[b]
        ratio = (amount + reused.get((b, a), 0)) / both if both else 0.0
        if ratio <= threshold:
            continue
        parent[_find(parent, a)] = _find(parent, b)
        for one, other in ((a, b), (b, a)):
            if one not in best or best[one][1] < ratio:
                pair = example.get((one, other))
                best[one] = (other, ratio, pair[1] if pair else None)
    members: dict[int, list[int]] = defaultdict(list)
    for number in best:
        members[_find(parent, number)].append(number)
    label = next((u.labels[key] for u in units if key in u.labels), key)
    return [Cluster(key, label, sorted(group), {n: best[n] for n in group}) for group in members.values()]


def cluster_findings(cluster: Cluster, units: list[UnitText], shown: int = 5) -> dict[int, PrecheckFinding]:
    """One finding per member, naming the others and quoting its closest partner's passage."""
    found = {}
    for member in cluster.members:
        others = [units[n].name for n in cluster.members if n != member]
        named = "、".join(others[:shown]) + (f" 等 {len(others)} 个单位" if len(others) > shown else "")
        partner, ratio, passage = cluster.best[member]
        found[member] = make("copy.across_units", part=cluster.label, others=named, ratio=_percent(ratio),
                             size=len(cluster.members), passages=[passage] if passage else [],
                             other_source=units[partner].name)
    return found
