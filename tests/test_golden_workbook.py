"""The national form's blank workbook, compared part by part and element by element with a
committed golden copy (in the manner of XlsxWriter's own comparison tests).

Widths, merges, styles, validation prompts, formulas, defined names and protection must not
change by accident. Only what is meant to differ between two runs is ignored (IGNORED). After
an intended change of the workbook, regenerate the copy and review its diff:

    TIANBAO_REGENERATE_GOLDEN=1 python -m pytest tests/test_golden_workbook.py
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tianbao.form import resolve_form
from tianbao.report import Unit, empty_report
from tianbao.workbook import write
from tianbao.workbook.write import WriteOptions, render_workbook

GOLDEN = Path(__file__).resolve().parent / "golden" / "national-2021-blank.xlsx"
DC = "{http://purl.org/dc/terms/}"
# (part, element tag): elements whose text is a timestamp of the run, not of the form.
IGNORED = {("docProps/core.xml", f"{DC}created"), ("docProps/core.xml", f"{DC}modified")}


def _blank(monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setattr(write, "__version__", "golden")  # the tool version is stamped in the identity
    form = resolve_form("national-2021")
    report = empty_report(form, Unit(name=""), 0)
    return render_workbook(form, report, WriteOptions(password="golden", generated_at="2025-01-01T00:00:00+08:00"))


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _compare(part: str, got: ElementTree.Element, want: ElementTree.Element, path: str) -> list[str]:
    here = f"{part}:{path}/{want.tag.split('}')[-1]}"
    if got.tag != want.tag:
        return [f"{here}: element {got.tag} instead of {want.tag}"]
    problems = []
    if got.attrib != want.attrib:
        problems.append(f"{here}: attributes {got.attrib} instead of {want.attrib}")
    if (part, want.tag) not in IGNORED and (got.text or "").strip() != (want.text or "").strip():
        problems.append(f"{here}: text {got.text!r} instead of {want.text!r}")
    if len(got) != len(want):
        problems.append(f"{here}: {len(got)} child elements instead of {len(want)}")
    for index, (child, wanted) in enumerate(zip(got, want, strict=False)):
        problems += _compare(part, child, wanted, f"{path}/{want.tag.split('}')[-1]}[{index}]")
    return problems


def test_national_blank_workbook_matches_the_golden_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _blank(monkeypatch)
    if os.environ.get("TIANBAO_REGENERATE_GOLDEN") == "1":
        GOLDEN.write_bytes(data)
    got, want = _parts(data), _parts(GOLDEN.read_bytes())
    assert sorted(got) == sorted(want)
    problems: list[str] = []
    for name, wanted in want.items():
        if name.endswith((".xml", ".rels")):
            problems += _compare(name, ElementTree.fromstring(got[name]), ElementTree.fromstring(wanted), "")
        elif got[name] != wanted:
            problems.append(f"{name}: bytes differ")
    assert problems == [], "\n".join(problems[:20])


def test_the_comparison_sees_a_changed_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison is not vacuous: one column width changed is one reported difference."""
    parts = _parts(GOLDEN.read_bytes())
    sheet = next(n for n in sorted(parts) if n.startswith("xl/worksheets/sheet") and b"<col " in parts[n])
    changed = parts[sheet].replace(b'width="', b'width="1', 1)
    problems = _compare(sheet, ElementTree.fromstring(changed), ElementTree.fromstring(parts[sheet]), "")
    assert len(problems) == 1 and "width" in problems[0]
