"""The `tianbao` command: a thin typer layer over the stage modules.

Each command parses options, calls one stage, prints a short Chinese summary and maps
expected failures (UserError and friends) to a one-line message and a non-zero exit.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tianbao import __version__
from tianbao.distribute import distribute, new_workbook
from tianbao.errors import UserError
from tianbao.formdef import FormDefinitionError, builtin_form_paths, load_form, resolve_form

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
    except (UserError, FormDefinitionError) as exc:
        err_console.print(f"[red]错误：[/red]{exc}", highlight=False)
        raise typer.Exit(2) from None


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
        for form_id, path in builtin_form_paths().items():
            form = load_form(path)
            console.print(f"{form_id}\t版本 {form.version}\t{form.spec.title}（{form.spec.basis}）", highlight=False)

    run(action)


@app.command("new")
def new_command(
    output: Annotated[Path, typer.Option("-o", "--output", help="要生成的工作簿路径（.xlsx）")] = Path("年报.xlsx"),
    unit: Annotated[str | None, typer.Option("--unit", help="单位名称")] = None,
    year: Annotated[int | None, typer.Option("--year", help="报告年度，例如 2025", min=2000, max=2100)] = None,
    password: Annotated[str | None, typer.Option("--password", help="保护密码（默认随机生成且不保存）")] = None,
    prefill: Annotated[Path | None, typer.Option("--prefill", help="用报告 JSON 预填数值")] = None,
    form: FormOption = None,
) -> None:
    """生成一份空白（或预填）的填报工作簿。"""

    def action() -> None:
        definition = resolve_form(form)
        new_workbook(definition, output, unit=unit, year=year, password=password, prefill=prefill)
        console.print(f"已生成 {output}", highlight=False)

    run(action)


@app.command("distribute")
def distribute_command(
    roster: Annotated[Path, typer.Argument(help="单位名单（CSV 或 XLSX，表头 code,name,level 或中文表头）")],
    year: Annotated[int, typer.Option("--year", help="报告年度", min=2000, max=2100)],
    outdir: Annotated[Path, typer.Option("-o", "--outdir", help="输出文件夹")],
    previous: Annotated[Path | None, typer.Option("--previous", help="上年度报告 JSON 文件夹（预填上年结转）")] = None,
    password: Annotated[str | None, typer.Option("--password", help="保护密码（默认随机生成且不保存）")] = None,
    form: FormOption = None,
) -> None:
    """按单位名单为每个单位生成填报工作簿。"""

    def action() -> None:
        definition = resolve_form(form)
        written = distribute(definition, roster, year, outdir, password=password, previous=previous)
        carried = sum(1 for item in written if item.carried_forward)
        console.print(f"已为 {len(written)} 个单位生成工作簿，保存在 {outdir}", highlight=False)
        if previous:
            console.print(f"其中 {carried} 个单位已按上年度报告预填“上年结转”", highlight=False)

    run(action)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
