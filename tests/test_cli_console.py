"""The command line on a Chinese Windows console: output encoded as GBK (cp936), which lacks
characters such as ✓ or rare names. Such a character is shown as "?", never a traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

from clirun import HANG_GUARD, child_env, command
from test_reader import render, sample_report
from tianbao.form import Form


def run_gbk(*args: str | Path) -> tuple[int, str, str]:
    done = subprocess.run(command(*args), capture_output=True, env=child_env({"PYTHONIOENCODING": "gbk"}),
                          timeout=HANG_GUARD, check=False)
    # Every byte written must be valid GBK, as the console would show it.
    return done.returncode, done.stdout.decode("gbk"), done.stderr.decode("gbk")


def test_findings_print_on_a_gbk_console(form: Form, tmp_path: Path) -> None:
    report = sample_report(form)
    report.tables["t3"]["new"]["natural_person"] += 1  # breaks R1: findings to print
    path = tmp_path / "报送 ✓𠀀.xlsx"
    path.write_bytes(render(form, report))
    code, stdout, stderr = run_gbk("check", path)
    assert code == 1 and "Traceback" not in stderr, stderr
    assert "报送 ??.xlsx" in stdout and "退回" in stdout


def test_help_and_errors_print_on_a_gbk_console(tmp_path: Path) -> None:
    code, stdout, _ = run_gbk("--help")
    assert code == 0 and "填报" in stdout
    code, _, stderr = run_gbk("check", tmp_path / "没有✓这个文件.xlsx")
    assert code == 2 and "Traceback" not in stderr and "找不到" in stderr
