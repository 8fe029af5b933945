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
    app(prog_name="tianbao")


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
    """列出内置的表单定义。"""

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
    """生成一份空白（或预填）的填报工作簿。"""

    def action() -> None:
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
    roster: Annotated[Path, typer.Argument(help="单位名单（CSV 或 XLSX，表头 code,name,level 或中文表头）")],
    year: Annotated[int, typer.Option("--year", help="报告年度", min=2000, max=2100)],
    outdir: Annotated[Path, typer.Option("-o", "--outdir", help="输出文件夹")],
    previous: Annotated[Path | None, typer.Option("--previous", help="上年度报告 JSON 文件夹（预填跨年数字）")] = None,
    password: Annotated[str | None, typer.Option("--password", help="保护密码（默认随机生成且不保存）")] = None,
    form: FormOption = None,
) -> None:
    """按单位名单为每个单位生成填报工作簿。"""

    def action() -> None:
        from tianbao.form import resolve_form
        from tianbao.stages.distribute import distribute

        definition = resolve_form(form)
        written = distribute(definition, roster, year, outdir, password=password, previous=previous)
        carried = sum(1 for item in written if item.carried_forward)
        console.print(f"已为 {len(written)} 个单位生成工作簿，保存在 {outdir}", highlight=False)
        if previous:
            console.print(f"其中 {carried} 个单位已按上年度报告预填跨年延续的数字", highlight=False)

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
        Path, typer.Option("-o", "--outdir", help="输出文件夹：每个接收的单位一个 JSON，另有 findings.csv/.xlsx")
    ],
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
) -> None:
    """导入报送的工作簿或已发布的年报：校验后每个单位输出一个 JSON，问题清单写入 findings.csv 和 findings.xlsx。"""

    def action() -> int:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from tianbao.cli.console import summary_line
        from tianbao.form import resolve_form
        from tianbao.io.inputs import collect_inputs, import_outputs
        from tianbao.stages.batch import import_batch
        from tianbao.workbook.limits import limits_from

        definition = resolve_form(form)
        units = _roster(roster, definition)
        limits = limits_from(limit or [])
        shown = shown_path(outdir)
        files = collect_inputs(inputs, import_outputs(outdir))
        names = input_labels(inputs, files)
        columns = (TextColumn("导入"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err_console, transient=True) as progress:
            task = progress.add_task("import", total=len(files))
            result = import_batch(
                files, definition, outdir, roster=units, year=year, strict=strict, convert=convert,
                jobs=jobs, limits=limits, names=names, latest=latest, unit_name=unit_name,
                on_done=lambda _outcome: progress.advance(task),
                on_wait=lambda: err_console.print(f"另一个导入正在写入 {shown}，等它完成后再继续……", highlight=False),
            )
        for outcome in result.rejected:
            first = next((f for f in outcome.findings if f.is_error), None)
            reason = first.message if first else ""
            console.print(f"[red]退回[/red] {escape(outcome.name)}：{escape(reason)}", highlight=False)
        if result.set_aside:
            folder = shown_path(result.set_aside[0].parent.relative_to(outdir))
            console.print(f"[yellow]上次导入留下的 {len(result.set_aside)} 个 JSON 已不再有效（对应的文件本次被退回"
                          f"或已换成另一份），已移到 {escape(folder)} 文件夹保存，不计入汇总[/yellow]", highlight=False)
        console.print(summary_line(result.outcomes), highlight=False)
        console.print(f"JSON 和问题清单（findings.csv、findings.xlsx）已保存在 {escape(shown)}", highlight=False)
        return 1 if result.rejected else 0

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
) -> None:
    """检查报送的工作簿或已发布的年报并列出全部问题（不输出文件）；有错误时退出码为 1。"""

    def action() -> int:
        from tianbao.cli.console import findings_table, summary_line
        from tianbao.form import resolve_form
        from tianbao.io.inputs import collect_inputs
        from tianbao.stages.batch import import_many
        from tianbao.workbook.limits import limits_from

        definition = resolve_form(form)
        units = _roster(roster, definition)
        limits = limits_from(limit or [])
        found = collect_inputs(files)
        outcomes = [
            outcome for outcome, _json in import_many(found, definition, roster=units, year=year, strict=strict,
                                                      convert=convert, limits=limits, names=input_labels(files, found),
                                                      unit_name=unit_name)
        ]
        console.print(findings_table(outcomes))
        console.print(summary_line(outcomes), highlight=False)
        return 1 if any(o.rejected or any(f.is_error for f in o.findings) for o in outcomes) else 0

    run(action)


