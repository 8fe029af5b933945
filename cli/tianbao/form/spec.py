"""The form definition's spec models: the typed shape of a YAML file under templates/.

pydantic validates a definition against these models (and `docs/form.schema.json` is
generated from them); `tianbao.form.load` adds the checks a schema cannot express and
`tianbao.form.query.Form` answers the questions the stages ask.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

IDENT = r"^[a-z][a-z0-9_]*$"
Ident = Annotated[str, Field(pattern=IDENT)]
A1Cell = Annotated[str, Field(pattern=r"^[A-Z]{1,3}[1-9][0-9]*$")]
A1Range = Annotated[str, Field(pattern=r"^[A-Z]{1,3}[1-9][0-9]*(:[A-Z]{1,3}[1-9][0-9]*)?$")]
ColumnLetters = Annotated[str, Field(pattern=r"^[A-Z]{1,3}$")]
Text = Annotated[str, Field(min_length=1)]

FieldType = Literal["text", "longtext", "choice", "year", "date", "int", "decimal"]
NUMBER_TYPES = ("int", "decimal", "year")

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
    # The least width of a column in Excel characters; the workbook widens it until its labels'
    # words show whole (workbook.pages).
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


def form_schema() -> str:
    """The JSON Schema of a form definition file (committed as docs/form.schema.json): a YAML
    editor with `# yaml-language-server: $schema=…` validates a definition as it is typed."""
    schema = FormSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "tianbao form definition"
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"
