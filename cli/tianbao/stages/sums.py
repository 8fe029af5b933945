"""Cell-wise sums of unit reports: the district's numbers (`tianbao merge`)."""

from __future__ import annotations

from decimal import Decimal

from tianbao.form import Form
from tianbao.report import Report, Unit, empty_report
from tianbao.rules.check import recompute


def numeric_fields(form: Form) -> list[tuple[str, str, str]]:
    """(section, field, type) of the number fields that add up (not identity, not dates)."""
    identity = set(form.identity_fields.values())
    return [
        (section.id, f.id, f.type)
        for section in form.field_sections
        for f in section.fields
        if f.type in ("int", "decimal") and not (section.id == form.identity_section.id and f.id in identity)
    ]


def sum_reports(form: Form, reports: list[Report], unit: Unit, year: int) -> Report:
    """Cell-wise sums of every input cell (and number field); totals recomputed.

    Narrative fields stay empty: the district's own writer provides them.
    """
    total = empty_report(form, unit, year)
    total.kind = "district"
    numbers = numeric_fields(form)
    for section_id, field_id, field_type in numbers:
        total.fields[section_id][field_id] = Decimal(0) if field_type == "decimal" else 0
    inputs = [(c.section, c.key[0], c.key[1]) for c in form.input_cells if len(c.key) == 2]
    tables = total.tables
    fields = total.fields
    for report in reports:
        source = report.tables
        for table_id, row_id, column_id in inputs:
            tables[table_id][row_id][column_id] += source[table_id][row_id][column_id]
        for section_id, field_id, _ in numbers:
            value = report.fields.get(section_id, {}).get(field_id)
            if value is not None:
                fields[section_id][field_id] += value  # type: ignore[operator]
    recompute(form, tables)
    return total
