"""B1, B2, D3, D4: the six parts, the five sub-parts of 一, the government item, a
substantive 五 and a fee statement in 六.

A published document shows its parts as headings, which are found the way the document
reader finds them (numbering taken apart, titles compared after normalisation) but over the
whole document, so a part out of place is told apart from a missing one. A workbook or a
report JSON has every part by construction; there a narrative part with no content at all
counts as missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tianbao.document.read.extract import Block, Paragraph
from tianbao.document.read.parts import PART_SCORE, PART_SCORE_UNNUMBERED, document_sections
from tianbao.document.read.text import clean_line, ratio, split_numbering
from tianbao.document.read.text import normalize as label_form
from tianbao.form.query import Form
from tianbao.form.spec import FieldsSection
from tianbao.stages.precheck.catalogue import PrecheckFinding, make
from tianbao.stages.precheck.context import Context
from tianbao.stages.precheck.texts import normalize

HEADING_SLACK = 12  # a heading line is at most this many characters longer than its title
_COLON = re.compile(r"[：:]")


@dataclass(frozen=True)
class Heading:
    index: int
    line: str


def _heading_at(title: str, block: Block) -> str | None:
    """The heading text when the block is the part heading `title` (numbered or not)."""
    if not isinstance(block, Paragraph):
        return None
    number, body = split_numbering(title)
    wanted = label_form(body)
    line = clean_line(block.text)
    colon = _COLON.search(line)
    if colon and len(label_form(line[: colon.start()])) <= len(wanted) + HEADING_SLACK:
        line = line[: colon.start()]
    if not line or len(label_form(line)) > len(label_form(title)) + HEADING_SLACK:
        return None
    got_number, got_body = split_numbering(line)
    score = ratio(label_form(got_body), wanted)
    if (number is not None and got_number == number and score >= PART_SCORE) or score >= PART_SCORE_UNNUMBERED:
        return line
    return None


def find_headings(form: Form, blocks: list[Block]) -> tuple[dict[str, Heading], dict[str, Heading]]:
    """(parts found in order, parts found only out of order) by section id."""
    in_order: dict[str, Heading] = {}
    cursor = 0
    for section in document_sections(form):
        for index in range(cursor, len(blocks)):
            line = _heading_at(section.title, blocks[index])
            if line is not None:
                in_order[section.id] = Heading(index, line)
                cursor = index + 1
                break
    misplaced: dict[str, Heading] = {}
    for section in document_sections(form):
        if section.id in in_order:
            continue
        for index, block in enumerate(blocks):
            line = _heading_at(section.title, block)
            if line is not None and all(h.index != index for h in in_order.values()):
                misplaced[section.id] = Heading(index, line)
                break
    return in_order, misplaced


def _has_content(ctx: Context, section: FieldsSection) -> bool:
    values = ctx.report.fields.get(section.id, {})
    return any(v is not None and str(v).strip() for f, v in values.items() if f in {x.id for x in section.fields})


def present_sections(ctx: Context) -> tuple[set[str], list[PrecheckFinding]]:
    """The parts the report has, and the B1 findings about the others and about titles."""
    form = ctx.form
    findings: list[PrecheckFinding] = []
    if ctx.subject.blocks is None:
        present = set()
        for section in document_sections(form):
            if isinstance(section, FieldsSection) and not _has_content(ctx, section):
                findings.append(make("parts.missing", part=section.title))
            else:
                present.add(section.id)
        return present, findings
    in_order, misplaced = find_headings(form, ctx.subject.blocks)
    titles = {s.id: s.title for s in document_sections(form)}
    for section_id, heading in misplaced.items():
        later = [(h.index, s) for s, h in in_order.items() if h.index > heading.index]
        before = titles[min(later)[1]] if later else ""
        findings.append(make("parts.order", part=titles[section_id], before=before, quote=heading.line))
    for section in document_sections(form):
        if section.id not in in_order and section.id not in misplaced:
            findings.append(make("parts.missing", part=section.title))
    for section_id, heading in {**in_order, **misplaced}.items():
        number, body = split_numbering(titles[section_id])
        got_number, got_body = split_numbering(heading.line)
        if got_number != number or label_form(got_body) != label_form(body):
            findings.append(make("parts.title", part=titles[section_id], found=heading.line,
                                 expected=titles[section_id], quote=heading.line))
    # The reader takes a part's text only from its place in order: a misplaced part's content
    # is unknown, so only its place is reported.
    return set(in_order), findings


def part_findings(ctx: Context) -> list[PrecheckFinding]:
    present, findings = present_sections(ctx)
    config = ctx.config.parts
    if config.overview in present:
        findings += _subparts(ctx)
    role = ctx.config.role_of(ctx.report.kind, ctx.report.unit.level)
    if role in ctx.config.roles.government_item_roles:
        missing = [word for word in config.government_item if word not in ctx.all_text]
        if missing:
            findings.append(make("parts.government_item", part=ctx.form.section(config.overview).title,
                                 missing="、".join(missing)))
    if config.problems.section in present:
        findings += _problems(ctx)
    if config.fee_statement.section in present:
        findings += _fee_statement(ctx)
    return findings


def _subparts(ctx: Context) -> list[PrecheckFinding]:
    section = ctx.form.section(ctx.config.parts.overview)
    if not isinstance(section, FieldsSection):
        return []
    whole = ctx.section_text(section.id)
    values = ctx.report.fields.get(section.id, {})
    findings = []
    for field in section.fields:
        if field.type != "longtext" or str(values.get(field.id) or "").strip():
            continue
        keywords = ctx.config.parts.subpart_keywords.get(field.id, [])
        if any(word in whole for word in keywords):
            continue
        findings.append(make("parts.subpart_missing", part=section.title, subpart=split_numbering(field.label)[1]))
    return findings


def _problems(ctx: Context) -> list[PrecheckFinding]:
    config = ctx.config.parts.problems
    label = ctx.form.section(config.section).title
    text = ctx.section_text(config.section).strip()
    unit = ctx.report.unit.name
    if any(re.fullmatch(pattern, text) for pattern in config.empty):
        return [make("problems.empty", part=label, found=f"“{text}”" if text else "空白", quote=text)]
    findings = []
    count = len(normalize(text))
    if count < config.min_chars:
        findings.append(make("problems.short", part=label, count=count, limit=config.min_chars, quote=text))
    if ctx.previous is not None:
        before = "\n".join(str(v) for v in ctx.previous.fields.get(config.section, {}).values() if v)
        if normalize(before, ctx.previous.unit.name) == normalize(text, unit):
            findings.append(make("problems.same_as_last_year", part=label, quote=text))
    if not any(word in text for word in config.followup):
        findings.append(make("problems.no_followup", part=label, keywords="、".join(config.followup[:3])))
    return findings


def _fee_statement(ctx: Context) -> list[PrecheckFinding]:
    config = ctx.config.parts.fee_statement
    section = ctx.form.section(config.section)
    text = ctx.section_text(config.section)
    if any(word in text for word in config.keywords):
        return []
    if isinstance(section, FieldsSection):
        values = ctx.report.fields.get(section.id, {})
        if any(values.get(f.id) is not None for f in section.fields if f.is_number):
            return []  # the published document states them in its generated sentence
    return [make("fee.statement_missing", part=section.title)]


def local_findings(ctx: Context) -> list[PrecheckFinding]:
    """B6: a rule pack's content rules (length limits, parts that must state numbers)."""
    if ctx.pack is None:
        return []
    findings = []
    for rule in ctx.pack.content:
        section_id, _, field_id = rule.part.partition(".")
        texts = [p for p in ctx.parts if p.section_id == section_id and (not field_id or p.field_id == field_id)]
        text = "\n".join(p.text for p in texts)
        label = texts[0].label if field_id and texts else ctx.form.section(section_id).title
        if not text.strip():
            continue  # an empty part is reported by the part checks
        count = len(re.sub(r"\s+", "", text))
        if rule.max_chars is not None and count > rule.max_chars:
            findings.append(make("local.max_chars", part=label, count=count, limit=rule.max_chars))
        if rule.needs_number and not re.search(r"\d", text):
            findings.append(make("local.needs_number", part=label))
    return findings
