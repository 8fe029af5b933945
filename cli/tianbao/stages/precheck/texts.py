"""The narrative text of a report as the precheck sees it: parts, sentences, boilerplate.

A part is one longtext field of the form (the five sub-parts of 一, then 五 and 六). Its text
is split into sentences on the configured sentence ends; each sentence is compared by the
set of its characters after normalisation (NFKC, no spaces or punctuation, the unit's own
name dropped, every run of digits read as one "0" — so a copy with new numbers still
matches). Sentences every report has (the statutory introduction, titles and captions,
the generated fee sentence) are boilerplate and take no part in the reuse ratios.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import yaml

from tianbao.errors import UserError
from tianbao.form.query import Form
from tianbao.form.spec import FieldsSection
from tianbao.precheck_catalogue import data_dir
from tianbao.report import Report
from tianbao.stages.precheck.config import load_config
from tianbao.stages.precheck.similarity import signatures

UNIT_MARK = "〈单位〉"  # stands for the unit's name in boilerplate sentences
_NOT_TEXT = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class TextPart:
    key: str  # section.field
    section_id: str
    field_id: str
    label: str  # how a clerk names the part
    text: str


@dataclass(frozen=True)
class Sentence:
    text: str  # as written, for quoting
    key: str  # normalised
    chars: frozenset[str]
    signatures: tuple[int, ...]  # its index keys at the configured similarity, made once

    @property
    def weight(self) -> int:
        return len(self.key)


def nfkc(text: str) -> str:
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def normalize(text: str, unit_name: str = "") -> str:
    # Punctuation and spaces go first: what is left is nearly always NFKC already, which is
    # cheap to confirm (normalising every sentence would dominate a large batch).
    text = nfkc(_NOT_TEXT.sub("", text.replace(UNIT_MARK, "")))
    if unit_name:
        text = text.replace(nfkc(_NOT_TEXT.sub("", unit_name)), "")
    return _DIGITS.sub("0", _NOT_TEXT.sub("", text))


def text_parts(form: Form, report: Report) -> list[TextPart]:
    """Every longtext field of the document's narrative sections, in form order."""
    parts = []
    for section in form.field_sections:
        if not section.in_document:
            continue
        fields = [f for f in section.fields if f.type == "longtext"]
        for field in fields:
            label = section.title if len(fields) == 1 else f"{section.title}{field.label}"
            value = report.fields.get(section.id, {}).get(field.id)
            parts.append(TextPart(f"{section.id}.{field.id}", section.id, field.id, label,
                                  str(value) if value is not None else ""))
    return parts


def part_label(form: Form, key: str) -> str:
    section_id, _, field_id = key.partition(".")
    section = form.section(section_id)
    if not field_id or not isinstance(section, FieldsSection):
        return section.title
    texts = [f for f in section.fields if f.type == "longtext"]
    if len(texts) == 1:
        return section.title
    return section.title + next(f.label for f in section.fields if f.id == field_id)


def split_sentences(text: str) -> list[str]:
    ends = load_config().copying.sentence_ends
    pieces = re.split(f"(?<=[{re.escape(ends)}])", text)
    return [p.strip() for p in pieces if p.strip()]


def sentences(text: str, unit_name: str = "") -> list[Sentence]:
    """The countable sentences of a text (long enough to be compared)."""
    copying = load_config().copying
    found = []
    for piece in split_sentences(text):
        key = normalize(piece, unit_name)
        if len(key) >= copying.min_sentence_chars:
            chars = frozenset(key)
            found.append(Sentence(piece, key, chars, signatures(chars, copying.sentence_similarity)))
    return found


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


@cache
def shipped_boilerplate() -> tuple[str, ...]:
    """The hand-written statutory sentences (boilerplate.yaml)."""
    path = data_dir() / "boilerplate.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return tuple(str(s) for s in raw.get("sentences", []))
    except (OSError, yaml.YAMLError, AttributeError) as exc:
        raise UserError(f"套话文件 {path} 无效：{exc}") from exc


@cache
def learned_boilerplate() -> tuple[str, ...]:
    """The sentences learned from a corpus (boilerplate_learned.yaml, written by learn.py)."""
    path = data_dir() / "boilerplate_learned.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return tuple(str(entry["text"]) for entry in raw.get("sentences", []))
    except (OSError, yaml.YAMLError, AttributeError, KeyError, TypeError) as exc:
        raise UserError(f"套话文件 {path} 无效：{exc}") from exc


def form_boilerplate(form: Form) -> list[str]:
    """What the form itself prints: titles, labels, table captions and generated sentences."""
    found: list[str] = []
    for section in form.sections:
        found.append(section.title)
        if isinstance(section, FieldsSection):
            found += [f.label for f in section.fields]
            for sentence in section.document_sentences:
                found += [sentence.zero_text, re.sub(r"\{\w+\}", "0", sentence.text)]
        else:
            found += [label.text for label in section.labels]
    return [text for text in found if text]


def boilerplate_keys(form: Form, learned: bool = True) -> list[frozenset[str]]:
    """The character sets of every boilerplate sentence (without the learned ones: what a
    new corpus need not learn again)."""
    shortest = load_config().copying.min_sentence_chars
    texts = [*shipped_boilerplate(), *form_boilerplate(form), *(learned_boilerplate() if learned else ())]
    keys = {normalize(text) for text in texts}
    return [frozenset(k) for k in sorted(keys) if len(k) >= shortest]
