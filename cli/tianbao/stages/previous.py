"""Last year's report JSON, for the cross-year links of the form (R6).

`tianbao distribute --previous` prefills this year's continuing rows from it and
`tianbao merge --previous` checks them against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tianbao.errors import ReportLoadError, UserError
from tianbao.form import Form
from tianbao.io.reports import load_report
from tianbao.report import Report


@dataclass
class Previous:
    """Last year's reports: per unit (from a folder), or the merged total (from a file)."""

    units: dict[str, Report]
    total: Report | None

    def find(self, code: str, name: str) -> Report | None:
        """Last year's report of a unit: by code, or by name for reports without a code."""
        return self.units.get(unit_key(code, name)) or self.units.get(unit_key("", name))


def unit_key(code: str, name: str) -> str:
    return code if code else f"name:{name}"


def load_previous(form: Form, path: Path, year: int) -> Previous:
    if path.is_file():
        try:
            report = load_report(path, form)
        except ReportLoadError as exc:
            raise UserError(f"--previous：{exc}") from exc
        if report.year != year - 1:
            raise UserError(f"--previous：{path.name} 是 {report.year} 年度的报告，应为上一年度（{year - 1} 年）")
        return Previous({}, report)
    if not path.is_dir():
        raise UserError(f"--previous 应为上年度报告 JSON 所在的文件夹，或上年度汇总报告 JSON 文件：{path}")
    units: dict[str, Report] = {}
    for candidate in sorted(path.glob("*.json")):
        try:
            report = load_report(candidate, form)
        except ReportLoadError:
            continue  # findings and other JSON files may sit beside the reports
        if report.year == year - 1:
            units[unit_key(report.unit.code, report.unit.name)] = report
    if not units:
        raise UserError(f"--previous：文件夹 {path} 中没有 {year - 1} 年度的报告 JSON")
    return Previous(units, None)
