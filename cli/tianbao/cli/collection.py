"""`tianbao init`, `tianbao status` and `tianbao review`: the year's collection folder, its
progress and the reviewer's decisions (the work is `tianbao.collection`'s), and the options
the existing commands take in a collection. Registered on the app by `register`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from tianbao.errors import UserError

if TYPE_CHECKING:
    from tianbao.collection.folder import Collection
    from tianbao.collection.review import Proposed

CollectionOption = Annotated[
    Path | None,
    typer.Option("--collection", help="收集文件夹（tianbao init 建立）；在收集文件夹中运行时可省略，操作记入收集台账"),
]
PreviousOption = Annotated[
    Path | None,
    typer.Option("--previous", help="上年度报告 JSON 文件夹或上年度收集文件夹：报送时即核对跨年度延续的数字"),
]




# ---------------------------------------------------------------------------------------
# The new commands


def register(app: typer.Typer, run: Callable[[Callable[[], int | None]], None], console: Console) -> None:
    """Add init, status and review to the `tianbao` command."""

    @app.command("init")
    def init_command(
        folder: Annotated[Path, typer.Argument(help="要建立的收集文件夹，例如 2025年报/")],
        roster: Annotated[Path, typer.Option("--roster", help="单位名单（CSV 或 XLSX）；可有“联系人”“电话”列")],
        year: Annotated[int, typer.Option("--year", help="报告年度", min=2000, max=2100)],
        form: Annotated[str | None, typer.Option("--form", help="表单定义（默认 national-2021）")] = None,
    ) -> None:
        """建立一年的收集文件夹：各环节的子文件夹和收集台账。

        例：tianbao init 2025年报/ --roster 名单.csv --year 2025
        """

        def action() -> None:
            from tianbao.collection.folder import create_collection
            from tianbao.form import resolve_form

            definition = resolve_form(form)
            create_collection(folder, roster, year, definition, form)
            console.print(f"已建立收集文件夹 {folder}（{year} 年度）。下一步：tianbao distribute --collection {folder}",
                          highlight=False)

        run(action)

    @app.command("status")
    def status_command(
        collection: CollectionOption = None,
        missing: Annotated[bool, typer.Option("--missing", help="只列出仍需催报的单位")] = False,
        output: Annotated[
            Path | None, typer.Option("-o", "--output", help="把催报名单写入 .xlsx 文件（与 --missing 一起使用）")
        ] = None,
        rebuild: Annotated[
            bool, typer.Option("--rebuild", help="按收集文件夹中的文件重建收集台账的报送版本")
        ] = False,
    ) -> None:
        """显示收集进度：每个单位的下发、报送版本、未处理的问题、审核决定和采用的版本。

        例：tianbao status --missing -o 催报名单.xlsx
        """

        def action() -> None:
            from tianbao.collection.folder import open_collection
            from tianbao.collection.status import CollectionStatus, collection_status, missing_xlsx, status_table
            from tianbao.collection.workflow import collection_form
            from tianbao.io.atomic import write_atomic

            found = open_collection(collection)
            if found is None:
                raise UserError("当前文件夹不是收集文件夹；请进入收集文件夹运行，或用 --collection 指定")
            definition = collection_form(found, None)
            if rebuild:
                from tianbao.collection.rebuild import rebuild_versions

                count = rebuild_versions(found, definition)
                console.print(f"已按 导入/历史/ 中的 {count} 份报告重建收集台账的报送版本", highlight=False)
            roster = found.roster(definition)
            with found.ledger() as ledger:
                state = collection_status(ledger, roster)
            title = f"{found.root.name}：{found.year} 年度收集进度"
            if missing:
                state = CollectionStatus(state.owing, state.unidentified)
                title = f"{found.root.name}：{found.year} 年度催报名单"
            console.print(status_table(state, title))
            if output is not None:
                if output.suffix.lower() != ".xlsx":
                    raise UserError("催报名单请保存为 .xlsx 文件")
                write_atomic(output, missing_xlsx(state, title))
                console.print(f"已写入 {output}", highlight=False)

        run(action)

    @app.command("review")
    def review_command(
        findings: Annotated[
            Path | None, typer.Argument(help="填好“审核处理”“审核说明”两列的 findings.xlsx")
        ] = None,
        collection: CollectionOption = None,
        unit: Annotated[str | None, typer.Option("--unit", help="单位代码")] = None,
        check: Annotated[str | None, typer.Option("--check", help="规则编号，例如 R7")] = None,
        cell: Annotated[str | None, typer.Option("--cell", help="位置，例如 表二!B5")] = None,
        accept: Annotated[bool, typer.Option("--accept", help="已核实接受（只用于警告）")] = False,
        override: Annotated[bool, typer.Option("--override", help="确认无误（覆盖错误）")] = False,
        fix: Annotated[bool, typer.Option("--fix", help="需修改")] = False,
        reopen_report: Annotated[bool, typer.Option("--reopen", help="重新打开该单位已接收的报告")] = False,
        reason: Annotated[str, typer.Option("--reason", help="理由（接受、覆盖和重新打开时必填）")] = "",
    ) -> None:
        """记录审核决定：读取 findings.xlsx 的“审核处理”列，或在命令行中对一个问题作出决定。

        例：tianbao review 导入/findings.xlsx
        """

        def action() -> int:
            from tianbao.collection.folder import open_collection
            from tianbao.collection.review import read_findings_workbook, record_decisions, reopen

            found = open_collection(collection)
            if found is None:
                raise UserError("当前文件夹不是收集文件夹；请进入收集文件夹运行，或用 --collection 指定")
            if reopen_report:
                if unit is None:
                    raise UserError("--reopen 需要用 --unit 指定单位")
                number = reopen(found, unit, reason)
                console.print(f"已重新打开 {unit} 的第 {number} 版报告：{reason}", highlight=False)
                return 0
            if findings is not None:
                proposed = read_findings_workbook(findings)
            else:
                proposed = [_command_line_decision(found, unit, check, cell, accept, override, fix, reason)]
            result = record_decisions(found, proposed)
            for problem in result.problems or []:
                console.print(f"[red]未记录[/red] {problem}", highlight=False)
            summary = f"已记录 {result.recorded} 项审核决定（{result.unchanged} 项与已有决定相同）"
            console.print(summary, highlight=False)
            return 1 if result.problems else 0

        run(action)


def _command_line_decision(collection: Collection, unit: str | None, check: str | None, cell: str | None,
                           accept: bool, override: bool, fix: bool, reason: str) -> Proposed:
    from tianbao.collection.review import Proposed, latest_finding

    chosen = [name for name, flag in (("accept", accept), ("override", override), ("fix", fix)) if flag]
    if unit is None or check is None:
        raise UserError("请用 --unit 和 --check 指定单位和规则，或给出 findings.xlsx")
    if len(chosen) != 1:
        raise UserError("请在 --accept、--override、--fix 中选择一个")
    with collection.ledger() as ledger:
        finding = latest_finding(ledger, collection.root, unit, check, cell or "")
    return Proposed(unit, check, cell or "", finding.found or "", chosen[0], reason, finding.is_error, "命令行")
