"""Form definitions: load, validate and query the YAML files under templates/.

A form definition is the single source of every label, position, type, computed cell and
rule of a report. This module turns the YAML into typed, cross-checked objects and answers
the questions the other stages ask ("where is this input?", "which cells are computed?").
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tianbao.cells import Cell, Range, column_index

IDENT = r"^[a-z][a-z0-9_]*$"
Ident = Annotated[str, Field(pattern=IDENT)]
A1Cell = Annotated[str, Field(pattern=r"^[A-Z]{1,3}[1-9][0-9]*$")]
A1Range = Annotated[str, Field(pattern=r"^[A-Z]{1,3}[1-9][0-9]*(:[A-Z]{1,3}[1-9][0-9]*)?$")]
ColumnLetters = Annotated[str, Field(pattern=r"^[A-Z]{1,3}$")]
Text = Annotated[str, Field(min_length=1)]

FieldType = Literal["text", "longtext", "choice", "year", "date", "int", "decimal"]
NUMBER_TYPES = ("int", "decimal", "year")


class FormDefinitionError(Exception):
    """A definition file is unreadable or inconsistent; the message names file and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Instructions(_Strict):
    sheet: Text
    title: Text
    lines: list[Text]


class FieldDef(_Strict):
    id: Ident
    row: int = Field(ge=1)
    label: Text
    type: FieldType
    required: bool = False
    max_length: int | None = Field(default=None, ge=1)
    choices: list[Text] | None = None
    places: int = Field(default=0, ge=0, le=6)
    unit: str | None = None
    # How a published document shows the field: its label as a sub-heading then the text,
    # the text alone, or nothing (structured values are shown through sentences instead).
    document: Literal["heading", "text", "hidden"] | None = None

    @model_validator(mode="after")
    def _choices_only_for_choice(self) -> FieldDef:
        if (self.type == "choice") != bool(self.choices):
            raise ValueError("choices must be given exactly when type is choice")
        return self

    @property
    def document_role(self) -> str:
        if self.document:
            return self.document
        return "heading" if self.type == "longtext" else "hidden"

    @property
    def is_number(self) -> bool:
        return self.type in NUMBER_TYPES


class DocumentSentence(_Strict):
    unless_text_contains: Text
    zero_when: list[Ident] = []
    zero_text: str = ""
    text: Text


class LabelCell(_Strict):
    range: A1Range
    text: Text


class ColumnDef(_Strict):
    id: Ident
    col: ColumnLetters
    span_to: ColumnLetters | None = None
    label: Text
    type: Literal["int", "decimal"] = "int"
    places: int = Field(default=0, ge=0, le=6)
    unit: str | None = None


class RowDef(_Strict):
    id: Ident
    row: int = Field(ge=1)
    label: Text
    columns: list[Ident] | None = None


class ComputedDef(_Strict):
    rule: Ident | Annotated[str, Field(pattern=r"^[A-Z][A-Za-z0-9_]*$")]
    target_column: Ident | None = None
    sum_of_columns: list[Ident] | None = None
    target_row: Ident | None = None
    sum_of_rows: list[Ident] | None = None
    message: Text
    severity: Literal["error", "warning"] = "error"

    @model_validator(mode="after")
    def _one_direction(self) -> ComputedDef:
        row_sum = self.target_column is not None and self.sum_of_columns
        column_sum = self.target_row is not None and self.sum_of_rows
        if bool(row_sum) == bool(column_sum):
            raise ValueError(
                "give either target_column with sum_of_columns, or target_row with sum_of_rows"
            )
        return self


class SectionBase(_Strict):
    id: Ident
    sheet: Annotated[str, Field(min_length=1, max_length=31, pattern=r"^[^\[\]:*?/\\']+$")]
    title: Text
    in_document: bool = True


class FieldsSection(SectionBase):
    kind: Literal["fields"]
    label_column: ColumnLetters = "A"
    input_column: ColumnLetters = "B"
    text_height: int = Field(default=120, ge=15, le=409)
    fields: list[FieldDef] = Field(min_length=1)
    document_sentences: list[DocumentSentence] = []


