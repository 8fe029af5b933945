"""Start-up: whole processes, as a clerk runs them (issue goals: `--version` ≤ 0.15 s,
`check one.xlsx` ≤ 0.4 s). Prints measured / goal / ratio, the median of several runs (wall
time, and the CPU time the process used, which a busy shared machine disturbs less), and
the modules that cost most to import (python -X importtime).

Measured as installed: an installed package carries its bytecode, so the runs here may write
__pycache__ (PYTHONDONTWRITEBYTECODE is dropped) and one warm-up run precedes the timed ones;
otherwise every run would compile tianbao's sources again (0.2-0.3 s).

    python benchmarks/bench_startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOALS = {"tianbao --version": 0.15, "tianbao check one.xlsx": 0.4}


def tianbao(*args: str) -> list[str]:
    return [sys.executable, "-m", "tianbao", *args]


# As installed: bytecode is written once and then used (see the module docstring).
AS_INSTALLED = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def median_seconds(command: list[str], repeat: int) -> tuple[float, float]:
    """(wall, CPU) seconds, medians; CPU is user + system of the process and its workers
    (os.times counts children on POSIX only)."""
    subprocess.run(command, capture_output=True, check=False, env=AS_INSTALLED)  # warm-up
    walls, cpus = [], []
    for _ in range(repeat):
        before, started = os.times(), time.perf_counter()
        subprocess.run(command, capture_output=True, check=False, env=AS_INSTALLED)
        walls.append(time.perf_counter() - started)
        after = os.times()
        cpus.append(after.children_user - before.children_user + after.children_system - before.children_system)
    return statistics.median(walls), statistics.median(cpus)


def heaviest_imports(command: list[str], top: int) -> list[tuple[float, str]]:
    """Cumulative import time of each package root (pandas, openpyxl, tianbao.cli…), from
    `python -X importtime`, wherever in the tree it was first imported."""
    done = subprocess.run([command[0], "-X", "importtime", *command[1:]], capture_output=True, text=True, check=False,
                          env=AS_INSTALLED)
    totals: dict[str, float] = {}
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s+(\S+)", line)
        if match and (match.group(2).count(".") == 0 or match.group(2).startswith("tianbao.")):
            totals[match.group(2)] = max(totals.get(match.group(2), 0.0), int(match.group(1)) / 1e6)
    return sorted(((seconds, name) for name, seconds in totals.items()), reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        workbook = Path(folder) / "one.xlsx"
        subprocess.run(tianbao("new", "-o", str(workbook), "--unit", "某局", "--year", "2025"), check=True,
                       capture_output=True)
        commands = {"tianbao --version": tianbao("--version"),
                    "tianbao check one.xlsx": tianbao("check", str(workbook))}
        print(f"{'command':<26}{'measured s':>12}{'goal s':>10}{'ratio':>8}{'CPU s':>8}")
        for name, command in commands.items():
            measured, cpu = median_seconds(command, args.repeat)
            print(f"{name:<26}{measured:>12.3f}{GOALS[name]:>10.2f}{measured / GOALS[name]:>8.2f}{cpu:>8.3f}")
        print("\nheaviest imports of `tianbao check` (cumulative seconds, one run):")
        for seconds, name in heaviest_imports(commands["tianbao check one.xlsx"], 8):
            print(f"  {name:<20}{seconds:>8.3f}")


if __name__ == "__main__":
    main()
