"""The typed report model that every stage exchanges, and its JSON form.

A report (one unit's, or a district's sum) holds identity, metadata and narrative fields,
every table value (inputs and recomputed totals), findings and provenance. Keys are the
English ids of the form definition, in form order. Money is an exact Decimal and is written
to JSON as a string ("4068.2080"), never as a binary float.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tianbao import __version__
from tianbao.errors import FormMismatch, ReportLoadError
from tianbao.form import Form
from tianbao.form.spec import TableSection

SCHEMA_VERSION = 1

Severity = Literal["error", "warning"]
Number = int | Decimal
FieldValue = str | int | Decimal | None


class Review(BaseModel):
    """A reviewer's decision on a finding (collection ledger): kept while the value is unchanged."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["fix", "accept", "override"] = Field(
        description="fix: the unit must correct it; accept: a warning verified as real; "
        "override: an error confirmed correct by the reviewer"
    )
    reason: str = ""
    decided_at: str | None = None


class Finding(BaseModel):
    """One problem, located precisely enough for a clerk to fix it."""

    model_config = ConfigDict(extra="forbid")

    rule: str = Field(description="Rule id from the form (R1…) or a reader check id (value.text…)")
    severity: Severity
    message: str = Field(description="Plain Chinese message for the department clerk")
    sheet: str | None = None
    cell: str | None = Field(default=None, description="A1 cell, or cells joined by commas")
    expected: str | None = None
    found: str | None = None
    review: Review | None = Field(default=None, description="The reviewer's decision, when one applies")

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def blocking(self) -> bool:
        """An error that stops the report: every error not explicitly overridden by a reviewer."""
        return self.is_error and not (self.review is not None and self.review.decision == "override")


class FormRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    version: str
    fingerprint: str | None = None


class Unit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = ""
    name: str
    level: str = ""


class Provenance(BaseModel):
    """Where a report came from, so any number can be traced to its submission."""

    model_config = ConfigDict(extra="forbid")

    source_kind: Literal["workbook", "document", "merge", "manual"] = "manual"
    source_file: str | None = None
    sha256: str | None = None
    generated_at: str | None = Field(default=None, description="Template generation time")
    imported_at: str | None = None
    tool_version: str | None = None


def stamp(source_kind: str, source_file: str | None = None, sha256: str | None = None,
          generated_at: str | None = None) -> Provenance:
    """The provenance of a report made now by this tool: the one place that stamps it."""
    return Provenance(
        source_kind=source_kind,  # type: ignore[arg-type]
        source_file=source_file, sha256=sha256, generated_at=generated_at,
        imported_at=datetime.now().astimezone().isoformat(timespec="seconds"), tool_version=__version__,
    )


class SourceEntry(BaseModel):
    """One input of a merged (district) report."""

    model_config = ConfigDict(extra="forbid")

    unit_code: str
    unit_name: str
    status: str
    source_file: str | None = None
    sha256: str | None = None
    imported_at: str | None = None
    summed: bool = False


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    form: FormRef
    kind: Literal["unit", "district"] = "unit"
    unit: Unit
    year: int
    fields: dict[str, dict[str, FieldValue]] = Field(
        default_factory=dict, description="section id -> field id -> value (identity fields excluded)"
    )
    tables: dict[str, dict[str, dict[str, Number]]] = Field(
        default_factory=dict, description="table id -> row id -> column id -> value"
    )
    findings: list[Finding] = Field(default_factory=list)
    provenance: Provenance = Field(default_factory=Provenance)
    sources: list[SourceEntry] = Field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.is_error]

    def field_value(self, form: Form, section_id: str, field_id: str) -> FieldValue:
        """A field's value, identity fields included."""
        if section_id == form.identity_section.id:
            role = {v: k for k, v in form.identity_fields.items()}.get(field_id)
            if role is not None:
                return self.identity_value(role)
        return self.fields.get(section_id, {}).get(field_id)

    def identity_value(self, role: str) -> FieldValue:
        return {
            "unit_name": self.unit.name,
            "unit_code": self.unit.code,
            "unit_level": self.unit.level,
            "year": self.year,
        }[role]

    def to_json(self) -> str:
        # pydantic's serializer writes what json.dumps(model_dump(mode="json"), indent=2,
        # ensure_ascii=False) would, byte for byte, five times faster (indent makes json's
        # encoder pure Python): one of these per imported file.
        return self.model_dump_json(indent=2) + "\n"


