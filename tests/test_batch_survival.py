"""Batches that survive: `tianbao import` killed with SIGKILL mid-batch leaves only complete
JSON files, and the same command run again gives exactly the result of an uninterrupted run;
two imports into one folder at the same time do not corrupt each other (they take turns)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import openpyxl
import pytest

from clirun import start, tianbao
from corpus import stray_rows
from test_reader import render, sample_report
from tianbao.form import Form
from tianbao.report import Report
from tianbao.stages.batch import FINDINGS_CSV, FINDINGS_XLSX, LOCK_FILE

FILES = 60
HANG_GUARD = 120.0  # seconds for a whole batch; only so that a hang fails instead of blocking CI


def build_inbox(folder: Path, form: Form, prefix: str, count: int, slow_every: int = 0) -> list[Path]:
    """`count` workbooks of distinct units, a few rejected; every `slow_every`-th carries 100,000
    empty rows so that reading it takes a moment (a batch long enough to be killed halfway)."""
    folder.mkdir(parents=True)
    count_sheet = next(c.sheet for c in form.input_cells if c.section == "t3")
    made = []
    for index in range(count):
        report = sample_report(form, code=f"{prefix}{index:03d}", name=f"测试单位{prefix}{index}")
        data = render(form, report)
        if index % 7 == 3:
            data = data[: len(data) // 2]  # a truncated file: one listed rejection
        elif slow_every and index % slow_every == 0:
            data = stray_rows(data, count_sheet, 100_000, filled=False)
        path = folder / f"{prefix}{index:03d}.xlsx"
        path.write_bytes(data)
        made.append(path)
    return made


def tianbao_import(inbox: Path, out: Path) -> subprocess.Popen[str]:
    return start("import", inbox, "-o", out, "--jobs", "2")


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    stdout, stderr = process.communicate(timeout=HANG_GUARD)
    assert "Traceback" not in stdout + stderr, stderr
    return process.returncode, stdout + stderr


def reports(out: Path) -> dict[str, dict]:
    """Every *.json in the folder, parsed and validated, without the import time."""
    found = {}
    for path in sorted(out.glob("*.json")):
        text = path.read_text(encoding="utf-8")
        Report.model_validate_json(text)
        data = json.loads(text)
        data["provenance"].pop("imported_at")
        found[path.name] = data
    return found


def assert_workers_exit(marker: str) -> None:
    """Worker processes of a killed import notice their parent is gone and exit (Linux: /proc)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        alive = []
        for entry in proc.iterdir():
            try:
                if entry.name.isdigit() and marker in (entry / "cmdline").read_bytes().decode("utf-8", "replace"):
                    alive.append(entry.name)
            except OSError:
                continue
        if not alive:
            return
        time.sleep(0.2)
    raise AssertionError(f"orphaned workers still running: {alive}")


def findings_rows(out: Path) -> list[str]:
    return (out / FINDINGS_CSV).read_text(encoding="utf-8-sig").splitlines()


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory, form: Form) -> Path:
    folder = tmp_path_factory.mktemp("survival") / "inbox"
    build_inbox(folder, form, "K", FILES, slow_every=4)
    return folder


@pytest.fixture(scope="module")
def reference(inbox: Path) -> tuple[Path, int]:
    out = inbox.parent / "reference"
    code, _output = finish(tianbao_import(inbox, out))
    return out, code


@pytest.mark.slow
def test_killed_batch_leaves_complete_json_and_a_rerun_matches_an_uninterrupted_run(
    inbox: Path, reference: tuple[Path, int], tmp_path: Path
) -> None:
    expected_out, expected_code = reference
    expected = reports(expected_out)
    assert expected_code == 1 and 40 < len(expected) < FILES  # the truncated files are rejected

    out = tmp_path / "out"
    process = tianbao_import(inbox, out)
    deadline = time.monotonic() + HANG_GUARD
    while len(list(out.glob("*.json"))) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=HANG_GUARD)
    assert process.returncode == -signal.SIGKILL

    assert_workers_exit(str(out))
    partial = reports(out)  # every JSON present parses: none is half-written
    assert 3 <= len(partial) < len(expected), "the batch was not interrupted halfway"
    assert all(partial[name] == expected[name] for name in partial)
    assert not (out / FINDINGS_CSV).exists()  # written last, so not yet
    # A temp file as a write cut short by the kill leaves it: never taken for a result.
    leftover = out / f".{next(iter(partial))}.k1ll3d.tmp"
    leftover.write_text('{"form_id": "nat', encoding="utf-8")

    code, output = finish(tianbao_import(inbox, out))
    assert code == expected_code, output
    assert reports(out) == expected
    assert findings_rows(out) == findings_rows(expected_out)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in expected_out.iterdir())
    assert not leftover.exists() and not (out / LOCK_FILE).exists()


@pytest.mark.slow
def test_two_imports_into_one_folder_take_turns(tmp_path: Path, form: Form) -> None:
    first = tmp_path / "a"
    second = tmp_path / "b"
    build_inbox(first, form, "A", 30, slow_every=5)
    build_inbox(second, form, "B", 30, slow_every=5)
    out = tmp_path / "out"
    running = [tianbao_import(first, out), tianbao_import(second, out)]
    results = [finish(process) for process in running]
    assert [code for code, _output in results] == [1, 1]
    assert any("另一个导入正在写入" in output for _code, output in results)  # one waited for the other

    written = reports(out)  # both batches' reports, each complete
    for prefix in "AB":
        alone = tmp_path / f"alone-{prefix}"
        finish(tianbao_import(first if prefix == "A" else second, alone))
        mine = reports(alone)
        assert mine and all(written[name] == report for name, report in mine.items())
    assert len(written) == len(reports(tmp_path / "alone-A")) + len(reports(tmp_path / "alone-B"))
    # The findings files are those of the import that finished last: one whole batch, not a mix.
    rows = findings_rows(out)
    assert rows in (findings_rows(tmp_path / "alone-A"), findings_rows(tmp_path / "alone-B"))
    book = openpyxl.load_workbook(out / FINDINGS_XLSX, read_only=True)
    listed = {row[0] for row in book["文件清单"].iter_rows(min_row=2, values_only=True)}
    assert {name[0] for name in listed} in ({"A"}, {"B"})
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


def test_an_output_folder_that_cannot_be_written_is_a_one_line_error(tmp_path: Path, form: Form) -> None:
    [workbook] = build_inbox(tmp_path / "in", form, "W", 1)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    done = tianbao("import", workbook, "-o", blocker / "out")
    assert done.exit_code == 2 and "无法写入输出文件夹" in done.stderr
