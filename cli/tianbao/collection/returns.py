"""Recognising an unchanged return workbook at import (the mark is `workbook.return_mark`'s).

A department that corrects a return workbook and sends it back changes its values: that is
a new version. One that comes back unchanged (or the return workbook itself copied into the
returns folder) is skipped with a note instead of being counted as a submission.
"""

from __future__ import annotations

from pathlib import Path

from tianbao.findings import emit
from tianbao.form import Form
from tianbao.report import Finding
from tianbao.stages.batch import import_many
from tianbao.workbook.limits import DEFAULT_LIMITS, Limits
from tianbao.workbook.return_mark import read_mark, values_digest

SKIPPED_RULE = "file.return_workbook"


def unchanged_returns(paths: list[Path], form: Form, limits: Limits = DEFAULT_LIMITS) -> dict[Path, Finding]:
    """Return workbooks whose values are still those annotate wrote: path -> the note."""
    marks = {path: mark for path in paths if (mark := read_mark(path, limits)) is not None}
    skipped: dict[Path, Finding] = {}
    if not marks:
        return skipped
    for outcome, _json in import_many(list(marks), form, limits=limits):
        if outcome.report is not None and values_digest(outcome.report) == marks[outcome.source].values:
            skipped[outcome.source] = emit(SKIPPED_RULE, found=outcome.name)
    return skipped