class TableSection(SectionBase):
    kind: Literal["table"]
    origin: A1Cell = "A3"
    landscape: bool = False
    column_widths: dict[ColumnLetters, float] = {}
    header_rows: list[int] = []
    labels: list[LabelCell]
    columns: list[ColumnDef] = Field(min_length=1)
    rows: list[RowDef] = Field(min_length=1)
    computed: list[ComputedDef] = []
    # Where a header word may break when printed: the word -> its lines joined by "|"
    # ("结果维持" -> "结果|维持"). Other header words are never broken inside.
    print_breaks: dict[Text, Text] = {}

    @model_validator(mode="after")
    def _breaks_keep_the_word(self) -> TableSection:
        for word, lines in self.print_breaks.items():
            if lines.replace("|", "") != word:
                raise ValueError(f"print_breaks: “{lines}” 去掉分隔符后应与 “{word}” 相同")
        return self


Section = Annotated[FieldsSection | TableSection, Field(discriminator="kind")]


class RuleCheck(_Strict):
    sheet: Text
    label: LabelCell | None = None
    cells: list[A1Cell]


class RuleWhen(_Strict):
    field: Ident
    # `in` is a Python keyword, so the YAML key is aliased.
    values: list[Text] = Field(alias="in")


class RuleDef(_Strict):
    id: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
    severity: Literal["error", "warning"]
    assert_: Text = Field(alias="assert")
    message: Text
    for_each: dict[Ident, list[Ident]] = {}
    when: RuleWhen | None = None
    check: RuleCheck | None = None


class YearLink(_Strict):
    """A row that continues last year's row of the same table (R6)."""

    rule: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
    severity: Literal["error", "warning"] = "error"
    table: Ident
    previous_row: Ident
    current_row: Ident
    message: Text


CellRef = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")]
RowRef = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")]


class SummaryChart(_Strict):
    """The table cell charted per unit in a district summary ("table.row.column")."""

    cell: CellRef
    title: Text

    @property
    def ref(self) -> tuple[str, str, str]:
        table, row, column = self.cell.split(".")
        return table, row, column


class SummarySpec(_Strict):
    """What a district summary highlights (`tianbao merge`); both parts are optional."""

    chart: SummaryChart | None = None
    # Rows ("table.row") whose district totals the merge prints in the terminal.
    key_rows: list[RowRef] = []

    def key_row_refs(self) -> list[tuple[str, str]]:
        return [(ref.split(".")[0], ref.split(".")[1]) for ref in self.key_rows]


CheckRef = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){1,2}$")]


class NarrativeCheck(_Strict):
    """A number a published report states in its text, compared with its tables (R8).

    `pattern` is a regular expression; its group `n` is the stated number, or, for a
    sentence that states a fixed value ("未收到…申请"), `value` gives it. `compare` names the
    table cells ("table.row.column", summed) or the one field ("section.field") it must equal.
    A field the document does not state otherwise takes the first value its text states.
    """

    rule: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
    severity: Literal["error", "warning"] = "warning"
    pattern: Text
    value: Decimal | None = None
    compare: list[CheckRef] = Field(min_length=1)
    # Another reading the text may mean (e.g. new applications alone, or new plus carried over):
    # the check holds when the stated number equals `compare` or any of these sums.
    or_compare: list[list[CheckRef]] = []
    # The stated number is a percentage of this sum (`compare` / `percent_of` × 100, as rounded in the text).
    percent_of: list[CheckRef] = []
    # Only for reports of this year or later (e.g. a format that was replaced).
    from_year: int | None = None
    message: Text

    @model_validator(mode="after")
    def _pattern_states_a_number(self) -> NarrativeCheck:
        try:
            groups = re.compile(self.pattern).groupindex
        except re.error as exc:
            raise ValueError(f"pattern is not a valid regular expression: {exc}") from exc
        if ("n" in groups) == (self.value is not None):
            raise ValueError("give the stated number either as the pattern's group (?P<n>…) or as value")
        return self


class Identity(_Strict):
    """Which fields identify the report's unit and year."""

    section: Ident = "basic"
    unit_name: Ident = "unit_name"
    unit_code: Ident = "unit_code"
    unit_level: Ident = "unit_level"
    year: Ident = "year"


