"""The `tianbao` command: a thin typer layer over the stage modules.

Each command imports its stage when it runs (so `tianbao --version` loads no spreadsheet,
document or data-frame library), parses options, calls one stage, prints a short Chinese
summary and maps expected failures (`TianbaoError`, caught once here) to a one-line message
and a non-zero exit.

This module is longer than ~400 lines because every command declares its options here, with
their Chinese help texts; it holds no logic a stage could hold.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from tianbao import __version__
from tianbao.cli import collection, portal
from tianbao.errors import TianbaoError, UserError
from tianbao.io.names import input_labels, shown_path

if TYPE_CHECKING:
    from tianbao.form import Form
    from tianbao.io.roster import Roster

app = typer.Typer(
    name="tianbao",
    help="填报：政府信息公开工作年度报告的生成、导入校验、汇总与发布。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

FormOption = Annotated[
    str | None,
    typer.Option("--form", help="表单定义：内置表单编号或 YAML 文件路径（默认 national-2021）"),
]


@contextmanager
def user_errors() -> Iterator[None]:
    """Expected failures become one Chinese line on stderr and exit code 2."""
    try:
        yield
    except TianbaoError as exc:
        err_console.print(f"[red]错误：[/red]{exc}", highlight=False)
        raise typer.Exit(2) from None


def entry() -> None:
    """The program: `tianbao` and `python -m tianbao`."""
    # A Chinese Windows console (or output redirected there) is GBK: a character it lacks
    # (✓, a rare name) is shown as "?" rather than ending the command with a traceback.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    from tianbao.cli.chinese import run as run_in_chinese

    run_in_chinese(app)


# What a spreadsheet program saves; publish takes report JSON, never one of these.
WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".et", ".ods"}


def workbook_path(path: Path) -> Path:
    """The tool writes .xlsx workbooks only: a name promising another format is refused."""
    if path.suffix.lower() != ".xlsx":
        raise UserError(f"工作簿的文件名应以 .xlsx 结尾（tianbao 只生成 .xlsx 工作簿）：{shown_path(path)}")
    return path


def _starts_like_a_zip(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(2) == b"PK"
    except OSError:
        return False


def run(action: Callable[[], int | None]) -> None:
    with user_errors():
        code = action()
    if code:
        raise typer.Exit(code)


def version_callback(value: bool) -> None:
    if value:
        console.print(f"tianbao {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="显示版本号")
    ] = False,
) -> None:
    """填报：政府信息公开工作年度报告的生成、导入校验、汇总与发布。"""


@app.command("forms")
def forms_command() -> None:
    """列出内置的表单定义。

    例：tianbao forms
    """

    def action() -> None:
        from tianbao.form import builtin_form_paths, load_form

        for form_id, path in builtin_form_paths().items():
            form = load_form(path)
            console.print(f"{form_id}\t版本 {form.version}\t{form.spec.title}（{form.spec.basis}）", highlight=False)

    run(action)


@app.command("new")
def new_command(
    output: Annotated[Path, typer.Option("-o", "--output", help="要生成的工作簿路径（.xlsx）")] = Path("年报.xlsx"),
    unit: Annotated[str | None, typer.Option("--unit", help="单位名称（填入并锁定）")] = None,
    year: Annotated[int | None, typer.Option("--year", help="报告年度（填入并锁定）", min=2000, max=2100)] = None,
    code: Annotated[str | None, typer.Option("--code", help="单位代码（填入并锁定）")] = None,
    level: Annotated[str | None, typer.Option("--level", help="单位层级，例如 区县政府部门（填入并锁定）")] = None,
    password: Annotated[str | None, typer.Option("--password", help="保护密码（默认随机生成且不保存）")] = None,
    prefill: Annotated[Path | None, typer.Option("--prefill", help="用报告 JSON 预填数值")] = None,
    form: FormOption = None,
) -> None:
    """生成一份空白（或预填）的填报工作簿。

    例：tianbao new -o 某局.xlsx --unit 某某区财政局 --year 2025 --level 区县政府部门
    """

    def action() -> None:
        workbook_path(output)
        from tianbao.form import resolve_form
        from tianbao.stages.distribute import new_workbook

        definition = resolve_form(form)
        given = {"unit_name": unit, "year": year, "unit_code": code, "unit_level": level}
        identity = {role: value for role, value in given.items() if value is not None}
        new_workbook(definition, output, identity=identity, password=password, prefill=prefill)
        console.print(f"已生成 {output}", highlight=False)

    run(action)


@app.command("distribute")
def distribute_command(
    roster: Annotated[
        Path | None,
        typer.Argument(help="单位名单（CSV 或 XLSX，表头为 单位代码、单位名称、单位层级）；收集文件夹中可省略"),
    ] = None,
    year: Annotated[int | None, typer.Option("--year", help="报告年度", min=2000, max=2100)] = None,
    outdir: Annotated[
        Path | None, typer.Option("-o", "--outdir", help="输出文件夹（收集文件夹中默认 填报表/）")
    ] = None,
    previous: Annotated[Path | None, typer.Option("--previous", help="上年度报告 JSON 文件夹（预填跨年数字）")] = None,
    password: Annotated[str | None, typer.Option("--password", help="保护密码（默认随机生成且不保存）")] = None,
    force: Annotated[bool, typer.Option("--force", help="覆盖输出文件夹中已有的同名工作簿")] = False,
    form: FormOption = None,
    collection_dir: collection.CollectionOption = None,
) -> None:
    """按单位名单为每个单位生成填报工作簿。

    例：tianbao distribute 名单.csv --year 2025 -o 填报表/
    """

    def action() -> None:
        from tianbao.collection import workflow
        from tianbao.collection.folder import DISTRIBUTED, open_collection
        from tianbao.stages.distribute import distribute

        found = open_collection(collection_dir)
        definition = workflow.collection_form(found, form)
        roster_path = roster or (found.roster_path if found else None)
        collect_year = year or (found.year if found else None)
        target = outdir or workflow.default_folder(found, DISTRIBUTED)
        if roster_path is None or collect_year is None or target is None:
            raise UserError("请给出单位名单、--year 和 -o 输出文件夹（或在收集文件夹中运行）")
        written = distribute(definition, roster_path, collect_year, target, password=password, previous=previous,
                             overwrite=force)
        if found is not None:
            workflow.record_distributed(found, definition, [(item.unit.code, item.path) for item in written])
        carried = sum(1 for item in written if item.carried_forward)
        console.print(f"已为 {len(written)} 个单位生成工作簿，保存在 {target}", highlight=False)
        if previous:
            console.print(f"其中 {carried} 个单位已按上年度报告预填跨年延续的数字", highlight=False)
        if found is not None and found.meta().get("portal_url"):
            # The portal's address is set: each unit's link beside its workbook.
            portal.print_links(found, console, workbooks={i.unit.code: i.path for i in written})

    run(action)


RosterOption = Annotated[
    Path | None, typer.Option("--roster", help="单位名单（CSV 或 XLSX）：核对单位是否在名单中")
]
YearOption = Annotated[
    int | None, typer.Option("--year", help="本次收集的报告年度，其他年度的报告将被退回", min=2000, max=2100)
]
UnitNameOption = Annotated[
    str | None, typer.Option("--unit-name", help="已发布的年报中没有写明单位名称时使用的单位名称（年度用 --year 指定）")
]
StrictOption = Annotated[
    bool, typer.Option("--strict", help="严格模式：数字单元格留空按错误处理（默认按 0 计并给出警告）")
]
ConvertOption = Annotated[
    bool, typer.Option("--convert", help="用 LibreOffice 自动转换 .xls/.et/.ods 文件后继续导入（给出警告）")
]
LimitOption = Annotated[
    list[str] | None,
    typer.Option("--limit", metavar="名称=数值",
                 help="调整安全限制，可重复，例如 --limit max_seconds=120 --limit max_file_bytes=80MB"
                 "（名称和默认值见 docs/security.md）"),
]


def _roster(path: Path | None, definition: Form) -> Roster | None:
    from tianbao.io.roster import load_roster

    if path is None:
        return None
    return load_roster(path, definition.identity_section_choices("unit_level"))


@app.command("import")
def import_command(
    inputs: Annotated[
        list[Path], typer.Argument(help="报送的工作簿或已发布的年报（.txt/.html/.docx/.pdf），或文件夹（全部导入）")
    ],
    outdir: Annotated[
        Path | None,
        typer.Option("-o", "--outdir", help="输出文件夹：每个接收的单位一个 JSON，另有 findings.csv/.xlsx"
                     "（收集文件夹中默认 导入/）"),
    ] = None,
    roster: RosterOption = None,
    year: YearOption = None,
    strict: StrictOption = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="并行进程数", min=1, max=64)] = 1,
    convert: ConvertOption = False,
    latest: Annotated[
        bool, typer.Option("--latest", help="同一单位有多份工作簿时，采用工作簿保存时间最新的一份（默认全部退回）")
    ] = False,
    limit: LimitOption = None,
    form: FormOption = None,
    unit_name: UnitNameOption = None,
    previous: collection.PreviousOption = None,
    collection_dir: collection.CollectionOption = None,
) -> None:
    """导入报送的工作簿或已发布的年报：校验后每个单位输出一个 JSON，问题清单写入 findings.csv 和 findings.xlsx。

    例：tianbao import 收回/ -o 导入/ --roster 名单.csv --year 2025
    """

    def action() -> int:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from tianbao.cli.console import summary_line
        from tianbao.collection.workflow import ImportSetup
        from tianbao.io.inputs import collect_inputs, import_outputs
        from tianbao.stages.batch import import_batch
        from tianbao.workbook.limits import limits_from

        setup = ImportSetup(collection_dir, outdir, roster, year, form, previous)
        if setup.outdir is None:
            raise UserError("请用 -o 指定输出文件夹（或在收集文件夹中运行）")
        definition, target, units = setup.form, setup.outdir, setup.roster()
        limits = limits_from(limit or [])
        shown = shown_path(target)
        files = setup.ordered(collect_inputs(inputs, import_outputs(target)))
        names = input_labels(inputs, files)
        columns = (TextColumn("导入"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err_console, transient=True) as progress:
            task = progress.add_task("import", total=len(files))
            try:
                result = import_batch(
                    files, definition, target, roster=units, year=setup.year, strict=strict, convert=convert,
                    jobs=jobs, limits=limits, names=names, latest=latest, unit_name=unit_name,
                    on_done=lambda _outcome: progress.advance(task),
                    on_wait=lambda: err_console.print(f"另一个导入正在写入 {shown}，等它完成后再继续……",
                                                      highlight=False),
                    hooks=setup.hooks(),
                )
                outstanding = setup.outstanding(result.rejected)
            finally:
                setup.close()
        setup.note_skipped(result.skipped, len(result.outcomes), console)
        for outcome in result.rejected:
            if outcome not in outstanding:
                console.print(f"[yellow]旧版本[/yellow] {escape(outcome.name)}：该单位已有更新的版本通过校验，"
                              "这一版不必再处理", highlight=False)
        for outcome in outstanding:
            first = next((f for f in outcome.findings if f.is_error), None)
            reason = first.message if first else ""
            console.print(f"[red]退回[/red] {escape(outcome.name)}：{escape(reason)}", highlight=False)
        if result.set_aside:
            folder = shown_path(result.set_aside[0].parent.relative_to(target))
            console.print(f"[yellow]上次导入留下的 {len(result.set_aside)} 个 JSON 已不再有效（对应的文件本次被退回"
                          f"或已换成另一份），已移到 {escape(folder)} 文件夹保存，不计入汇总[/yellow]", highlight=False)
        console.print(summary_line(result.outcomes), highlight=False)
        console.print(f"JSON 和问题清单（findings.csv、findings.xlsx）已保存在 {escape(shown)}", highlight=False)
        missing = setup.missing_line()
        if missing:
            console.print(escape(missing), highlight=False)
        return 1 if outstanding else 0

    run(action)


@app.command("check")
def check_command(
    files: Annotated[list[Path], typer.Argument(help="要检查的工作簿，或已发布的年报（.txt/.html/.docx/.pdf）")],
    roster: RosterOption = None,
    year: YearOption = None,
    strict: StrictOption = False,
    convert: ConvertOption = False,
    limit: LimitOption = None,
    form: FormOption = None,
    unit_name: UnitNameOption = None,
    previous: collection.PreviousOption = None,
) -> None:
    """检查报送的工作簿或已发布的年报并列出全部问题（不输出文件）；有错误时退出码为 1。

    例：tianbao check 收回/某局.xlsx
    """

    def action() -> int:
        from tianbao.cli.console import findings_table, summary_line
        from tianbao.collection.workflow import ImportSetup
        from tianbao.io.inputs import collect_inputs
        from tianbao.stages.batch import import_many
        from tianbao.workbook.limits import limits_from

        setup = ImportSetup(None, None, roster, year, form, previous)
        definition, units, amend = setup.form, setup.roster(), setup.amend()
        limits = limits_from(limit or [])
        found = collect_inputs(files)
        outcomes = [
            outcome for outcome, _json in import_many(found, definition, roster=units, year=setup.year, strict=strict,
                                                      convert=convert, limits=limits, names=input_labels(files, found),
                                                      unit_name=unit_name)
        ]
        for outcome in outcomes:
            if amend is not None:
                amend(outcome)
        console.print(findings_table(outcomes, definition))
        console.print(summary_line(outcomes), highlight=False)
        return 1 if any(o.rejected or any(f.is_error for f in o.findings) for o in outcomes) else 0

    run(action)


@app.command("annotate")
def annotate_command(
    files: Annotated[list[Path], typer.Argument(help="报送的工作簿，或存放它们的文件夹（逐个生成）")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="退回用的工作簿（默认 退回_<原文件名>.xlsx）；"
                     "给出文件夹或多个文件时为输出文件夹（默认 收集文件夹的 退回/，或“输入文件夹_退回”）"),
    ] = None,
    roster: RosterOption = None,
    year: YearOption = None,
    strict: StrictOption = False,
    convert: ConvertOption = False,
    limit: LimitOption = None,
    form: FormOption = None,
    collection_dir: collection.CollectionOption = None,
) -> None:
    """生成退回修改用的工作簿：问题单元格标红并附批注，第一页是带链接的错误清单。不会改动原文件。

    例：tianbao annotate 收回/某局.xlsx -o 退回/某局.xlsx
    """

    def action() -> None:
        from tianbao.collection import workflow
        from tianbao.collection.folder import open_collection
        from tianbao.io.inputs import collect_inputs
        from tianbao.stages.annotate import annotate
        from tianbao.stages.intake import ImportOutcome
        from tianbao.workbook.limits import limits_from

        found = open_collection(collection_dir)
        definition = workflow.collection_form(found, form)
        units = _roster(roster or (found.roster_path if found else None), definition)
        limits = limits_from(limit or [])
        if len(files) > 1 or files[0].is_dir():
            target_dir = output or workflow.return_folder(files, found)

            def one(path: Path, target: Path) -> ImportOutcome:
                return annotate(path, definition, target, roster=units, year=year, strict=strict, convert=convert,
                                limits=limits)

            count = workflow.annotate_batch(collect_inputs(files, [target_dir]), definition, target_dir, found,
                                            console, one, limits)
            console.print(f"共生成 {count} 个退回工作簿，保存在 {escape(shown_path(target_dir))}", highlight=False)
            return
        file = files[0]
        if not collect_inputs([file]):
            raise UserError(f"不是报送的工作簿：{shown_path(file)}")
        target = workbook_path(output) if output else file.with_name(f"退回_{file.stem}.xlsx")
        if target.resolve() == file.resolve():
            raise UserError("输出文件不能与报送的原文件相同")
        outcome = annotate(file, definition, target, roster=units, year=year,
                           strict=strict, convert=convert, limits=limits)
        errors = sum(1 for f in outcome.findings if f.is_error)
        workflow.record_event(found, "returned", outcome.report.unit.code if outcome.report else "", target,
                              {"source_file": outcome.name, "source_sha256": outcome.sha256})
        console.print(f"已生成 {escape(shown_path(target))}：{errors} 个错误、{len(outcome.findings) - errors} 个警告",
                      highlight=False)

    run(action)


@app.command("schema")
def schema_command(
    definition: Annotated[
        bool, typer.Option("--form-definition", help="改为输出表单定义（YAML）的 JSON Schema，即 docs/form.schema.json")
    ] = False,
) -> None:
    """输出报告 JSON 的 JSON Schema（或加 --form-definition 输出表单定义的 JSON Schema）。

    例：tianbao schema > report.schema.json
    """

    def action() -> None:
        if definition:
            from tianbao.form.spec import form_schema

            sys.stdout.write(form_schema())
            return
        from tianbao.report import report_schema

        sys.stdout.write(report_schema())

    run(action)


@app.command("merge")
def merge_command(
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(help="单位报告：报告 JSON、.xlsx 工作簿，或存放它们的文件夹"
                       "（收集文件夹中默认为各单位采用的版本）"),
    ] = None,
    roster: Annotated[
        Path | None, typer.Option("--roster", help="单位名单（CSV 或 XLSX），用来判断哪些单位未报送")
    ] = None,
    outdir: Annotated[
        Path | None,
        typer.Option("-o", "--outdir", help="输出文件夹（汇总 JSON、汇总工作簿、数值表；收集文件夹中默认 汇总/）"),
    ] = None,
    year: Annotated[
        int | None, typer.Option("--year", help="报告年度（默认取各报告共同的年度）", min=2000, max=2100)
    ] = None,
    unit_name: Annotated[str | None, typer.Option("--unit-name", help="汇总单位名称，例如 某某区")] = None,
    unit_code: Annotated[str | None, typer.Option("--unit-code", help="汇总单位代码")] = None,
    unit_level: Annotated[str | None, typer.Option("--unit-level", help="汇总单位层级")] = None,
    parent: Annotated[
        str | None, typer.Option("--parent", help="只汇总名单中上级单位代码为此值的单位（多级名单）")
    ] = None,
    include_invalid: Annotated[
        bool, typer.Option("--include-invalid", help="校验未通过的报告也计入汇总（仍列入催报名单）")
    ] = False,
    latest: Annotated[
        bool, typer.Option("--latest", help="同一单位有多份报告时，采用导入时间最新的一份")
    ] = False,
    previous: Annotated[
        Path | None, typer.Option("--previous", help="上年度报告 JSON 文件夹或上年度汇总 JSON，用来核对跨年延续的数字")
    ] = None,
    text: Annotated[
        Path | None,
        typer.Option("--text", help="本级报告的文字部分：用 tianbao new 生成并填好的工作簿，"
                     "或按年报提纲写的 .docx/.md"),
    ] = None,
    detail_limit: Annotated[
        int, typer.Option("--detail-limit", min=0,
                          help="计入汇总的单位不超过此数时，另写分单位明细 detail.xlsx 和 values.csv；"
                               "超过时分单位数据只写入 values.parquet")
    ] = 1000,
    limit: LimitOption = None,
    form: FormOption = None,
    collection_dir: collection.CollectionOption = None,
) -> None:
    """把各单位的报告汇总为本级报告，并列出报送情况。

    例：tianbao merge 导入/ --roster 名单.csv -o 汇总/ --unit-name 某某区
    """

    def action() -> None:
        from tianbao.cli.console import key_rows_table, status_tables
        from tianbao.collection import workflow
        from tianbao.collection.folder import MERGED, open_collection
        from tianbao.stages.merge import MergeOptions, merge
        from tianbao.stages.summary import detail_note, write_outputs
        from tianbao.workbook.limits import limits_from

        found = open_collection(collection_dir)
        definition = workflow.collection_form(found, form)
        sources = inputs or (workflow.merge_inputs(found) if found else None)
        roster_path = roster or (found.roster_path if found else None)
        target = outdir or workflow.default_folder(found, MERGED)
        if not sources or roster_path is None or target is None:
            raise UserError("请给出单位报告、--roster 和 -o 输出文件夹（或在收集文件夹中运行）")
        options = MergeOptions(
            year=year or (found.year if found else None), unit_name=unit_name, unit_code=unit_code,
            unit_level=unit_level, parent=parent, include_invalid=include_invalid, latest=latest, previous=previous,
            limits=limits_from(limit or []),
        )
        result = merge(definition, sources, roster_path, options, target)
        if text is not None:
            from tianbao.collection.narrative import apply_text

            apply_text(definition, result.district, text)
        written = write_outputs(result, target, detail_limit)
        workflow.record_event(found, "merged", file=written[0], detail={"summed": len(result.summed)})
        for table in status_tables(result):
            console.print(table)
        totals = key_rows_table(result)
        if totals is not None:
            console.print(totals)
        if result.previous_checked:
            console.print("已按上年度报告核对跨年延续的数字（不一致的单位已列为校验未通过）", highlight=False)
        problems = result.district.findings
        if problems:
            console.print(f"[yellow]汇总数据有 {len(problems)} 项校验提示，见 {written[0].name} 的 findings[/yellow]")
        console.print(f"已写入 {target}：" + "、".join(p.name for p in written), highlight=False)
        note = detail_note(len(result.summed), detail_limit)
        if note:
            console.print(note, highlight=False)

    run(action)


@app.command("publish")
def publish_command(
    report: Annotated[Path, typer.Argument(help="报告 JSON 文件（单位报告，或 tianbao merge 生成的汇总报告）")],
    output: Annotated[Path, typer.Option("-o", "--output", help="要生成的文档：.html、.docx、.md 或 .txt")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="文档格式：html、docx、md 或 txt（默认按输出文件的扩展名）")
    ] = None,
    intro: Annotated[str | None, typer.Option("--intro", help="开头段落的文字")] = None,
    intro_file: Annotated[
        Path | None, typer.Option("--intro-file", help="开头段落所在的文本文件（UTF-8，可有多段）")
    ] = None,
    date: Annotated[
        str | None, typer.Option("--date", help="落款日期，例如 2026-01-20（默认取报告的填报日期，没有则取今天）")
    ] = None,
    footer_hash: Annotated[
        bool, typer.Option("--footer-hash", help="在文末注明报告数据文件的 SHA-256 校验值，便于追溯数字来源")
    ] = False,
    form: Annotated[
        str | None,
        typer.Option("--form", help="表单定义：内置表单编号或 YAML 文件路径（默认用报告 JSON 记录的表单）"),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="报告中仍有未处理的错误时也生成文档")] = False,
    collection_dir: collection.CollectionOption = None,
) -> None:
    """由报告 JSON 生成政府信息公开工作年度报告文档（网页、Word、Markdown 或纯文本）。

    例：tianbao publish 汇总/district.json -o 某某区2025年政府信息公开工作年度报告.docx
    """

    def action() -> None:
        from tianbao.collection.folder import open_collection
        from tianbao.collection.workflow import record_event
        from tianbao.document.publish import parse_date_option, publish, read_intro

        if report.suffix.lower() in WORKBOOK_SUFFIXES or _starts_like_a_zip(report):
            raise UserError(f"{shown_path(report)} 是工作簿，不是报告 JSON。请先用 tianbao import 导入，"
                            "再用导入生成的 JSON 发布。")

        if intro is not None and intro_file is not None:
            raise UserError("--intro 和 --intro-file 只能使用其中一个")
        published = publish(
            report,
            output,
            form=form,
            fmt=fmt,
            intro=read_intro(intro_file) if intro_file else intro,
            date=parse_date_option(date) if date else None,
            footer_hash=footer_hash,
            force=force,
        )
        found = open_collection(collection_dir)
        record_event(found, "published", published.report.unit.code, published.path,
                     {"report": report.name, "format": published.format})
        console.print(f"已生成 {published.path}", highlight=False)
        shown = published.warnings[:5]
        for finding in shown:
            err_console.print(f"[yellow]注意：[/yellow]{finding.message}", highlight=False)
        if len(published.warnings) > len(shown):
            more = len(published.warnings) - len(shown)
            err_console.print(f"另有 {more} 处问题，请用 tianbao check 查看", highlight=False)

    run(action)


@app.command("precheck")
def precheck_command(
    inputs: Annotated[
        list[Path],
        typer.Argument(help="要预检的报告：报告 JSON、报送的工作簿、已发布的年报（.txt/.html/.docx），或文件夹"),
    ],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="预检报告文件名（同时生成 .xlsx 和 .html）")
    ] = None,
    previous: Annotated[
        list[Path] | None,
        typer.Option("--previous",
                     help="上年度报告（报告 JSON 或已发布的年报，文件或文件夹，可重复）：核对照抄和跨年数字"),
    ] = None,
    pack: Annotated[
        str | None, typer.Option("--pack", help="评分细则：内置细则名（generic）或 YAML 文件，给出得分预估")
    ] = None,
    mode: Annotated[
        str, typer.Option("--mode", help="计分模式：保守（只计确定扣分）或严格（疑似和无法判断也按扣分计）")
    ] = "保守",
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="文字重复比例阈值（默认 0.5，即 50%）", min=0.01, max=1.0)
    ] = None,
    publish_date: Annotated[
        str | None,
        typer.Option("--publish-date", help="发布日期（例如 2026-01-20），或“单位代码或名称,发布日期”的 CSV 文件"),
    ] = None,
    roster: RosterOption = None,
    year: YearOption = None,
    limit: LimitOption = None,
    form: FormOption = None,
) -> None:
    """评估预检：按评估指标检查年度报告（照抄、年份、六个部分、收费、发布期限、本地评分）；有错误时退出码为 1。"""

    def action() -> int:
        from tianbao.cli.console import precheck_tables
        from tianbao.form import resolve_form
        from tianbao.io.inputs import collect_inputs
        from tianbao.stages.precheck import Options, precheck, summary_line, write_outputs
        from tianbao.workbook.limits import limits_from

        definition = resolve_form(form)
        options = Options(
            previous=collect_inputs(previous, nothing_found="没有找到上年度报告") if previous else None,
            pack=pack, mode=mode, threshold=threshold, publish_date=publish_date,
            roster=_roster(roster, definition), year=year, limits=limits_from(limit or []),
        )
        # The 预检报告 of an earlier run may lie in an input folder: it is not a report to check.
        own = [output.with_suffix(".xlsx"), output.with_suffix(".html")] if output is not None else []
        result = precheck(definition, collect_inputs(inputs, own, nothing_found="没有找到要预检的报告"), options)
        console.print(precheck_tables(result))
        console.print(summary_line(result), highlight=False)
        if output is not None:
            written = write_outputs(result, output)
            console.print("预检报告已保存：" + "、".join(escape(shown_path(p)) for p in written), highlight=False)
        return 1 if result.errors else 0

    run(action)


@app.command("checks")
def checks_command(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="输出 Markdown 页面（即 docs/校验规则.md 的内容）")
    ] = False,
    form: FormOption = None,
) -> None:
    """列出全部校验规则：工具本身的检查（编号、严重程度、范围、名称、说明）和表单定义中的规则。

    例：tianbao checks
    """

    def action() -> None:
        from tianbao.cli.console import checks_tables
        from tianbao.findings import checks_markdown
        from tianbao.form import resolve_form

        definition = resolve_form(form)
        if markdown:
            sys.stdout.write(checks_markdown(definition))
            return
        for table in checks_tables(definition):
            console.print(table)

    run(action)


collection.register(app, run, console)
portal.register(app, run, console)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
