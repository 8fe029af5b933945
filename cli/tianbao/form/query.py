"""The query object `Form`: a validated definition plus the lookups every stage needs.

"Where is this input?", "which cells are computed?", "what does this table's grid look
like?" are answered here, once per form: derived data is cached on the form itself
(`cached_property`, or `per_form` for functions of a form), so it lives and dies with it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Concatenate, ParamSpec, TypeVar

from tianbao.cells import Cell, Range, column_index
from tianbao.form.spec import ColumnDef, ComputedDef, FieldDef, FieldsSection, FormSpec, RowDef, TableSection


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
        self.memo: dict[Any, Any] = {}  # see per_form

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
        row = by_id(table.rows, row_id)
        column = by_id(table.columns, column_id)
        return Cell(row.row - 1, column_index(column.col)).shifted(self.origin(table))

    def table_merge(self, table: TableSection, row_id: str, column_id: str) -> Range | None:
        column = by_id(table.columns, column_id)
        if not column.span_to:
            return None
        row = by_id(table.rows, row_id)
        grid = Range.parse(f"{column.col}{row.row}:{column.span_to}{row.row}")
        return grid.shifted(self.origin(table))

    @staticmethod
    def row_columns(table: TableSection, row: RowDef) -> list[ColumnDef]:
        """Columns that carry a value in this row (inputs and computed)."""
        if row.columns is None:
            return list(table.columns)
        return [by_id(table.columns, column_id) for column_id in row.columns]

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


def by_id(items: list[Any], item_id: str) -> Any:
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
        target = by_id(table.rows, computed.target_row)
        sources = computed.sum_of_rows or []
        for column in form.row_columns(table, target):
            terms = [(r, column.id) for r in sources]
            produced.append((target.id, column.id, terms))
    return produced


Params = ParamSpec("Params")
Result = TypeVar("Result")


def per_form(function: Callable[Concatenate[Form, Params], Result]) -> Callable[Concatenate[Form, Params], Result]:
    """Cache a function of a form (and hashable arguments) on the form itself: the one
    per-form cache. A batch reads hundreds of workbooks of one form; the answers die with it."""

    @functools.wraps(function)
    def cached(form: Form, *args: Params.args, **kwargs: Params.kwargs) -> Result:
        key = (function, args, tuple(sorted(kwargs.items())))
        try:
            return form.memo[key]
        except KeyError:
            value = form.memo[key] = function(form, *args, **kwargs)
            return value

    return cached
