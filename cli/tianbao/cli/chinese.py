"""The command-line framework in Chinese.

typer (with the click it vendors) prints its own English: panel titles, "Show this message
and exit.", type names such as <path>, and usage errors ("Missing option '--roster'.").
Here the panels get Chinese titles, every parameter a Chinese placeholder, the help option a
Chinese text, commands the workflow order, and usage errors are caught and told in Chinese
from their exception type and parameter (never by translating English text). The tests scan
every command's help and the usage errors for English words.

typer's presentation constants and click's exception classes are the framework's own API as
of the typer release pinned in pyproject.toml; a newer release is checked by those tests.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from rich.console import Console, Group
from rich.markup import escape
from rich.text import Text
from typer._click import exceptions as click_errors
from typer._click.core import Context
from typer._click.formatting import HelpFormatter

# Commands in the order a year's work runs; the tools after them.
COMMAND_ORDER = ("init", "new", "distribute", "import", "check", "annotate", "review", "status", "serve", "portal",
                 "merge", "publish", "precheck", "checks", "forms", "schema")

# The placeholder shown for an argument, by its parameter name in the command functions.
ARGUMENT_NAMES = {
    "inputs": "文件或文件夹",
    "files": "文件",
    "file": "文件",
    "paths": "文件或文件夹",
    "roster": "名单文件",
    "report": "报告文件",
    "folder": "文件夹",
    "findings": "问题清单文件",
}
# The placeholder shown for an option's value, by its type.
TYPE_NAMES = {Path: "路径", int: "整数", float: "数值", str: "文本"}

FRAMEWORK_TEXTS = {
    "ARGUMENTS_PANEL_TITLE": "参数",
    "OPTIONS_PANEL_TITLE": "选项",
    "COMMANDS_PANEL_TITLE": "命令",
    "ERRORS_PANEL_TITLE": "错误",
    "ABORTED_TEXT": "已中止。",
    "RICH_HELP": "运行 [blue]{command_path} {help_option}[/] 查看帮助。",
    "DEFAULT_STRING": "[默认：{}]",
    "ENVVAR_STRING": "[环境变量：{}]",
    "REQUIRED_LONG_STRING": "[必填]",
    "DEPRECATED_STRING": "（已停用）",
    "RANGE_STRING": "",  # the range is said in Chinese in the placeholder instead
}
HELP_TEXT = "显示本帮助并退出"
OPTIONS_PLACEHOLDER = "[选项]"
USAGE_PREFIX = "用法："
COMMAND_PLACEHOLDER = "命令 [参数]…"
# Exit code of a command line the program cannot run (as click's own).
USAGE_EXIT = 2


def run(app: typer.Typer, args: Sequence[str] | None = None) -> None:
    """Run the app with Chinese framework texts; exits with the command's exit code."""
    arguments = list(sys.argv[1:] if args is None else args)
    _patch_usage()
    if not arguments or "--help" in arguments:  # typer's help panels (rich, markdown) load only for help
        _patch_help_panels()
    command = typer.main.get_command(app)
    _translate(command, Context(command, info_name="tianbao"))
    try:
        code = command.main(args=arguments, prog_name="tianbao", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:  # typer printed the help while raising it
        code = exc.exit_code
    except click_errors.UsageError as exc:
        _print_usage_error(exc)
        code = USAGE_EXIT
    except typer.Abort:
        Console(stderr=True).print(FRAMEWORK_TEXTS["ABORTED_TEXT"], style="red")
        code = 1
    sys.exit(code if isinstance(code, int) else 0)


def _patch_usage() -> None:
    write_usage = HelpFormatter.write_usage
    if getattr(write_usage, "chinese", False):
        return

    def chinese_usage(self: HelpFormatter, prog: str, args: str = "", prefix: str | None = None) -> None:
        write_usage(self, prog, args, USAGE_PREFIX if prefix is None else prefix)

    chinese_usage.chinese = True  # type: ignore[attr-defined]
    HelpFormatter.write_usage = chinese_usage  # type: ignore[method-assign]


def _patch_help_panels() -> None:
    from typer import rich_utils

    if getattr(rich_utils._get_parameter_help, "chinese", False):
        return
    for name, text in FRAMEWORK_TEXTS.items():
        setattr(rich_utils, name, text)
    # A Chinese sentence has no spaces to wrap at: rich's tables cut it with "…" unless the
    # text folds. typer also sets a parameter's help beside its [默认]/[必填] in Columns,
    # which cut it too; stacked in a Group, every part wraps.
    parameter_help, command_help = rich_utils._get_parameter_help, rich_utils._make_command_help

    def stacked_help(**kwargs: Any) -> Group:
        return Group(*(_folding(part) for part in parameter_help(**kwargs).renderables))

    def folding_command_help(**kwargs: Any) -> Any:
        return _folding(command_help(**kwargs))

    stacked_help.chinese = True  # type: ignore[attr-defined]
    rich_utils._get_parameter_help = stacked_help  # type: ignore[assignment]
    rich_utils._make_command_help = folding_command_help  # type: ignore[assignment]


def _folding(renderable: Any) -> Any:
    if isinstance(renderable, Text):
        renderable.overflow = "fold"
    return renderable


def _translate(command: Any, ctx: Context) -> None:
    command.options_metavar = OPTIONS_PLACEHOLDER
    if hasattr(command, "subcommand_metavar"):
        command.subcommand_metavar = COMMAND_PLACEHOLDER
    helper = command.get_help_option(ctx)
    if helper is not None:
        helper.help = HELP_TEXT
        helper.metavar = ""
    for param in command.params:
        param.metavar = _placeholder(param)
        if param.param_type_name == "argument":  # its placeholder says it; no <list[Path]> beside it
            param.display_type_rich = lambda ctx: None
    if command.help and not command.short_help:
        command.short_help = command.help.split("。")[0].split("\n")[0] + "。"
    subcommands = getattr(command, "commands", None)
    if subcommands:
        ordered = sorted(subcommands, key=lambda name: (COMMAND_ORDER.index(name) if name in COMMAND_ORDER
                                                        else len(COMMAND_ORDER), name))
        command.commands = {name: subcommands[name] for name in ordered}
        for name, sub in command.commands.items():
            _translate(sub, Context(sub, parent=ctx, info_name=name))


def _placeholder(param: Any) -> str:
    if param.param_type_name == "argument":
        return ARGUMENT_NAMES.get(param.name, "值")
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", str)
    element = getattr(annotation, "__args__", (annotation,))[0] if param.multiple else annotation
    name = TYPE_NAMES.get(element, "值")
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None and high is not None:
        return f"{name}（{low}–{high}）"
    if low is not None:
        return f"{name}（≥{low}）"
    return name


def _hint(param: Any) -> str:
    if param is None:
        return ""
    if param.param_type_name == "argument":
        return f"参数 {param.metavar or param.name}"
    return "选项 " + "/".join(param.opts)


def _reason(exc: click_errors.UsageError) -> str:
    if isinstance(exc, click_errors.MissingParameter):
        return f"缺少{_hint(exc.param) or '必填的参数'}。"
    if isinstance(exc, click_errors.BadParameter):
        expected = exc.param.metavar if exc.param is not None and exc.param.metavar else ""
        return f"{_hint(exc.param) or '参数'}的值不对" + (f"，应为{expected}。" if expected else "。")
    if isinstance(exc, click_errors.NoSuchOption):
        guess = f"（是不是 {'、'.join(sorted(exc.possibilities))}？）" if exc.possibilities else ""
        return f"没有选项 {exc.option_name}{guess}。"
    if isinstance(exc, click_errors.BadOptionUsage):
        return f"选项 {exc.option_name} 后面需要一个值。"
    if isinstance(exc, click_errors.BadArgumentUsage):
        return "参数的个数不对。"
    command = exc.ctx.command if exc.ctx else None
    if command is not None and getattr(command, "commands", None):
        return f"没有这个命令。可用的命令：{'、'.join(command.commands)}。"
    return "命令行中有多余的内容。"


def _chinese_usage(text: str) -> str:
    return text.replace("Usage: ", USAGE_PREFIX, 1)


def _print_usage_error(exc: click_errors.UsageError) -> None:
    console = Console(stderr=True)
    if exc.ctx is not None:
        console.print(escape(_chinese_usage(exc.ctx.get_usage())), highlight=False)
        console.print(f"运行 {exc.ctx.command_path} --help 查看帮助。", style="dim", highlight=False)
    console.print(f"[red]错误：[/red]{escape(_reason(exc))}", highlight=False)
