"""Many files in: `tianbao import` and `check` over a batch, each file under the time limit.

`import_many` reads files in worker processes (`stages.pool`), each cut off after
`limits.max_seconds`, and yields outcomes in input order; `read_limited` does the same for
one file (annotate); `import_batch` writes one JSON per accepted report as soon as its turn
comes, then findings.csv/.xlsx, holding a cross-platform lock on the output folder.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from tianbao.errors import UserError
from tianbao.findings import emit
from tianbao.form import Form, resolve_form
from tianbao.io.atomic import write_atomic
from tianbao.io.names import safe_filename
from tianbao.io.roster import Roster
from tianbao.io.tables import csv_text, xlsx_listing
from tianbao.report import Report
from tianbao.stages.intake import ImportOutcome, import_file, import_read
from tianbao.stages.pool import Failed, TimedPool
from tianbao.workbook.limits import DEFAULT_LIMITS, Limits
from tianbao.workbook.read import ReadOptions, ReadResult

FINDINGS_CSV = "findings.csv"
FINDINGS_XLSX = "findings.xlsx"
# Held while an import writes into a folder: a second import into it waits its turn.
LOCK_FILE = ".tianbao-import.lock"
# What write_atomic leaves behind when a process is killed mid-write.
_LEFTOVER = re.compile(r"^\..+\.(json|csv|xlsx)\.[A-Za-z0-9_]+\.tmp$")


@dataclass
class BatchResult:
    outcomes: list[ImportOutcome]
    written: dict[Path, Path] = field(default_factory=dict)  # source -> JSON

    @property
    def accepted(self) -> list[ImportOutcome]:
        return [o for o in self.outcomes if not o.rejected]

    @property
    def rejected(self) -> list[ImportOutcome]:
        return [o for o in self.outcomes if o.rejected]


_WORKER: dict[str, Form] = {}
Imported = tuple[ImportOutcome, str | None]  # an outcome and, when accepted, its report JSON


def _worker_form(source: str) -> Form:
    """The form in a pool process: inherited when forked, loaded once when spawned."""
    form = _WORKER.get(source)
    if form is None:
        form = _WORKER[source] = resolve_form(source)
    return form


def _import_one(path: Path, form: Form, options: dict[str, object]) -> Imported:
    outcome = import_file(path, form, **options)  # type: ignore[arg-type]
    return outcome, (outcome.report.to_json() if outcome.report is not None and not outcome.rejected else None)


def _worker_import(source: str, options: dict[str, object], path: Path) -> Imported:
    """One file in a pool process; the JSON is rendered there too, in parallel."""
    return _import_one(path, _worker_form(source), options)


def import_many(
    paths: list[Path], form: Form, *, roster: Roster | None = None, year: int | None = None, strict: bool = False,
    convert: bool = False, jobs: int = 1, limits: Limits = DEFAULT_LIMITS,
) -> Iterator[Imported]:
    """(outcome, report JSON or None) for every file, in input order.

    Each file is read in a worker process and cut off after `limits.max_seconds` (a file
    that hangs or exhausts its worker is reported and the batch goes on); with max_seconds
    0 the files are read in this process, one after another."""
    options = {"roster": roster, "year": year, "strict": strict, "convert": convert, "limits": limits}
    if limits.max_seconds <= 0:
        for path in paths:
            yield _import_one(path, form, options)
        return
    _WORKER[form.source] = form  # forked workers inherit the loaded form
    pool = TimedPool(partial(_worker_import, form.source, options), jobs, limits.max_seconds)
    done: dict[Path, Imported] = {}
    following = 0
    for path, result in pool.run(list(dict.fromkeys(paths))):
        done[path] = (_failed(path, result, limits), None) if isinstance(result, Failed) else result
        while following < len(paths) and paths[following] in done:
            yield done[paths[following]]
            following += 1


def _worker_read(source: str, options: ReadOptions, convert: bool, limits: Limits,
                 path: Path) -> tuple[ImportOutcome, ReadResult | None]:
    return import_read(path, _worker_form(source), options, convert, limits)


def read_limited(path: Path, form: Form, options: ReadOptions, convert: bool,
                 limits: Limits) -> tuple[ImportOutcome, ReadResult | None]:
    """`import_read` of one file in a worker process, under the same limits as a batch."""
    if limits.max_seconds <= 0:
        return import_read(path, form, options, convert, limits)
    _WORKER[form.source] = form
    pool = TimedPool(partial(_worker_read, form.source, options, convert, limits), 1, limits.max_seconds)
    [(_path, result)] = list(pool.run([path]))  # one item in, one result out
    return (_failed(path, result, limits), None) if isinstance(result, Failed) else result


def _failed(path: Path, failure: Failed, limits: Limits) -> ImportOutcome:
    if failure.reason == "timeout":
        seconds = f"{limits.max_seconds:g}"
        finding = emit("file.timeout", expected=f"不超过 {seconds} 秒（max_seconds）", found=f"超过 {seconds} 秒",
                       seconds=seconds)
    else:
        finding = emit("file.unreadable", "worker")
    try:
        sha = hashlib.sha256(path.read_bytes()).hexdigest() if path.stat().st_size <= limits.max_file_bytes else ""
    except OSError:
        sha = ""
    return ImportOutcome(path, None, [finding], sha)


def import_batch(
    paths: list[Path], form: Form, outdir: Path, *, roster: Roster | None = None, year: int | None = None,
    strict: bool = False, convert: bool = False, jobs: int = 1, limits: Limits = DEFAULT_LIMITS,
    on_done: Callable[[ImportOutcome], None] | None = None, on_wait: Callable[[], None] | None = None,
) -> BatchResult:
    """Import every file; write one JSON per accepted report plus findings.csv/.xlsx.

    Safe to kill and run again: each JSON is written atomically as soon as its file and every
    file before it are read (so duplicates and names are decided in input order, as in an
    uninterrupted run), and findings.csv/.xlsx are written last. Imports into the same
    folder take turns: `on_wait` is called when another one holds the folder."""
    paths = list(dict.fromkeys(paths))
    try:
        return _import_batch(paths, form, outdir, roster, year, strict, convert, jobs, limits, on_done, on_wait)
    except OSError as exc:  # reading inputs never raises: this is the output folder
        raise UserError(f"无法写入输出文件夹 {outdir}（{exc.strerror or exc}）") from exc


def _import_batch(
    paths: list[Path], form: Form, outdir: Path, roster: Roster | None, year: int | None, strict: bool,
    convert: bool, jobs: int, limits: Limits, on_done: Callable[[ImportOutcome], None] | None,
    on_wait: Callable[[], None] | None,
) -> BatchResult:
    outdir.mkdir(parents=True, exist_ok=True)
    result = BatchResult([])
    with _folder_lock(outdir, on_wait), ThreadPoolExecutor(max_workers=8) as writers:
        _remove_leftovers(outdir)
        first: dict[tuple[str, int], ImportOutcome] = {}
        used: set[str] = set()
        writes = []
        for outcome, text in import_many(paths, form, roster=roster, year=year, strict=strict, convert=convert,
                                         jobs=jobs, limits=limits):
            result.outcomes.append(outcome)
            _reject_duplicate(outcome, first)
            if not outcome.rejected and outcome.report is not None:
                target = outdir / _unique(report_filename(outcome.report, outcome.source), used)
                result.written[outcome.source] = target
                # write_atomic fsyncs each file; threads let those waits overlap.
                writes.append(writers.submit(write_atomic, target, text or outcome.report.to_json()))
            if on_done:
                on_done(outcome)
        for write in writes:
            write.result()
        write_atomic(outdir / FINDINGS_CSV, findings_csv(result))
        write_atomic(outdir / FINDINGS_XLSX, findings_xlsx(result))
    return result


@contextmanager
def _folder_lock(folder: Path, on_wait: Callable[[], None] | None) -> Iterator[None]:
    """An exclusive lock on `folder` for one import; released by the OS if the process dies."""
    path = folder / LOCK_FILE
    while True:
        handle = path.open("a+b")
        if not _lock(handle, wait=False):
            if on_wait:
                on_wait()
                on_wait = None
            _lock(handle, wait=True)
        try:  # the holder before us may have removed the file: then lock the new one
            if os.path.samestat(os.fstat(handle.fileno()), os.stat(path)):
                break
        except FileNotFoundError:
            pass
        handle.close()
    try:
        yield
    finally:
        if os.name != "nt":  # an open file cannot be removed on Windows; it stays, harmless
            path.unlink(missing_ok=True)
        handle.close()


def _lock(handle: io.BufferedRandom, wait: bool) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        while True:
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
                return True
            except OSError:
                if not wait:
                    return False
                time.sleep(0.2)
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        return True
    except BlockingIOError:
        return False


def _remove_leftovers(folder: Path) -> None:
    """Temp files of an import that was killed mid-write (only while holding the lock)."""
    for path in folder.iterdir():
        if _LEFTOVER.match(path.name) and path.is_file():
            path.unlink(missing_ok=True)


def _reject_duplicate(outcome: ImportOutcome, first: dict[tuple[str, int], ImportOutcome]) -> None:
    """Two accepted files for one unit and year would be summed twice: keep the first."""
    report = outcome.report
    if outcome.rejected or report is None:
        return
    key = (report.unit.code or report.unit.name, report.year)
    if key not in first:
        first[key] = outcome
    else:
        finding = emit("identity.duplicate", found=outcome.source.name, expected=first[key].source.name,
                       other=first[key].source.name, unit=report.unit.name, year=report.year)
        outcome.findings.append(finding)  # the report's list is this same list


def report_filename(report: Report, source: Path) -> str:
    parts = [p for p in (report.unit.code, report.unit.name) if p] or [source.stem]
    name = "_".join([*parts, str(report.year)]) if report.year else "_".join(parts)
    return safe_filename(name).strip(" .") + ".json"


def _unique(name: str, used: set[str]) -> str:
    stem, candidate, number = name.removesuffix(".json"), name, 2
    while candidate in used:
        candidate = f"{stem}_{number}.json"
        number += 1
    used.add(candidate)
    return candidate



# ---------------------------------------------------------------------------------------
# Findings files

FINDING_HEADER = ["文件", "导入结果", "严重程度", "规则", "工作表", "单元格", "应为", "实为", "说明"]
FILE_HEADER = ["文件", "导入结果", "单位代码", "单位名称", "年度", "错误数", "警告数", "输出文件", "SHA-256"]


def status(outcome: ImportOutcome) -> str:
    if outcome.rejected:
        return "退回"
    return "接收（有警告）" if outcome.warnings else "接收"


def _finding_rows(result: BatchResult) -> list[list[str]]:
    rows = []
    for outcome in result.outcomes:
        for f in outcome.findings:
            rows.append([outcome.source.name, status(outcome), "错误" if f.is_error else "警告", f.rule,
                         f.sheet or "", f.cell or "", f.expected or "", f.found or "", f.message])
    return rows


def _file_rows(result: BatchResult) -> list[list[str | int]]:
    rows: list[list[str | int]] = []
    for outcome in result.outcomes:
        report = outcome.report
        written = result.written.get(outcome.source)
        rows.append([
            outcome.source.name, status(outcome),
            report.unit.code if report else "", report.unit.name if report else "",
            report.year if report and report.year else "", sum(1 for f in outcome.findings if f.is_error),
            outcome.warnings, written.name if written else "", outcome.sha256,
        ])
    return rows


def findings_csv(result: BatchResult) -> str:
    return csv_text(FINDING_HEADER, _finding_rows(result))  # type: ignore[arg-type]


def findings_xlsx(result: BatchResult) -> bytes:
    return xlsx_listing([
        ("问题清单", FINDING_HEADER, _finding_rows(result), [28, 12, 8, 16, 12, 14, 16, 16, 80]),  # type: ignore[list-item]
        ("文件清单", FILE_HEADER, _file_rows(result), [28, 12, 14, 24, 8, 8, 8, 30, 20]),
    ])
