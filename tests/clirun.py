"""Run the command line as a clerk does: a separate `python -m tianbao` process.

Nothing here depends on PATH, an activated environment or the current folder: the CLI is
started with the interpreter that runs the tests. The child's output is read as UTF-8
(PYTHONIOENCODING), so a test sees exactly what a clerk's terminal would show; the GBK
console is tested on its own (tests/test_cli_console.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Only so that a hang fails the test instead of blocking CI; never a speed check.
HANG_GUARD = 600.0


@dataclass(frozen=True)
class Ran:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def command(*args: str | Path | int) -> list[str]:
    return [sys.executable, "-m", "tianbao", *map(str, args)]


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "200", **(extra or {})}
    env.pop("PYTHONUTF8", None)
    return env


def tianbao(*args: str | Path | int, env: dict[str, str] | None = None, cwd: Path | None = None,
            stdin: str | None = None) -> Ran:
    """Run `python -m tianbao ARGS` to completion; a traceback is never an acceptable answer."""
    done = subprocess.run(command(*args), capture_output=True, env=child_env(env), cwd=cwd, input=stdin,
                          text=True, encoding="utf-8", errors="replace", timeout=HANG_GUARD, check=False)
    ran = Ran(done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in ran.output, ran.output
    return ran


def start(*args: str | Path) -> subprocess.Popen[str]:
    """`python -m tianbao ARGS` in the background (for kill and concurrency tests)."""
    return subprocess.Popen(command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8", errors="replace", env=child_env())
