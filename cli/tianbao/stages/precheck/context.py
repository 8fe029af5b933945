"""Everything one unit's checks need, gathered once."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from tianbao.document.read.parts import part_lines, split_parts
from tianbao.form import Form
from tianbao.report import Report
from tianbao.stages.precheck.config import Pack, PrecheckConfig
from tianbao.stages.precheck.inputs import Subject
from tianbao.stages.precheck.texts import TextPart, nfkc, text_parts

PREAMBLE_MIN_CHARS = 20  # shorter preamble lines are navigation, titles and bylines


@dataclass
class Context:
    form: Form
    config: PrecheckConfig
    subject: Subject
    previous: Report | None
    pack: Pack | None = None
    threshold: float = 0.5
    preamble_label: str = "开头段落"
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def report(self) -> Report:
        return self.subject.report

    @property
    def year(self) -> int:
        return self.report.year

    @cached_property
    def parts(self) -> list[TextPart]:
        return text_parts(self.form, self.report)

    @cached_property
    def preamble(self) -> str:
        """A published document's opening paragraphs (statistics period, legal basis)."""
        if self.subject.blocks is None:
            return ""
        lines = part_lines(split_parts(self.form, self.subject.blocks).preamble)
        return "\n".join(line for line in lines if len(line) >= PREAMBLE_MIN_CHARS and "。" in line)

    @cached_property
    def passages(self) -> list[tuple[str, str]]:
        """(part label, text) of every narrative passage, the document's opening included."""
        found = [(self.preamble_label, self.preamble)] if self.preamble else []
        return found + [(p.label, p.text) for p in self.parts if p.text.strip()]

    @cached_property
    def normalized_passages(self) -> list[tuple[str, str, str]]:
        """(part label, text as written, NFKC text): patterns match the NFKC text."""
        return [(label, text, nfkc(text)) for label, text in self.passages]

    def section_text(self, section_id: str) -> str:
        return "\n".join(p.text for p in self.parts if p.section_id == section_id and p.text.strip())

    @property
    def all_text(self) -> str:
        return "\n".join(text for _, text in self.passages)