class UnfilledCheck(_Strict):
    """A returned workbook whose numbers are all as distributed was never filled in (未填写),
    unless the unit confirms in `confirm` ("section.field", any value) that it has none."""

    confirm: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")]

    @property
    def ref(self) -> tuple[str, str]:
        section, field = self.confirm.split(".")
        return section, field


class FormSpec(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
    version: Text
    title: Text
    basis: str = ""
    document_title: Text
    accepted_versions: list[Text] = []
    identity: Identity = Identity()
    instructions: Instructions
    sections: list[Section] = Field(min_length=1)
    rules: list[RuleDef] = []
    year_links: list[YearLink] = []
    summary: SummarySpec = SummarySpec()
    narrative_checks: list[NarrativeCheck] = []
    unfilled: UnfilledCheck | None = None


# ---------------------------------------------------------------------------------------
# Query objects derived from the spec


@dataclass(frozen=True)
class InputCell:
    """One editable cell of the workbook, with where its value goes in the report model."""

    section: str
    key: tuple[str, ...]  # (field,) for fields, (row, column) for tables
    sheet: str
    cell: Cell
    merge: Range | None
    type: str
    places: int
    label: str
    defined_name: str
    max_length: int | None = None
    required: bool = False
    choices: tuple[str, ...] = ()

    @property
    def a1(self) -> str:
        return self.cell.a1


@dataclass(frozen=True)
class ComputedCell:
    """A table cell whose value is a sum of other cells of the same table."""

    table: str
    row: str
    column: str
    sheet: str
    cell: Cell
    rule: str
    terms: tuple[tuple[str, str], ...]  # (row id, column id) summed

    @property
    def a1(self) -> str:
        return self.cell.a1


class Form:
    """A validated form definition plus the lookups every stage needs."""

    def __init__(self, spec: FormSpec, source: str, raw: dict[str, Any]) -> None:
        self.spec = spec
        self.source = source
        self._raw = raw

    # -- identity ------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def accepted_versions(self) -> list[str]:
        return self.spec.accepted_versions or [self.spec.version]

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of the canonical definition: changes whenever anything in it changes."""
        canonical = json.dumps(self._raw, ensure_ascii=False, sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    # -- sections ------------------------------------------------------------------------
    @property
    def sections(self) -> list[FieldsSection | TableSection]:
        return list(self.spec.sections)

    @cached_property
    def field_sections(self) -> list[FieldsSection]:
        return [s for s in self.spec.sections if isinstance(s, FieldsSection)]

    @cached_property
    def tables(self) -> list[TableSection]:
        return [s for s in self.spec.sections if isinstance(s, TableSection)]

    def section(self, section_id: str) -> FieldsSection | TableSection:
        for section in self.spec.sections:
            if section.id == section_id:
                return section
        raise KeyError(section_id)

    def table(self, table_id: str) -> TableSection:
        section = self.section(table_id)
        if not isinstance(section, TableSection):
            raise KeyError(table_id)
        return section

    def fields_section(self, section_id: str) -> FieldsSection:
        section = self.section(section_id)
        if not isinstance(section, FieldsSection):
            raise KeyError(section_id)
        return section

    @property
    def identity_section(self) -> FieldsSection:
        return self.fields_section(self.spec.identity.section)

    @cached_property
    def identity_fields(self) -> dict[str, str]:
        """Identity role ('unit_name', 'unit_code', 'unit_level', 'year') -> field id."""
        ident = self.spec.identity
        return {
            "unit_name": ident.unit_name,
            "unit_code": ident.unit_code,
            "unit_level": ident.unit_level,
            "year": ident.year,
        }

    def identity_section_choices(self, role: str) -> list[str] | None:
        """The allowed values of an identity field, or None when it is free text."""
        return self.field(self.identity_section.id, self.identity_fields[role]).choices

    def field(self, section_id: str, field_id: str) -> FieldDef:
        for field in self.fields_section(section_id).fields:
            if field.id == field_id:
                return field
        raise KeyError(field_id)

    # -- table geometry ------------------------------------------------------------------
    @staticmethod
    def origin(table: TableSection) -> Cell:
        return Cell.parse(table.origin)

    def table_cell(self, table: TableSection, row_id: str, column_id: str) -> Cell:
        row = _by_id(table.rows, row_id)
        column = _by_id(table.columns, column_id)
        return Cell(row.row - 1, column_index(column.col)).shifted(self.origin(table))

    def table_merge(self, table: TableSection, row_id: str, column_id: str) -> Range | None:
        column = _by_id(table.columns, column_id)
        if not column.span_to:
            return None
        row = _by_id(table.rows, row_id)
        grid = Range.parse(f"{column.col}{row.row}:{column.span_to}{row.row}")
        return grid.shifted(self.origin(table))

    @staticmethod
    def row_columns(table: TableSection, row: RowDef) -> list[ColumnDef]:
        """Columns that carry a value in this row (inputs and computed)."""
        if row.columns is None:
            return list(table.columns)
        return [_by_id(table.columns, column_id) for column_id in row.columns]

    @cached_property
    def computed_cells(self) -> dict[tuple[str, str, str], ComputedCell]:
        """(table, row, column) -> computed cell; the first definition listed wins."""
        found: dict[tuple[str, str, str], ComputedCell] = {}
        for table in self.tables:
            for computed in table.computed:
                for row_id, column_id, terms in _expand_computed(self, table, computed):
                    key = (table.id, row_id, column_id)
                    if key in found:
                        continue
                    found[key] = ComputedCell(
                        table=table.id,
                        row=row_id,
                        column=column_id,
                        sheet=table.sheet,
                        cell=self.table_cell(table, row_id, column_id),
                        rule=computed.rule,
                        terms=tuple(terms),
                    )
        return found

    def is_computed(self, table_id: str, row_id: str, column_id: str) -> bool:
        return (table_id, row_id, column_id) in self.computed_cells

    # -- input cells ---------------------------------------------------------------------
    @cached_property
    def input_cells(self) -> list[InputCell]:
        """Every editable cell, in form order."""
        cells: list[InputCell] = []
        for section in self.sections:
            if isinstance(section, FieldsSection):
                column = column_index(section.input_column)
                for field in section.fields:
                    cells.append(
                        InputCell(
                            section=section.id,
                            key=(field.id,),
                            sheet=section.sheet,
                            cell=Cell(field.row - 1, column),
                            merge=None,
                            type=field.type,
                            places=field.places,
                            label=field.label,
                            defined_name=f"tb_{section.id}_{field.id}",
                            max_length=field.max_length,
                            required=field.required,
                            choices=tuple(field.choices or ()),
                        )
                    )
                continue
            for row in section.rows:
                for column in self.row_columns(section, row):
                    if self.is_computed(section.id, row.id, column.id):
                        continue
                    cells.append(
                        InputCell(
                            section=section.id,
                            key=(row.id, column.id),
                            sheet=section.sheet,
                            cell=self.table_cell(section, row.id, column.id),
                            merge=self.table_merge(section, row.id, column.id),
                            type=column.type,
                            places=column.places,
                            label=f"{row.label}·{column.label}",
                            defined_name=f"tb_{section.id}_{row.id}_{column.id}",
                        )
                    )
        return cells

    @cached_property
    def sheet_names(self) -> list[str]:
        """Visible sheets in workbook order."""
        return [self.spec.instructions.sheet] + [s.sheet for s in self.sections]

    def table_value_keys(self, table: TableSection) -> list[tuple[str, str]]:
        """Every (row, column) that holds a value, inputs and computed, in form order."""
        return [(row.id, column.id) for row in table.rows for column in self.row_columns(table, row)]


def _by_id(items: list[Any], item_id: str) -> Any:
    for item in items:
        if item.id == item_id:
            return item
    raise KeyError(item_id)


def _expand_computed(
    form: Form, table: TableSection, computed: ComputedDef
) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(row, column, summed cells) for every cell a computed definition produces."""
    produced = []
    if computed.target_column:
        sources = computed.sum_of_columns or []
        for row in table.rows:
            present = {c.id for c in form.row_columns(table, row)}
            if computed.target_column in present:
                terms = [(row.id, c) for c in sources if c in present]
                produced.append((row.id, computed.target_column, terms))
    else:
        target = _by_id(table.rows, computed.target_row)
        sources = computed.sum_of_rows or []
        for column in form.row_columns(table, target):
            terms = [(r, column.id) for r in sources]
            produced.append((target.id, column.id, terms))
    return produced


# ---------------------------------------------------------------------------------------
# Loading


def load_form(path: str | Path) -> Form:
    """Load and validate a definition file; FormDefinitionError names file and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormDefinitionError(f"{path}: 无法读取表单定义文件（{exc}）") from exc
    return parse_form(text, str(path))


def parse_form(text: str, source: str) -> Form:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FormDefinitionError(f"{source}: YAML 格式错误：{exc}") from exc
    if not isinstance(raw, dict):
        raise FormDefinitionError(f"{source}: 表单定义的顶层必须是键值映射")
    try:
        spec = FormSpec.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _key_path(first["loc"], raw)
        raise FormDefinitionError(
            f"{source}: {where}: {first['msg']}"
            + (f"（另有 {exc.error_count() - 1} 处错误）" if exc.error_count() > 1 else "")
        ) from exc
    form = Form(spec, source, raw)
    problems = _cross_check(form)
    if problems:
        raise FormDefinitionError(f"{source}: {problems[0]}")
    return form


def _key_path(loc: tuple[Any, ...], raw: Any) -> str:
    """Render a pydantic location as a YAML key path, naming list items by their id."""
    parts: list[str] = []
    node = raw
    for item in loc:
        if isinstance(item, int) and isinstance(node, list) and item < len(node):
            node = node[item]
            ident = node.get("id") if isinstance(node, dict) else None
            label = ident or (node.get("text") if isinstance(node, dict) else None) or item
            parts[-1] = f"{parts[-1]}[{label}]" if parts else f"[{label}]"
        elif isinstance(node, dict) and item in node:
            node = node[item]
            parts.append(str(item))
        elif not isinstance(node, dict) or item in ("fields", "table"):
            continue  # pydantic's tag of a tagged union, not a YAML key
        else:
            parts.append(str(item))  # a missing or unknown key
    return ".".join(parts) or "(top level)"


def _cross_check(form: Form) -> list[str]:
    """Consistency checks pydantic cannot express: unique ids, references, overlaps."""
    problems: list[str] = []
    spec = form.spec

    def dup(kind: str, ids: list[str], where: str) -> None:
        seen: set[str] = set()
        for ident in ids:
            if ident in seen:
                problems.append(f"{where}: {kind} id “{ident}” 重复")
            seen.add(ident)

    dup("section", [s.id for s in spec.sections], "sections")
    dup("sheet", [spec.instructions.sheet] + [s.sheet for s in spec.sections], "sections.sheet")
    dup("rule", [r.id for r in spec.rules], "rules")

    ident = spec.identity
    try:
        identity_section = form.section(ident.section)
    except KeyError:
        return [*problems, f"identity.section: 找不到 section “{ident.section}”"]
    if not isinstance(identity_section, FieldsSection):
        return [*problems, f"identity.section: “{ident.section}” 必须是 fields 类型"]
    identity_ids = {f.id: f for f in identity_section.fields}
    for role, field_id in form.identity_fields.items():
        if field_id not in identity_ids:
            problems.append(f"identity.{role}: 基本信息中没有字段 “{field_id}”")
    year_field = identity_ids.get(ident.year)
    if year_field and year_field.type != "year":
        problems.append(f"sections[{ident.section}].{ident.year}: 年度字段的 type 必须是 year")

    occupied: dict[tuple[str, Cell], str] = {}

    def occupy(sheet: str, rng: Range, what: str) -> None:
        for cell in rng.cells():
            key = (sheet, cell)
            if key in occupied:
                problems.append(f"{what}: 单元格 {sheet}!{cell.a1} 已被 {occupied[key]} 占用")
                return
            occupied[key] = what

    for section in spec.sections:
        if isinstance(section, FieldsSection):
            dup("field", [f.id for f in section.fields], f"sections[{section.id}].fields")
            label_col, input_col = column_index(section.label_column), column_index(section.input_column)
            if label_col == input_col:
                problems.append(f"sections[{section.id}]: label_column 与 input_column 不能相同")
            for field in section.fields:
                where = f"sections[{section.id}].fields[{field.id}]"
                if field.choices and len(",".join(field.choices)) > 255:
                    # Excel and WPS reject literal validation lists longer than 255 characters.
                    problems.append(f"{where}.choices: 选项合计超过 255 个字符，Excel 下拉列表无法容纳")
                occupy(section.sheet, Range(Cell(field.row - 1, label_col), Cell(field.row - 1, label_col)), where)
                occupy(section.sheet, Range(Cell(field.row - 1, input_col), Cell(field.row - 1, input_col)), where)
            field_ids = {f.id for f in section.fields}
            for i, sentence in enumerate(section.document_sentences):
                for name in [*sentence.zero_when, *re.findall(r"\{(\w+)\}", sentence.text)]:
                    if name not in field_ids:
                        problems.append(
                            f"sections[{section.id}].document_sentences[{i}]: 字段 “{name}” 不存在"
                        )
            continue
        where = f"sections[{section.id}]"
        dup("row", [r.id for r in section.rows], f"{where}.rows")
        dup("column", [c.id for c in section.columns], f"{where}.columns")
        column_ids = {c.id for c in section.columns}
        row_ids = {r.id for r in section.rows}
        origin = form.origin(section)
        for label in section.labels:
            occupy(section.sheet, Range.parse(label.range).shifted(origin), f"{where}.labels[{label.text}]")
        for row in section.rows:
            for column_id in row.columns or []:
                if column_id not in column_ids:
                    problems.append(f"{where}.rows[{row.id}].columns: 列 “{column_id}” 不存在")
        if problems:
            return problems
        for row in section.rows:
            for column in form.row_columns(section, row):
                cell = form.table_cell(section, row.id, column.id)
                rng = form.table_merge(section, row.id, column.id) or Range(cell, cell)
                occupy(section.sheet, rng, f"{where}.rows[{row.id}].{column.id}")
        for i, computed in enumerate(section.computed):
            cwhere = f"{where}.computed[{i}]"
            for column_id in [computed.target_column, *(computed.sum_of_columns or [])]:
                if column_id is not None and column_id not in column_ids:
                    problems.append(f"{cwhere}: 列 “{column_id}” 不存在")
            for row_id in [computed.target_row, *(computed.sum_of_rows or [])]:
                if row_id is not None and row_id not in row_ids:
                    problems.append(f"{cwhere}: 行 “{row_id}” 不存在")
        if problems:
            return problems
        for (table_id, row_id, column_id), computed_cell in form.computed_cells.items():
            if table_id == section.id and (row_id, column_id) in computed_cell.terms:
                problems.append(f"{where}.computed: 单元格 {row_id}.{column_id} 的合计引用了自身")
    if problems:
        return problems

    for link in spec.year_links:
        where = f"year_links[{link.rule}]"
        try:
            table = form.table(link.table)
        except KeyError:
            problems.append(f"{where}.table: 表格 “{link.table}” 不存在")
            continue
        rows = {r.id: r for r in table.rows}
        for row_id in (link.previous_row, link.current_row):
            if row_id not in rows:
                problems.append(f"{where}: 行 “{row_id}” 不存在")
        if not problems and [c.id for c in form.row_columns(table, rows[link.previous_row])] != [
            c.id for c in form.row_columns(table, rows[link.current_row])
        ]:
            problems.append(f"{where}: 两行的列不一致")

    problems.extend(_summary_problems(form))
    problems.extend(_unfilled_problems(form))
    problems.extend(_narrative_problems(form))

    from tianbao.rules import RuleSyntaxError, expand_rule  # rules depend on the form model

    for rule in spec.rules:
        where = f"rules[{rule.id}]"
        if rule.when and rule.when.field not in identity_ids:
            problems.append(f"{where}.when.field: 基本信息中没有字段 “{rule.when.field}”")
        try:
            instances = expand_rule(form, rule)
        except RuleSyntaxError as exc:
            problems.append(f"{where}.assert: {exc}")
            continue
        if rule.check:
            if rule.check.sheet not in form.sheet_names:
                problems.append(f"{where}.check.sheet: 工作表 “{rule.check.sheet}” 不存在")
            if len(rule.check.cells) != len(instances):
                problems.append(
                    f"{where}.check.cells: 需要 {len(instances)} 个校验单元格，实际给出 {len(rule.check.cells)} 个"
                )
            for a1 in rule.check.cells:
                occupy(rule.check.sheet, Range.parse(a1), f"{where}.check")
            if rule.check.label:
                occupy(rule.check.sheet, Range.parse(rule.check.label.range), f"{where}.check.label")
    return problems


def _unfilled_problems(form: Form) -> list[str]:
    """The confirmation field must be a field of a fields section, and not an identity field."""
    check = form.spec.unfilled
    if check is None:
        return []
    section, field = check.ref
    identity = (form.identity_section.id, *form.identity_fields.values())
    try:
        form.field(section, field)
    except KeyError:
        return [f"unfilled.confirm: 字段 “{check.confirm}” 不存在"]
    if section == identity[0] and field in identity[1:]:
        return [f"unfilled.confirm: “{check.confirm}” 是单位身份字段，不能用作确认"]
    return []


def _summary_problems(form: Form) -> list[str]:
    """The summary's chart cell and key rows must name existing table cells and rows."""
    problems = []
    summary = form.spec.summary
    refs = [(f"summary.key_rows[{ref}]", ref.split(".")) for ref in summary.key_rows]
    if summary.chart:
        refs.append(("summary.chart.cell", summary.chart.cell.split(".")))
    for where, parts in refs:
        try:
            table = form.table(parts[0])
            row = _by_id(table.rows, parts[1])
        except KeyError:
            problems.append(f"{where}: 表格或行 “{'.'.join(parts[:2])}” 不存在")
            continue
        if len(parts) == 3 and parts[2] not in {c.id for c in form.row_columns(table, row)}:
            problems.append(f"{where}: 列 “{parts[2]}” 不存在")
    return problems


def _narrative_problems(form: Form) -> list[str]:
    """Narrative checks compare with existing table cells, or with one existing field."""
    problems = []
    for i, check in enumerate(form.spec.narrative_checks):
        where = f"narrative_checks[{i}].compare"
        fields = [ref for ref in check.compare if ref.count(".") == 1]
        if fields and len(check.compare) > 1:
            problems.append(f"{where}: 字段只能单独比较，不能与其他单元格相加")
        for ref in [*check.compare, *(r for refs in check.or_compare for r in refs), *check.percent_of]:
            parts = ref.split(".")
            try:
                if len(parts) == 2:
                    form.field(parts[0], parts[1])
                    continue
                table = form.table(parts[0])
                row = _by_id(table.rows, parts[1])
            except KeyError:
                problems.append(f"{where}: “{ref}” 不存在")
                continue
            if parts[2] not in {c.id for c in form.row_columns(table, row)}:
                problems.append(f"{where}: 列 “{ref}” 不存在")
    return problems


# ---------------------------------------------------------------------------------------
# Built-in forms


def _templates_dir() -> Path:
    """templates/ ships inside the wheel as tianbao/templates; a checkout uses the top level."""
    packaged = resources.files("tianbao") / "templates"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "templates"


def builtin_form_paths() -> dict[str, Path]:
    """Built-in form id -> definition file."""
    found = {}
    for path in sorted(_templates_dir().glob("*.yaml")):
        found[path.stem] = path
    return found


DEFAULT_FORM = "national-2021"


def resolve_form(form: str | Path | None) -> Form:
    """A built-in form id, a path to a definition file, or None for the default form."""
    if form is None:
        form = DEFAULT_FORM
    builtins = builtin_form_paths()
    if isinstance(form, str) and form in builtins:
        return load_form(builtins[form])
    path = Path(form)
    if path.is_file():
        return load_form(path)
    known = "、".join(builtins) or "（无）"
    raise FormDefinitionError(f"找不到表单定义 “{form}”：既不是内置表单（{known}），也不是存在的文件")

