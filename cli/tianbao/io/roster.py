"""The district's roster of reporting units (CSV or XLSX with a header row)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from tianbao.errors import UserError

# Accepted header spellings -> canonical column.
HEADERS = {
    "code": "code",
    "单位代码": "code",
    "name": "name",
    "单位名称": "name",
    "level": "level",
    "单位层级": "level",
    "parent": "parent",
    "上级单位": "parent",
    # Optional contact columns, carried into the 催报名单 (`tianbao status --missing`).
    "contact": "contact",
    "联系人": "contact",
    "phone": "phone",
    "电话": "phone",
    "联系电话": "phone",
}
REQUIRED = ("code", "name", "level")
_SAFE_CODE = re.compile(r"^[0-9A-Za-z_.\-]{1,40}$")


@dataclass(frozen=True)
class RosterUnit:
    code: str
    name: str
    level: str
    parent: str = ""
    line: int = 0
    contact: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Roster:
    source: str
    units: tuple[RosterUnit, ...]

    def by_code(self) -> dict[str, RosterUnit]:
        return {unit.code: unit for unit in self.units}

    def find(self, code: str, name: str) -> RosterUnit | None:
        """Match by code when the report has one, otherwise by exact name."""
        for unit in self.units:
            if code and unit.code == code:
                return unit
        if not code:
            for unit in self.units:
                if unit.name == name:
                    return unit
        return None


def load_roster(path: Path, levels: list[str] | None = None) -> Roster:
    """Read and check a roster; every problem names the file and line."""
    if not path.is_file():
        raise UserError(f"找不到单位名单文件：{path}")
    rows = _read_rows(path)
    if not rows:
        raise UserError(f"{path.name}：单位名单是空的")
    header = [HEADERS.get(str(h).strip().lower(), HEADERS.get(str(h).strip(), "")) for h in rows[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        names = "、".join(f"{c}（{_chinese(c)}）" for c in missing)
        raise UserError(f"{path.name} 第 1 行：缺少列 {names}；表头应为 code,name,level 或 单位代码,单位名称,单位层级")
    units: list[RosterUnit] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        values = {key: str(row[i]).strip() if i < len(row) and row[i] is not None else ""
                  for i, key in enumerate(header) if key}
        if not any(values.values()):
            continue
        code, name, level = values["code"], values["name"], values["level"]
        if not name:
            raise UserError(f"{path.name} 第 {number} 行：单位名称为空")
        if not code:
            raise UserError(f"{path.name} 第 {number} 行：单位代码为空（{name}）")
        if not _SAFE_CODE.match(code):
            raise UserError(f"{path.name} 第 {number} 行：单位代码“{code}”只能包含字母、数字、点、横线和下划线")
        if code in seen:
            raise UserError(f"{path.name} 第 {number} 行：单位代码“{code}”与第 {seen[code]} 行重复")
        if levels is not None and level not in levels:
            allowed = "、".join(levels)
            raise UserError(f"{path.name} 第 {number} 行：单位层级“{level}”不在表单允许的范围内（{allowed}）")
        seen[code] = number
        units.append(RosterUnit(code, name, level, values.get("parent", ""), number,
                                values.get("contact", ""), values.get("phone", "")))
    if not units:
        raise UserError(f"{path.name}：单位名单没有任何单位")
    return Roster(str(path), tuple(units))


def _chinese(column: str) -> str:
    return next(k for k, v in HEADERS.items() if v == column and not k.isascii())


def _read_rows(path: Path) -> list[list[object]]:
    data = path.read_bytes()
    if data[:2] == b"PK":
        return _read_xlsx_rows(path)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UserError(f"{path.name}：无法识别文件编码，请保存为 UTF-8 编码的 CSV")
    return [row for row in csv.reader(io.StringIO(text))]


def _read_xlsx_rows(path: Path) -> list[list[object]]:
    import openpyxl  # only rosters in .xlsx need it

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise UserError(f"{path.name}：无法读取 Excel 单位名单（{type(exc).__name__}）") from exc
    try:
        sheet = workbook.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
