"""Whose report a workbook is: the identity it carries and whether its statements agree.

A generated workbook states its unit and year in the hidden sheet, the defined names, the
document properties, the identity cells of the form and (from `distribute`) its file name.
They must all agree (`identity.mismatch`), or nobody can tell whose numbers these are. The
numbers themselves must have been filled in: a return equal to what was distributed is
未填写 (`file.untouched`) unless the unit confirmed it has nothing to report.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from tianbao.cells import Cell, column_index
from tianbao.findings import IDENTITY_ROLES, IDENTITY_SOURCES, emit
from tianbao.form.query import Form
from tianbao.io.names import safe_filename
from tianbao.io.roster import Roster
from tianbao.report import FieldValue, Finding, Report
from tianbao.workbook.layout import META_SHEET, number_cells, numbers_fingerprint
from tianbao.workbook.package import WorkbookInfo, XlsxPackage
from tianbao.workbook.values import clip


def read_identity(package: XlsxPackage,
                  book: WorkbookInfo) -> tuple[dict[str, str], list[Finding], dict[str, dict[str, str]]]:
    """Identity keys from the hidden sheet, then defined names, then custom properties
    (merged in that order), and what each of these sources says on its own."""
    findings: list[Finding] = []
    sources: dict[str, dict[str, str]] = {"sheet": {}, "names": {}, "properties": {}}
    info = next((s for s in book.sheets if s.name == META_SHEET), None)
    if info is not None:
        if info.state == "visible":
            findings.append(emit("identity.meta_visible", sheet=META_SHEET))
        data = package.sheet(info)
        for (row, col), raw in data.cells.items():
            if col == 0 and raw.value:
                value = data.cells.get((row, 1))
                sources["sheet"].setdefault(raw.value, (value.value or "") if value else "")
    for name, text in book.defined_names.items():
        if name.startswith("tianbao_"):
            sources["names"].setdefault(name.removeprefix("tianbao_"), _name_constant(text))
    for name, text in package.custom_properties().items():
        if name.startswith("tianbao_"):
            sources["properties"].setdefault(name.removeprefix("tianbao_"), text)
    meta: dict[str, str] = {}
    for values in sources.values():
        for key, value in values.items():
            meta.setdefault(key, value)
    return meta, findings, sources


def _name_constant(text: str) -> str:
    text = text.strip().removeprefix("=")
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('""', '"')
    return text


def identity_cell(form: Form, role: str) -> tuple[str, str]:
    """(sheet, A1) of the input cell holding an identity role (unit_name, unit_code, year…)."""
    basic = form.identity_section
    field_def = form.field(basic.id, form.identity_fields[role])
    return basic.sheet, Cell(field_def.row - 1, column_index(basic.input_column)).a1


# distribute's file names: code_name_year.xlsx (a copy may add " (1)" or more after the year).
_DISTRIBUTED_NAME = re.compile(r"^(?P<code>[^_]*)_(?P<name>.+?)_(?P<year>20[0-9]{2}|2100)(?P<rest>(?:[^0-9].*)?)$")
_COPY_SUFFIX = re.compile(r"^\s*[(（][0-9]+[)）]$")


def _file_name_identity(file_name: str | None, claims: dict[str, dict[str, str]],
                        roster: Roster | None) -> dict[str, str]:
    """The unit and year a file name states, when it is one of distribute's names.

    A name exactly in distribute's form counts; a longer one ("…_2025_修改.xlsx") only when
    its code or name is one the workbook states, or names a roster unit, so that a clerk's
    own name such as "报告_第2版_2025.xlsx" is not taken for a unit."""
    if not file_name:
        return {}
    match = _DISTRIBUTED_NAME.match(PurePath(file_name.replace("\\", "/")).stem)
    if match is None:
        return {}
    code, name, year = match["code"], match["name"], match["year"]
    codes = {values["unit_code"] for values in claims.values() if "unit_code" in values}
    names = {safe_filename(values["unit_name"]): values["unit_name"] for values in claims.values()
             if "unit_name" in values}
    exact = match["rest"] == "" or _COPY_SUFFIX.match(match["rest"]) is not None
    listed = roster is not None and roster.find(code, name) is not None
    if not (exact or listed or code in codes or name in names):
        return {}
    said = {"unit_name": names.get(name, name), "year": year}
    if code:
        said["unit_code"] = code
    return said


def _source_name(source: str) -> str:
    return IDENTITY_SOURCES[source].format(sheet=META_SHEET)


def identity_mismatch_findings(form: Form, report: Report, sources: dict[str, dict[str, str]],
                               file_name: str | None, roster: Roster | None) -> list[Finding]:
    """The unit and year stated by the cells, the hidden sheet, the defined names, the
    document properties and the distributed file name must agree: otherwise nobody can tell
    whose numbers these are (locked cells changed, or a workbook saved under another unit's
    name). Sources a client dropped, and values left empty at generation, are not compared."""
    claims = {source: {role: values[role].strip() for role in IDENTITY_ROLES if values.get(role, "").strip()}
              for source, values in sources.items()}
    claims["cells"] = {role: str(value).strip() for role in IDENTITY_ROLES
                       if (value := report.identity_value(role)) not in (None, "", 0)}
    claims["file"] = _file_name_identity(file_name, claims, roster)
    findings = []
    for role, what in IDENTITY_ROLES.items():
        said: dict[str, list[str]] = {}
        for source, values in claims.items():
            if role in values:
                said.setdefault(values[role], []).append(_source_name(source))
        if len(said) < 2:
            continue
        sheet, a1 = identity_cell(form, role)
        parts = "；".join(f"{'、'.join(where)}为“{clip(value)}”" for value, where in said.items())
        named = any(_source_name("file") in where for where in said.values())
        shown = f"（{file_name}）" if file_name and named else ""
        generated = next((values[role] for source, values in claims.items()
                          if source in ("sheet", "names", "properties") and role in values), "")
        found = "、".join(value for value in said if value != generated)
        findings.append(emit("identity.mismatch", sheet=sheet, cell=a1, expected=generated or None, found=found,
                             what=what, parts=parts, shown=shown))
    return findings


def unfilled_findings(form: Form, report: Report, meta: dict[str, str]) -> list[Finding]:
    """A workbook returned with its numbers as distributed was never filled in: refused as
    未填写 unless the unit confirmed it has nothing to report (the definition's `unfilled`).
    Without the distributed numbers' fingerprint (older workbooks), all zeros count as such."""
    check = form.spec.unfilled
    if check is None:
        return []
    section_id, field_id = check.ref
    confirm = next(c for c in form.input_cells if c.section == section_id and c.key == (field_id,))
    answer = report.field_value(form, section_id, field_id)
    confirmed = answer not in (None, "")
    distributed = meta.get("distributed_inputs", "")
    if distributed:
        untouched, state = numbers_fingerprint(form, report) == distributed, "as_distributed"
    else:
        untouched = not any(_number_value(report, section, key) for section, key, _type in number_cells(form))
        state = "zeros"
    where = f"{confirm.sheet}!{confirm.a1}“{confirm.label}”"
    if untouched and not confirmed:
        how = "choice" if confirm.choices else "note"
        return [emit("file.untouched", f"{state}.{how}", sheet=confirm.sheet, cell=confirm.a1,
                     expected=f"填写数字，或确认“{confirm.label}”", found="（未填写）", where=where,
                     choice=confirm.choices[0] if confirm.choices else "")]
    if confirmed and not untouched:
        return [emit("file.confirmed_with_numbers", sheet=confirm.sheet, cell=confirm.a1, expected="（空）",
                     found=str(answer), where=where)]
    return []


def _number_value(report: Report, section: str, key: tuple[str, ...]) -> FieldValue:
    if len(key) == 2:
        return report.tables[section][key[0]][key[1]]
    return report.fields.get(section, {}).get(key[0])