def empty_report(form: Form, unit: Unit, year: int) -> Report:
    """A report with every value present and zero/blank, keys in form order."""
    fields: dict[str, dict[str, FieldValue]] = {}
    identity = set(form.identity_fields.values())
    for section in form.field_sections:
        values: dict[str, FieldValue] = {}
        for field in section.fields:
            if section.id == form.identity_section.id and field.id in identity:
                continue
            values[field.id] = None
        fields[section.id] = values
    tables = {table.id: zero_table(form, table) for table in form.tables}
    return Report(
        form=FormRef(id=form.id, version=form.version, fingerprint=form.fingerprint),
        unit=unit,
        year=year,
        fields=fields,
        tables=tables,
    )


def zero_table(form: Form, table: TableSection) -> dict[str, dict[str, Number]]:
    rows: dict[str, dict[str, Number]] = {}
    for row in table.rows:
        rows[row.id] = {
            column.id: (Decimal(0) if column.type == "decimal" else 0)
            for column in form.row_columns(table, row)
        }
    return rows


def coerce_field(value: FieldValue, field_type: str) -> FieldValue:
    """JSON gives decimals as strings and years as ints; bring them back to model types."""
    if value is None or value == "":
        return None
    if field_type == "decimal":
        return Decimal(str(value))
    if field_type in ("int", "year"):
        return int(value)
    return str(value)


def conform(report: Report, form: Form, name: str) -> None:
    """Check the report belongs to the form (id and an accepted version: the one form-version
    check of report JSON) and give every value its declared type."""
    if report.form.id != form.id or report.form.version not in form.accepted_versions:
        accepted = "、".join(form.accepted_versions)
        raise FormMismatch(f"{name} 使用的表单是 {report.form.id}（{report.form.version} 版），"
                           f"不是 {form.id}（{accepted} 版）")
    for section in form.field_sections:
        values = report.fields.get(section.id, {})
        for field in section.fields:
            if field.id in values:
                try:
                    values[field.id] = coerce_field(values[field.id], field.type)
                except (ValueError, InvalidOperation) as exc:
                    raise ReportLoadError(f"{name}: 字段 {section.id}.{field.id} 的值无效") from exc
    for table_id, table_rows in _table_cells(form):
        rows = report.tables.get(table_id)
        if rows is None:
            raise ReportLoadError(f"{name}: 缺少表格 {table_id}")
        for row_id, columns in table_rows:
            values = rows.get(row_id, {})
            for column_id, is_decimal in columns:
                value = values.get(column_id)
                if value is None:
                    raise ReportLoadError(f"{name}: 缺少 {table_id}.{row_id}.{column_id} 的值")
                if is_decimal:
                    values[column_id] = Decimal(str(value))
                elif type(value) is not int:
                    values[column_id] = int(value)


@lru_cache(maxsize=8)
def _table_cells(form: Form) -> tuple[tuple[str, tuple[tuple[str, tuple[tuple[str, bool], ...]], ...]], ...]:
    """(table, ((row, ((column, is decimal), ...)), ...)) for every table value: made once per
    form, as a merge conforms ten thousand reports."""
    return tuple(
        (table.id, tuple((row.id, tuple((c.id, c.type == "decimal") for c in form.row_columns(table, row)))
                         for row in table.rows))
        for table in form.tables
    )


def report_schema() -> str:
    """The JSON Schema of the report JSON (committed as docs/report.schema.json)."""
    return json.dumps(Report.model_json_schema(), ensure_ascii=False, indent=2) + "\n"
