"""The mark `tianbao annotate` puts on a return workbook, and reading it back.

A return workbook carries the SHA-256 of the file it was made from and a digest of the
values it was written with (defined names and custom properties, like the identity keys).
A department that corrects it and sends it back changes its values: that is a new version.
One that comes back unchanged is recognised while it is read (`is_unchanged_return`) and
left out of an import or an annotate batch.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from tianbao.report import Report

if TYPE_CHECKING:
    from xlsxwriter.workbook import Workbook

# Identity keys (the reader's meta drops the "tianbao_" prefix of both).
RETURN_OF = "tianbao_return_of"
RETURN_VALUES = "tianbao_return_values"


def values_digest(report: Report) -> str:
    data = report.model_dump(mode="json", include={"fields", "tables"})
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def mark_return(workbook: Workbook, source_sha256: str, report: Report) -> None:
    for name, value in ((RETURN_OF, source_sha256), (RETURN_VALUES, values_digest(report))):
        workbook.define_name(name, f'="{value}"')
        workbook.set_custom_property(name, value)


def is_unchanged_return(meta: dict[str, str], report: Report | None) -> bool:
    """A return workbook whose values are still those annotate wrote (its mark is read with
    the identity keys, in the same pass over the package as everything else)."""
    stated = meta.get(RETURN_VALUES.removeprefix("tianbao_"))
    if not stated or RETURN_OF.removeprefix("tianbao_") not in meta or report is None:
        return False
    return values_digest(report) == stated
