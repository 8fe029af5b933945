"""Older report formats: recognise them and say how they map onto the current form.

What an older format looks like is knowledge about another form version, so it is data:
templates/legacy/<form id>.yaml beside the form definition (see that file for the keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tianbao.document.read.tables import TableOptions
from tianbao.document.read.text import normalize
from tianbao.errors import FormDefinitionError
from tianbao.findings import emit
from tianbao.form import Form
from tianbao.report import Finding


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LegacyTable(_Strict):
    anchors: dict[str, list[str]] = {}
    take_last: list[str] = []
    stop_labels: list[str] = []
    unmapped: dict[str, str] = {}
    notes: dict[str, str] = {}


class LegacyFormat(_Strict):
    id: str
    name: str
    markers: list[str] = Field(min_length=1)
    min_markers: int = Field(default=1, ge=1)
    message: str
    tables: dict[str, LegacyTable] = {}


class LegacyFile(_Strict):
    formats: list[LegacyFormat] = []


@dataclass
class Legacy:
    format: LegacyFormat
    options: dict[str, TableOptions]  # table id -> how to read it
    findings: list[Finding]


def legacy_path(form: Form) -> Path:
    return Path(form.source).parent / "legacy" / f"{form.id}.yaml"


def load_legacy_formats(form: Form) -> list[LegacyFormat]:
    """The older formats known for this form; none when the form ships no legacy file."""
    path = legacy_path(form)
    if not path.is_file():
        return []
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        formats = LegacyFile.model_validate(raw).formats
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValidationError) as exc:
        raise FormDefinitionError(f"{path}: 旧格式说明文件无效（{exc}）") from exc
    for legacy in formats:
        for table_id, table in legacy.tables.items():
            try:
                rows = {r.id for r in form.table(table_id).rows}
            except KeyError:
                raise FormDefinitionError(f"{path}: {legacy.id}.tables: 表格 “{table_id}” 不存在") from None
            named = [*table.anchors, *table.take_last, *table.unmapped, *table.notes]
            unknown = [r for r in named if r not in rows]
            if unknown:
                raise FormDefinitionError(f"{path}: {legacy.id}.tables.{table_id}: 行 “{unknown[0]}” 不存在")
    return formats


def detect_legacy(form: Form, text: str) -> Legacy | None:
    """The first older format whose markers the document's text carries, with its reading options."""
    compact = normalize(text)
    for legacy in load_legacy_formats(form):
        hits = [m for m in legacy.markers if normalize(m) in compact]
        if len(hits) < legacy.min_markers:
            continue
        findings = [emit("legacy.format", found="、".join(hits), message=legacy.message.strip())]
        options = {}
        for table_id, table in legacy.tables.items():
            options[table_id] = TableOptions(
                anchors=dict(table.anchors), take_last=set(table.take_last),
                stop_labels=list(table.stop_labels), unmapped=dict(table.unmapped),
            )
            section = form.table(table_id)
            for row_id, note in table.notes.items():
                row = next(r for r in section.rows if r.id == row_id)
                cells = [form.table_cell(section, row_id, c.id).a1 for c in form.row_columns(section, row)]
                findings.append(emit("legacy.mapped", sheet=section.sheet, cell=",".join(cells), title=section.title,
                                     row=row.label, note=note))
        return Legacy(legacy, options, findings)
    return None
