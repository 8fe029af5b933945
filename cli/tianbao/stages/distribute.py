"""`tianbao new` and `tianbao distribute`: workbooks ready to send to departments."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tianbao.errors import ReportLoadError, UserError
from tianbao.form import Form
from tianbao.io.atomic import write_atomic
from tianbao.io.names import safe_filename
from tianbao.io.reports import load_report
from tianbao.io.roster import RosterUnit, load_roster
from tianbao.report import Report, Unit, empty_report
from tianbao.rules.check import carry_forward
from tianbao.stages.previous import load_previous
from tianbao.workbook.write import WriteOptions, identity_locks, render_workbook, write_workbook


@dataclass(frozen=True)
class Distributed:
    unit: RosterUnit
    path: Path
    carried_forward: bool


def prefill_report(form: Form, path: Path) -> Report:
    try:
        return load_report(path, form)
    except ReportLoadError as exc:
        raise UserError(str(exc)) from exc


def new_workbook(
    form: Form, output: Path, *, identity: dict[str, str | int], password: str | None, prefill: Path | None,
) -> Report:
    """One workbook; with --prefill the report's values. Identity values given on the command
    line (role -> value: unit_name, unit_code, unit_level, year) are filled in and locked."""
    report = prefill_report(form, prefill) if prefill else empty_report(form, Unit(name=""), 0)
    levels = form.identity_section_choices("unit_level")
    level = identity.get("unit_level")
    if level is not None and levels is not None and level not in levels:
        raise UserError(f"单位层级“{level}”不在表单允许的范围内（{'、'.join(levels)}）")
    setters = {"unit_name": "name", "unit_code": "code", "unit_level": "level"}
    for role, value in identity.items():
        if role == "year":
            report.year = int(value)
        else:
            setattr(report.unit, setters[role], str(value))
    locks = identity_locks(form, tuple(identity))
    write_workbook(output, form, report, WriteOptions(password=password, locked=locks, distributed=True))
    return report


def workbook_name(unit: RosterUnit, year: int) -> str:
    return safe_filename(f"{unit.code}_{unit.name}_{year}.xlsx")


def distribute(
    form: Form, roster_path: Path, year: int, outdir: Path, *, password: str | None,
    previous: Path | None, overwrite: bool = False,
) -> list[Distributed]:
    """One locked, prefilled workbook per roster unit. Workbooks already in `outdir` (perhaps
    sent out, perhaps filled in) are never replaced unless `overwrite` says so."""
    levels = form.identity_section_choices("unit_level")
    roster = load_roster(roster_path, levels)
    last_year = load_previous(form, previous, year) if previous else None
    if last_year is not None and last_year.total is not None:
        raise UserError("distribute 的 --previous 应为上年度各单位报告 JSON 所在的文件夹，不是汇总报告")
    existing = [path for path in (outdir / workbook_name(unit, year) for unit in roster.units) if path.exists()]
    if existing and not overwrite:
        raise UserError(f"输出文件夹中已有 {len(existing)} 个同名工作簿（例如 {existing[0].name}），没有覆盖。"
                        "确需重新生成请加 --force，或换一个输出文件夹。")
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    # Each file is written atomically (fsync: milliseconds of waiting on the disk); a writer
    # thread waits for it while the next workbook is rendered.
    with ThreadPoolExecutor(max_workers=1) as writer:
        writes: list[Future[None]] = []
        for unit in roster.units:
            report = empty_report(form, Unit(code=unit.code, name=unit.name, level=unit.level), year)
            locks = identity_locks(form)
            before = last_year.find(unit.code, unit.name) if last_year else None
            if before is not None:
                locks |= carry_forward(form, before, report)
            path = outdir / workbook_name(unit, year)
            data = render_workbook(form, report, WriteOptions(password=password, locked=locks, distributed=True))
            writes.append(writer.submit(write_atomic, path, data))
            written.append(Distributed(unit, path, before is not None))
        for write in writes:
            write.result()  # a failed write is raised here
    return written
