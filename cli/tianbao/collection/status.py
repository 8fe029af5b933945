"""The collection at a glance: one line per roster unit, computed from the ledger."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from tianbao.collection.ledger import REOPENED, Ledger
from tianbao.errors import ReportLoadError
from tianbao.io.reports import load_report
from tianbao.io.roster import Roster, RosterUnit

STATE_MISSING = "未报送"
STATE_TO_FIX = "需修改"
STATE_ACCEPTED = "已接收"
STATE_REOPENED = "已重新打开"


@dataclass(frozen=True)
class UnitStatus:
    unit: RosterUnit
    distributed: bool
    versions: int
    latest_state: str  # of the latest version ("" when none)
    accepted_version: int | None  # the version merged
    open_errors: int
    open_warnings: int
    decisions: int
    stale: int

    @property
    def state(self) -> str:
        if self.versions == 0:
            return STATE_MISSING
        if self.latest_state == REOPENED and self.accepted_version is None:
            return STATE_REOPENED
        if self.accepted_version is None:
            return STATE_TO_FIX
        return STATE_ACCEPTED

    @property
    def owing(self) -> bool:
        """Still owes an accepted report: goes on the 催报名单."""
        return self.accepted_version is None


@dataclass(frozen=True)
class CollectionStatus:
    units: list[UnitStatus]
    unidentified: int  # files received whose unit could not be read

    def count(self, state: str) -> int:
        return sum(1 for u in self.units if u.state == state)

    @property
    def owing(self) -> list[UnitStatus]:
        return [u for u in self.units if u.owing]


def collection_status(ledger: Ledger, roster: Roster) -> CollectionStatus:
    distributed = {e.unit for e in ledger.events(kind="distributed")}
    versions = ledger.versions()
    decisions: dict[str, int] = {}
    for decision in ledger.decisions():
        decisions[decision.unit] = decisions.get(decision.unit, 0) + 1
    accepted = ledger.accepted()
    lines = []
    for unit in roster.units:
        own = [v for v in versions if v.unit == unit.code]
        latest = own[-1] if own else None
        lines.append(UnitStatus(
            unit=unit, distributed=unit.code in distributed, versions=len(own),
            latest_state=latest.state if latest else "",
            accepted_version=accepted[unit.code].number if unit.code in accepted else None,
            open_errors=latest.open_errors if latest else 0, open_warnings=latest.open_warnings if latest else 0,
            decisions=decisions.get(unit.code, 0), stale=latest.stale if latest else 0,
        ))
    unidentified = sum(1 for v in versions if not v.unit or v.unit not in roster.by_code())
    return CollectionStatus(lines, unidentified)


def status_table(status: CollectionStatus, title: str) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column, justify in (("单位代码", "left"), ("单位名称", "left"), ("下发", "center"), ("版本数", "right"),
                            ("未处理错误", "right"), ("未处理警告", "right"), ("审核决定", "right"),
                            ("采用版本", "right"), ("状态", "left")):
        # Only the name may wrap: the short columns stay on one line in an 80-column console.
        table.add_column(column, justify=justify, overflow="fold",  # type: ignore[arg-type]
                         no_wrap=column != "单位名称")
    colours = {STATE_ACCEPTED: "green", STATE_TO_FIX: "red", STATE_MISSING: "yellow", STATE_REOPENED: "magenta"}
    for line in status.units:
        decided = str(line.decisions) + (f"（{line.stale} 项不再适用）" if line.stale else "")
        colour = colours[line.state]
        table.add_row(
            line.unit.code, line.unit.name, "是" if line.distributed else "否", str(line.versions),
            str(line.open_errors) if line.versions else "", str(line.open_warnings) if line.versions else "",
            decided, f"第 {line.accepted_version} 版" if line.accepted_version else "",
            f"[{colour}]{line.state}[/{colour}]",
        )
    counts = "，".join(f"{state} {status.count(state)}" for state in
                      (STATE_ACCEPTED, STATE_TO_FIX, STATE_REOPENED, STATE_MISSING) if status.count(state))
    table.caption = f"共 {len(status.units)} 个单位：{counts}" + (
        f"；另有 {status.unidentified} 个文件无法确定单位" if status.unidentified else "")
    table.caption_justify = "left"
    return table


MISSING_HEADER = ["单位代码", "单位名称", "单位层级", "状态", "联系人", "电话", "收到版本", "未处理错误"]


def missing_xlsx(status: CollectionStatus, title: str) -> bytes:
    """The 催报名单: every unit that still owes an accepted report, with its contact."""
    import xlsxwriter

    from tianbao.io.printing import row_height, set_up_page

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    sheet = book.add_worksheet("催报名单")
    bold = book.add_format({"bold": True, "font_size": 14})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    cell = book.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    widths = (14, 28, 16, 12, 12, 16, 10, 10)
    sheet.write_string(0, 0, title, bold)
    sheet.write_row(2, 0, MISSING_HEADER, head)
    for row, line in enumerate(status.owing, start=3):
        texts = [line.unit.code, line.unit.name, line.unit.level, line.state, line.unit.contact, line.unit.phone]
        sheet.write_row(row, 0, texts, cell)
        sheet.write_number(row, 6, line.versions, cell)
        sheet.write_number(row, 7, line.open_errors, cell)
        sheet.set_row(row, row_height(zip(texts, widths, strict=False)))
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    sheet.freeze_panes(3, 0)
    set_up_page(sheet, landscape=True, header_left=title, repeat_rows=(2, 2))
    book.close()
    return buffer.getvalue()


def missing_from_folder(roster: Roster, folder: Path) -> list[RosterUnit]:
    """Roster units with no report JSON in an import folder (for `import --roster` without a collection)."""
    present: set[str] = set()
    for path in folder.glob("*.json"):
        try:
            report = load_report(path)
        except ReportLoadError:
            continue
        unit = roster.find(report.unit.code, report.unit.name)
        if unit is not None and not any(f.blocking for f in report.findings):
            present.add(unit.code)
    return [u for u in roster.units if u.code not in present]

