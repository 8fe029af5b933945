"""The command line speaks Chinese: every command's help and the framework's usage errors
(missing or wrong options, unknown commands) carry no English word a clerk would have to read.
What may stay Latin: option names, commands, file names and formats, and product names."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from clirun import tianbao
from tianbao.cli.app import app
from tianbao.cli.chinese import COMMAND_ORDER

# Names of things, not English prose: formats, products and the tool itself.
PROPER_NOUNS = {"tianbao", "JSON", "Schema", "YAML", "CSV", "XLSX", "xlsx", "LibreOffice", "WPS", "Excel", "HTML",
                "html", "Word", "Markdown", "markdown", "PDF", "pdf", "UTF", "SHA", "txt", "md", "docx", "xls", "et",
                "ods", "MB", "docs", "GB", "HTTPS", "PEM", "http",
                "generic"}  # the built-in rule pack's name, typed as given
WORD = re.compile(r"(?<![-\w./=])([A-Za-z]{2,})(?![\w./=-])")


def english_words(text: str, commands: set[str]) -> list[str]:
    return [w for w in WORD.findall(text) if w not in PROPER_NOUNS and w not in commands]


def listed_commands() -> list[str]:
    text = tianbao("--help").stdout
    return [name for name in re.findall(r"^│ ([a-z]+)\s", text, flags=re.M)]


def subcommands() -> set[str]:
    """The names of commands inside a command group (tianbao portal password …)."""
    group = typer.main.get_command(app)
    return {name for command in group.commands.values()  # type: ignore[attr-defined]
            for name in getattr(command, "commands", {})}


def test_commands_are_listed_in_the_order_a_year_runs() -> None:
    names = listed_commands()
    workflow = [n for n in COMMAND_ORDER if n in names]
    assert names[: len(workflow)] == workflow
    assert names.index("new") < names.index("import") < names.index("merge") < names.index("publish")


@pytest.mark.slow
def test_no_english_in_any_help() -> None:
    commands = listed_commands()
    assert len(commands) >= 10
    names = set(commands) | subcommands()
    group = typer.main.get_command(app)
    nested = [[name, sub] for name, command in group.commands.items()  # type: ignore[attr-defined]
              for sub in getattr(command, "commands", {})]
    for args in ([], *([name] for name in commands), *nested):
        shown = tianbao(*args, "--help")
        assert shown.exit_code == 0, shown.output
        assert english_words(shown.stdout, names) == [], (args, english_words(shown.stdout, names))
        assert not re.search(r"<[a-z]", shown.stdout), shown.stdout  # typer's <path>, <bool>…


@pytest.mark.slow
def test_help_texts_are_shown_whole() -> None:
    """rich cuts a Chinese sentence (no spaces to wrap at) with "…" unless told to fold it."""
    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        shown = re.sub(r"[\s│]", "", tianbao(name, "--help", env={"COLUMNS": "80"}).stdout)
        for param in command.params:
            if getattr(param, "help", None):
                assert re.sub(r"\s", "", param.help) in shown, (name, param.help)


@pytest.mark.parametrize(("args", "said"), [
    (["publish"], "缺少参数"),
    (["new", "--year", "1800"], "选项 --year的值不对，应为整数（2000–2100）"),
    (["new", "--colour", "red"], "没有选项 --colour"),
    (["import", "x.xlsx", "-o"], "选项 -o 后面需要一个值"),
    (["nonsense"], "没有这个命令"),
])
def test_usage_errors_are_told_in_chinese(args: list[str], said: str) -> None:
    done = tianbao(*args)
    assert done.exit_code == 2 and said in done.stderr, done.stderr
    assert english_words(done.stderr, set(listed_commands()) | {"colour", "red", "nonsense", "x"}) == [], done.stderr


# Names a message quotes as the clerk sees them: file formats ("Strict Open XML" as Excel's
# save dialog names it), products, and a command line to type (pip install, pdftotext).
NAMES_IN_MESSAGES = {"OpenDocument", "Office", "Numbers", "XML", "Strict", "Open", "pip", "install", "poppler",
                     "pdftotext"}


def _prose(template: str) -> str:
    """A message template without its placeholders ({unit_name}, {found}): those are filled
    with names and values, not English."""
    return re.sub(r"\{[^{}]*\}", "", template)


def test_no_english_in_any_catalogue_message() -> None:
    """Every text a finding shows (the tool's checks, the built-in forms' rules, the
    precheck's checks): name, description and each variant's message."""
    from tianbao.findings import CATALOGUE, form_checks, precheck_checks
    from tianbao.form import builtin_form_paths, resolve_form

    texts = [text for check in CATALOGUE
             for text in (check.name, check.description, *(check.message(v).template for v in check.messages))]
    texts += [item.message for name in builtin_form_paths() for item in form_checks(resolve_form(name))]
    texts += [item.message for item in precheck_checks()]
    assert len(texts) > 100
    found = {text: english_words(_prose(text), NAMES_IN_MESSAGES | set(COMMAND_ORDER)) for text in texts}
    assert {text: words for text, words in found.items() if words} == {}


def test_the_boilerplate_learner_speaks_chinese(tmp_path: Path) -> None:
    """The maintainer's learner (python -m tianbao.stages.precheck.learn) is argparse, whose
    headings and errors are English unless translated; a bad hints file is a message, not a
    traceback."""
    learner = [sys.executable, "-m", "tianbao.stages.precheck.learn"]
    shown = subprocess.run([*learner, "-h"], capture_output=True, text=True, encoding="utf-8", check=False)
    assert shown.returncode == 0
    prose = shown.stdout.replace("python -m tianbao.stages.precheck.learn", "")
    assert english_words(prose, {"min", "share", "documents", "hints", "output", "help", "templates", "precheck",
                                 "boilerplate_learned", "tests", "corpus", "expected"}) == [], prose
    wrong = subprocess.run([*learner, "--bogus"], capture_output=True, text=True, encoding="utf-8", check=False)
    assert (wrong.returncode, wrong.stderr) == (2, "错误：命令行参数不对，请用 -h 查看用法。\n")
    missing = subprocess.run([*learner, str(tmp_path), "--hints", str(tmp_path / "无.yaml")],
                             capture_output=True, text=True, encoding="utf-8", check=False)
    assert (missing.returncode, missing.stderr) == (2, "错误：无法读取提示文件 无.yaml：文件不存在或无法打开\n")
