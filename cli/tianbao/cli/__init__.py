"""The `tianbao` command (typer app and console rendering); `tianbao.cli:entry` is the program."""

from tianbao.cli.app import app, entry

__all__ = ["app", "entry"]
