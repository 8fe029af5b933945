"""The workbook layout contract shared by the writer and the reader.

What a generated workbook promises and a returned one is checked against: the hidden
identity sheet and its keys (also defined names `tianbao_<key>` and custom document
properties), the sheet `tianbao annotate` puts first, the live character counter beside a
long text input, and the upper bounds of numbers (the writer's validation, the reader's
magnitude check).
"""

from __future__ import annotations

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
)
