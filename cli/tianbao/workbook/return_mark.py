"""The mark `tianbao annotate` puts on a return workbook, and reading it back.

A return workbook carries the SHA-256 of the file it was made from and a digest of the
values it was written with (defined names and custom properties, like the identity keys).
A department that corrects it and sends it back changes its values: that is a new version.
One that comes back unchanged is recognised by `tianbao.collection.returns`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from xlsxwriter.workbook import Workbook

from tianbao.report import Report
from tianbao.workbook.limits import DEFAULT_LIMITS, Limits
from tianbao.workbook.package import XlsxPackage
from tianbao.workbook.sniff import sniff

RETURN_OF = "tianbao_return_of"
RETURN_VALUES = "tianbao_return_values"


def values_digest(report: Report) -> str:
    data = report.model_dump(mode="json", include={"fields", "tables"})
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def mark_return(workbook: Workbook, source_sha256: str, report: Report) -> None:
    for name, value in ((RETURN_OF, source_sha256), (RETURN_VALUES, values_digest(report))):
        workbook.define_name(name, f'="{value}"')
        workbook.set_custom_property(name, value)


@dataclass(frozen=True)
class ReturnMark:
    source_sha256: str
    values: str


def read_mark(path: Path, limits: Limits = DEFAULT_LIMITS) -> ReturnMark | None:
    """The return mark of a workbook, or None (also for anything that is not a readable .xlsx)."""
    try:
        if path.stat().st_size > limits.max_file_bytes:
            return None
        data = path.read_bytes()
        if sniff(data) != "xlsx":
            return None
        package = XlsxPackage(data, limits)
        names = {k: v.strip().removeprefix("=").strip('"') for k, v in package.workbook().defined_names.items()}
        if RETURN_OF not in names:
            names = package.custom_properties()
    except Exception:  # an unreadable file is the importer's business, with its own message
        return None
    if RETURN_OF in names and RETURN_VALUES in names:
        return ReturnMark(names[RETURN_OF], names[RETURN_VALUES])
    return None