@app.command("annotate")
def annotate_command(
    file: Annotated[Path, typer.Argument(help="报送的工作簿")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="退回用的工作簿（默认 退回_<原文件名>.xlsx）")
    ] = None,
    roster: RosterOption = None,
    year: YearOption = None,
    strict: StrictOption = False,
    convert: ConvertOption = False,
    limit: LimitOption = None,
    form: FormOption = None,
) -> None:
    """生成退回修改用的工作簿：问题单元格标红并附批注，第一页是带链接的错误清单。不会改动原文件。"""

    def action() -> None:
        from tianbao.form import resolve_form
        from tianbao.io.inputs import collect_inputs
        from tianbao.stages.annotate import annotate
        from tianbao.workbook.limits import limits_from

        definition = resolve_form(form)
        if file.is_dir() or not collect_inputs([file]):
            raise UserError(f"annotate 只处理一个报送的工作簿，不是文件夹：{shown_path(file)}")
        target = output or file.with_name(f"退回_{file.stem}.xlsx")
        if target.resolve() == file.resolve():
            raise UserError("输出文件不能与报送的原文件相同")
        outcome = annotate(file, definition, target, roster=_roster(roster, definition), year=year,
                           strict=strict, convert=convert, limits=limits_from(limit or []))
        errors = sum(1 for f in outcome.findings if f.is_error)
        console.print(f"已生成 {escape(shown_path(target))}：{errors} 个错误、{len(outcome.findings) - errors} 个提示",
                      highlight=False)

    run(action)


@app.command("schema")
def schema_command(
    definition: Annotated[
        bool, typer.Option("--form-definition", help="改为输出表单定义（YAML）的 JSON Schema，即 docs/form.schema.json")
    ] = False,
) -> None:
    """输出报告 JSON 的 JSON Schema（或加 --form-definition 输出表单定义的 JSON Schema）。"""

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
    inputs: Annotated[list[Path], typer.Argument(help="单位报告：报告 JSON、.xlsx 工作簿，或存放它们的文件夹")],
    roster: Annotated[Path, typer.Option("--roster", help="单位名单（CSV 或 XLSX），用来判断哪些单位未报送")],
    outdir: Annotated[Path, typer.Option("-o", "--outdir", help="输出文件夹（汇总 JSON、汇总工作簿、数值表）")],
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
    limit: LimitOption = None,
    form: FormOption = None,
) -> None:
    """把各单位的报告汇总为本级报告，并列出报送情况。"""

    def action() -> None:
        from tianbao.cli.console import key_rows_table, status_tables
        from tianbao.form import resolve_form
        from tianbao.stages.merge import MergeOptions, merge
        from tianbao.stages.summary import write_outputs
        from tianbao.workbook.limits import limits_from

        options = MergeOptions(
            year=year, unit_name=unit_name, unit_code=unit_code, unit_level=unit_level, parent=parent,
            include_invalid=include_invalid, latest=latest, previous=previous, limits=limits_from(limit or []),
        )
        result = merge(resolve_form(form), inputs, roster, options, outdir)
        written = write_outputs(result, outdir)
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
        console.print(f"已写入 {outdir}：" + "、".join(p.name for p in written), highlight=False)

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
) -> None:
    """由报告 JSON 生成政府信息公开工作年度报告文档（网页、Word、Markdown 或纯文本）。"""

    def action() -> None:
        from tianbao.document.publish import parse_date_option, publish, read_intro

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
        )
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
        str, typer.Option("--mode", help="计分模式：保守（conservative，只计确定扣分）或严格（strict，"
                                         "疑似和无法判断也按扣分计）")
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
    """列出全部校验规则：工具本身的检查（编号、严重程度、范围、名称、说明）和表单定义中的规则。"""

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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
