"""The typed report model that every stage exchanges, and its JSON form.

A report (one unit's, or a district's sum) holds identity, metadata and narrative fields,
every table value (inputs and recomputed totals), findings and provenance. Keys are the
English ids of the form definition, in form order. Money is an exact Decimal and is written
to JSON as a string ("4068.2080"), never as a binary float.
"""

from __future__ import annotations

import json
import os
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tianbao.formdef import Form, TableSection
from tianbao.names import shown_name

SCHEMA_VERSION = 1

Severity = Literal["error", "warning"]
Number = int | Decimal
FieldValue = str | int | Decimal | None


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

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


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
        data = self.model_dump(mode="json")
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


class ReportLoadError(Exception):
    """A report JSON file cannot be used; the message is for the user."""


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


def load_report(path: str | Path, form: Form | None = None) -> Report:
    """Read a report JSON file; with a form, check its keys and restore exact types."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportLoadError(f"{shown_name(path.name)}: 不是有效的 JSON 报告文件（{exc}）") from exc
    try:
        report = Report.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ReportLoadError(f"{shown_name(path.name)}: 报告 JSON 的 {where} 不符合格式：{first['msg']}") from exc
    if form is not None:
        conform(report, form, shown_name(path.name))
    return report


def conform(report: Report, form: Form, name: str) -> None:
    """Check the report belongs to the form and give every value its declared type."""
    if report.form.id != form.id:
        raise ReportLoadError(f"{name}: 报告使用的表单是 “{report.form.id}”，不是 “{form.id}”")
    for section in form.field_sections:
        values = report.fields.get(section.id, {})
        for field in section.fields:
            if field.id in values:
                try:
                    values[field.id] = coerce_field(values[field.id], field.type)
                except (ValueError, InvalidOperation) as exc:
                    raise ReportLoadError(f"{name}: 字段 {section.id}.{field.id} 的值无效") from exc
    for table in form.tables:
        rows = report.tables.get(table.id)
        if rows is None:
            raise ReportLoadError(f"{name}: 缺少表格 {table.id}")
        for row in table.rows:
            for column in form.row_columns(table, row):
                value = rows.get(row.id, {}).get(column.id)
                if value is None:
                    raise ReportLoadError(f"{name}: 缺少 {table.id}.{row.id}.{column.id} 的值")
                rows[row.id][column.id] = (
                    Decimal(str(value)) if column.type == "decimal" else int(value)
                )


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write via a temp file in the same folder and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private (0600); outputs are shared, so use the mode a plainly
        # created file would get under the current umask.
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

