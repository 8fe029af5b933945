"""The workbook layout contract shared by the writer and the reader.

What a generated workbook promises and a returned one is checked against: the hidden
identity sheet and its keys (also defined names `tianbao_<key>` and custom document
properties), the sheet `tianbao annotate` puts first, the live character counter beside a
long text input, and the upper bounds of numbers (the writer's validation, the reader's
magnitude check), and the fingerprint of the numbers a workbook was sent out with.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from tianbao.form import Form
from tianbao.report import Report

META_SHEET = "_tianbao"
# The sheet `tianbao annotate` puts first; a corrected return may still carry it.
ANNOTATION_SHEET = "错误清单"
OVER_LIMIT = " 超出字数"
MAX_COUNT = 99_999_999
MAX_AMOUNT = 999_999_999

# Identity keys, in the order of the hidden sheet, the defined names and the doc properties.
IDENTITY_KEYS = (
    "form_id",
    "form_version",
    "fingerprint",
    "unit_code",
    "unit_name",
    "unit_level",
    "year",
    "generated_at",
    "tool_version",
    # sha256 of the numbers as distributed: a workbook returned with the same numbers was
    # never filled in (empty in workbooks that are not sent out to be filled).
    "distributed_inputs",
)


def number_cells(form: Form) -> list[tuple[str, tuple[str, ...], str]]:
    """(section, key, type) of every number a unit fills in: table inputs and number fields
    other than the identity (the year)."""
    identity = (form.identity_section.id, set(form.identity_fields.values()))
    return [(c.section, c.key, c.type) for c in form.input_cells
            if c.type in ("int", "decimal") and not (c.section == identity[0] and c.key[0] in identity[1])]


def numbers_fingerprint(form: Form, report: Report) -> str:
    """sha256 of the report's numbers (a blank counts as 0, 12.5 equals 12.5000)."""
    parts = []
    for section, key, _type in number_cells(form):
        value = (report.tables[section][key[0]][key[1]] if len(key) == 2
                 else report.fields.get(section, {}).get(key[0]))
        number = Decimal(str(value)) if isinstance(value, int | Decimal) else Decimal(0)
        parts.append(f"{section}.{'.'.join(key)}={format(number.normalize(), 'f')}")
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()
