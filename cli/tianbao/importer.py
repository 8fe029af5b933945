"""Batch import of returned workbooks: one JSON per accepted file, findings for all.

`import_file` is the unit of work (it never raises for a bad file: every failure becomes a
finding), `import_batch` runs it over many files (optionally in a process pool) and writes
the outputs, `annotate` builds the workbook sent back to a department for correction.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

from rich.console import Group
from rich.table import Table
from rich.text import Text
from xlsxwriter.worksheet import Worksheet

from tianbao import __version__
from tianbao.cells import Cell, quote_sheet
from tianbao.docreader import apply_roster, read_document_bytes, sniff_document
from tianbao.errors import UserError
from tianbao.formdef import Form, resolve_form
from tianbao.model import Finding, Provenance, Report, write_atomic
from tianbao.office import OfficeError, convert
from tianbao.pool import Failed, TimedPool
from tianbao.reader import ANNOTATION_SHEET, ReadOptions, ReadResult, _identity_findings, error, read_workbook, warning
from tianbao.roster import Roster
from tianbao.writer import Annotation, FormWorkbook, WriteOptions, identity_locks
from tianbao.xlsx import DEFAULT_LIMITS, LimitExceeded, Limits, XlsxError, XlsxPackage, file_too_large, sniff

FINDINGS_CSV = "findings.csv"
FINDINGS_XLSX = "findings.xlsx"
# Held while an import writes into a folder: a second import into it waits its turn.
LOCK_FILE = ".tianbao-import.lock"
# What write_atomic leaves behind when a process is killed mid-write.
_LEFTOVER = re.compile(r"^\..+\.(json|csv|xlsx)\.[A-Za-z0-9_]+\.tmp$")
_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')

# What each non-workbook kind of file is, and what the clerk should do about it.
REJECTIONS = {
    "empty": "文件是空的。请打开填好的工作簿重新保存，再报送。",
    "truncated": "文件已损坏或不完整（可能下载或复制时中断）。请重新保存后再报送。",
    "xls": "这是旧版 Excel（.xls）或 WPS 表格（.et）格式的文件。"
    "请在 Excel 或 WPS 中“另存为”Excel 工作簿（*.xlsx）后再报送。",
    "ods": "这是 OpenDocument 表格（.ods）文件。请“另存为”Excel 工作簿（*.xlsx）后再报送。",
    "encrypted": "文件设置了打开密码，请取消密码后重新保存，再报送。",
    "docx": "这是 Word 文档，不是填报工作簿。请报送填好的 .xlsx 填报工作簿。",
    "doc": "这是 Word 文档，不是填报工作簿。请报送填好的 .xlsx 填报工作簿。",
    "odt": "这是文字处理文档，不是填报工作簿。请报送填好的 .xlsx 填报工作簿。",
    "pptx": "这是演示文稿，不是填报工作簿。请报送填好的 .xlsx 填报工作簿。",
    "ole2": "这是旧版 Office 格式的文件，不是 .xlsx 工作簿。请“另存为”Excel 工作簿（*.xlsx）后再报送。",
    "pdf": "这是 PDF 文件，不是填报工作簿。PDF 无法导入，请报送填好的 .xlsx 填报工作簿。",
    "html": "这是网页（HTML）文件，不是填报工作簿。请报送填好的 .xlsx 填报工作簿。",
    "text": "这是文本文件，不是填报工作簿。请报送填好的 .xlsx 填报工作簿。",
    "zip": "这是压缩包，不是填报工作簿。请解压后分别报送其中的 .xlsx 工作簿。",
    "oversized": "文件结构异常（包含的部件数量远超正常工作簿，疑似恶意文件），已拒绝读取。请重新保存工作簿后再报送。",
    "unknown": "无法识别的文件格式，不是 .xlsx 工作簿。请报送填好的 .xlsx 填报工作簿。",
}
CONVERTIBLE = ("xls", "ods")
# May be a published report, which tianbao.docreader reads ("unknown": GB18030 text, or UTF-8
# whose first 4 KB end inside a character).
DOCUMENT_KINDS = ("docx", "html", "text", "unknown")


@dataclass
class ImportOutcome:
    source: Path
    report: Report | None
    findings: list[Finding]
    sha256: str

    @property
    def rejected(self) -> bool:
        return self.report is None or any(f.is_error for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if not f.is_error)


class Rejected(Exception):
    """A file that is not a readable .xlsx workbook; the message is for the clerk."""


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def workbook_bytes(data: bytes, name: str, convert_other: bool, kind: str | None = None) -> tuple[bytes, list[Finding]]:
    """The .xlsx bytes to read from a submitted file, by content; Rejected otherwise.

    Together with `_read` the single place that decides what a submitted file is."""
    kind = kind or sniff(data)
    if kind == "xlsx":
        return data, []
    if kind in CONVERTIBLE and convert_other:
        converted = _convert_to_xlsx(data, name, kind)
        what = REJECTIONS[kind].split("。")[0].removeprefix("这是")
        note = warning("file.converted", f"文件不是 .xlsx 格式（{what}），已用 LibreOffice 转换后导入。"
                       "请提醒报送单位以后直接报送 .xlsx 文件。")
        return converted, [note]
    raise Rejected(REJECTIONS[kind])


def _convert_to_xlsx(data: bytes, name: str, kind: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="tianbao-convert-") as folder:
        source = Path(folder) / f"input.{kind}"
        source.write_bytes(data)
        try:
            target = convert(source, "xlsx", Path(folder) / "out")
        except OfficeError as exc:
            raise Rejected(f"{REJECTIONS[kind]}（自动转换失败：{exc}）") from exc
        return target.read_bytes()


def import_file(
    path: Path, form: Form, *, roster: Roster | None = None, year: int | None = None, strict: bool = False,
    convert: bool = False, limits: Limits = DEFAULT_LIMITS,
) -> ImportOutcome:
    """Read one submitted file into a report with findings; never raises for a bad file."""
    return _import(path, form, ReadOptions(roster, year, strict), convert, limits)[0]


def _import(path: Path, form: Form, options: ReadOptions, convert_other: bool,
            limits: Limits) -> tuple[ImportOutcome, ReadResult | None]:
    sha = ""
    try:
        if path.stat().st_size > limits.max_file_bytes:
            raise file_too_large(path.stat().st_size, limits)
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        result, notes = _read(data, path.name, form, options, convert_other, limits)
    except LimitExceeded as exc:
        finding = error("file.unreadable", str(exc), exc.sheet, exc.cell, exc.expected, exc.found)
        return ImportOutcome(path, None, [finding], sha), None
    except (Rejected, XlsxError) as exc:
        return ImportOutcome(path, None, [error("file.unreadable", str(exc))], sha), None
    except OSError as exc:
        message = f"文件无法读取（{exc.strerror or exc}）。"
        return ImportOutcome(path, None, [error("file.unreadable", message)], sha), None
    except Exception as exc:  # a hostile or broken file must never stop the batch
        message = f"文件无法读取（{type(exc).__name__}），可能已损坏。请重新保存后再报送。"
        return ImportOutcome(path, None, [error("file.unreadable", message)], sha), None
    findings = notes + result.findings
    report = result.report
    if report is not None:
        report.findings = findings  # one list for outcome and report: a finding added later reaches both
        report.provenance = Provenance(
            source_kind=result.meta.get("source_kind", "workbook"),  # type: ignore[arg-type]
            source_file=path.name, sha256=sha, generated_at=result.meta.get("generated_at"),
            imported_at=_now(), tool_version=__version__,
        )
    return ImportOutcome(path, report, findings, sha), result


def _read(data: bytes, name: str, form: Form, options: ReadOptions, convert_other: bool,
          limits: Limits) -> tuple[ReadResult, list[Finding]]:
    kind = sniff(data)
    if kind in DOCUMENT_KINDS and sniff_document(data):
        return _read_document(data, name, form, options, kind), []
    xlsx, notes = workbook_bytes(data, name, convert_other, kind)
    return read_workbook(XlsxPackage(xlsx, limits), form, options, name), notes


def _read_document(data: bytes, name: str, form: Form, options: ReadOptions, kind: str) -> ReadResult:
    """A published report (.txt/.html/.docx, see docreader), then a workbook's identity checks."""
    report, findings = read_document_bytes(data, name, form)
    if report is None:
        raise Rejected(f"{REJECTIONS[kind]}它也不能作为已发布的年报读取：{findings[0].message}")
    if options.roster is not None:
        findings += apply_roster(form, report, options.roster)
    identity = _identity_findings(form, report, options)
    return ReadResult(report, identity + findings, meta={"source_kind": "document"})


# ---------------------------------------------------------------------------------------
# Batches


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


_JUNK = {"thumbs.db", "desktop.ini"}


def collect_inputs(paths: Iterable[Path], outdir: Path | None = None) -> list[Path]:
    """Files named and files inside folders (recursively), skipping Office lock files, hidden
    files, the junk operating systems leave in folders, and our own outputs."""
    found: list[Path] = []
    skip = outdir.resolve() if outdir else None
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if not child.is_file() or child.name.startswith(("~$", ".")) or child.name.lower() in _JUNK:
                    continue
                if any(part.startswith(".") or part == "__MACOSX" for part in child.relative_to(path).parts[:-1]):
                    continue
                if skip is not None and skip in child.resolve().parents:
                    continue
                found.append(child)
        elif path.is_file():
            found.append(path)
        else:
            raise UserError(f"找不到文件或文件夹：{path}")
    unique = list(dict.fromkeys(found))
    if not unique:
        raise UserError("没有找到要导入的文件")
    return unique


_WORKER: dict[str, Form] = {}
Imported = tuple[ImportOutcome, str | None]  # an outcome and, when accepted, its report JSON


def _import_one(path: Path, form: Form, options: dict[str, object]) -> Imported:
    outcome = import_file(path, form, **options)  # type: ignore[arg-type]
    return outcome, (outcome.report.to_json() if outcome.report is not None and not outcome.rejected else None)


def _worker_import(source: str, options: dict[str, object], path: Path) -> Imported:
    """One file in a pool process; the JSON is rendered there too, in parallel."""
    form = _WORKER.get(source)
    if form is None:
        form = _WORKER[source] = resolve_form(source)
    return _import_one(path, form, options)


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
        done[path] = _failed(path, result, limits) if isinstance(result, Failed) else result
        while following < len(paths) and paths[following] in done:
            yield done[paths[following]]
            following += 1


def _failed(path: Path, failure: Failed, limits: Limits) -> Imported:
    if failure.reason == "timeout":
        seconds = f"{limits.max_seconds:g}"
        finding = error("file.timeout", f"读取该文件超过 {seconds} 秒仍未完成，已中止（文件结构异常复杂或已损坏）。"
                        "请重新保存后再报送。", expected=f"不超过 {seconds} 秒（max_seconds）",
                        found=f"超过 {seconds} 秒")
    else:
        finding = error("file.unreadable",
                        "读取该文件时处理进程意外退出（可能占用内存过多），已中止。请重新保存后再报送。")
    try:
        sha = hashlib.sha256(path.read_bytes()).hexdigest() if path.stat().st_size <= limits.max_file_bytes else ""
    except OSError:
        sha = ""
    return ImportOutcome(path, None, [finding], sha), None


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
        finding = error("identity.duplicate", f"本批文件中 {first[key].source.name} 也是“{report.unit.name}”"
                        f"{report.year} 年度的报告，同一单位只能导入一份。请确认哪一份是最终版本，只保留那一份再导入。",
                        found=outcome.source.name, expected=first[key].source.name)
        outcome.findings.append(finding)  # the report's list is this same list


def report_filename(report: Report, source: Path) -> str:
    parts = [p for p in (report.unit.code, report.unit.name) if p] or [source.stem]
    name = "_".join([*parts, str(report.year)]) if report.year else "_".join(parts)
    return _UNSAFE_FILENAME.sub("_", name).strip(" .") + ".json"


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


def _csv_safe(value: str) -> str:
    """Spreadsheet programs run cells starting with = + - @ as formulas: neutralise them."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def findings_csv(result: BatchResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FINDING_HEADER)
    for row in _finding_rows(result):
        writer.writerow([_csv_safe(cell) for cell in row])
    # utf-8 with BOM: Excel and WPS open it without mangling the Chinese.
    return "\ufeff" + out.getvalue()


def findings_xlsx(result: BatchResult) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    for title, header, rows, widths in (
        ("问题清单", FINDING_HEADER, _finding_rows(result), [28, 12, 8, 16, 12, 14, 16, 16, 80]),
        ("文件清单", FILE_HEADER, _file_rows(result), [28, 12, 14, 24, 8, 8, 8, 30, 20]),
    ):
        sheet = book.add_worksheet(title)
        for col, width in enumerate(widths):
            sheet.set_column(col, col, width, wrap if width >= 80 else None)
        sheet.write_row(0, 0, header, head)
        for index, row in enumerate(rows, start=1):
            sheet.write_row(index, 0, row)
        sheet.autofilter(0, 0, max(len(rows), 1), len(header) - 1)
        sheet.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------
# The workbook sent back for correction


def finding_cells(finding: Finding) -> list[tuple[str, str]]:
    """(sheet, A1) of every cell a finding names ("D6,D7,表二!B5" style lists)."""
    if not finding.cell or not finding.sheet:
        return []
    cells = []
    for part in finding.cell.split(","):
        sheet, _, a1 = part.rpartition("!")
        a1 = a1.split(":")[0].strip()
        try:
            Cell.parse(a1)
        except ValueError:
            continue
        cells.append((sheet.strip("'") or finding.sheet, a1))
    return cells


def annotate(path: Path, form: Form, output: Path, *, roster: Roster | None = None, year: int | None = None,
             strict: bool = False, convert: bool = False, limits: Limits = DEFAULT_LIMITS) -> ImportOutcome:
    """A fresh workbook with the department's values, every finding as a cell comment, and
    a first sheet listing the findings with links. The department's own file is only read."""
    outcome, read = _import(path, form, ReadOptions(roster, year, strict), convert, limits)
    if outcome.report is None or read is None:
        raise UserError(f"{path.name}：{outcome.findings[0].message}")
    report = outcome.report.model_copy(deep=True)
    report.findings = []
    findings = outcome.findings
    notes = [Annotation(sheet, a1, f"{'错误' if f.is_error else '提示'}：{f.message}")
             for f in findings for sheet, a1 in finding_cells(f) if sheet in form.sheet_names]
    locked = identity_locks(form) if read.meta.get("unit_name") and read.meta.get("year") else set()
    book = FormWorkbook(form, report, WriteOptions(annotations=notes, locked=locked))
    listing = book.add_sheet(ANNOTATION_SHEET, first=True)
    book.write_form()
    _restore_rejected_inputs(book, form, read)
    _annotate_other_cells(book, form, notes)
    _write_listing(book, listing, path.name, findings)
    write_atomic(output, book.finish())
    return outcome


def _restore_rejected_inputs(book: FormWorkbook, form: Form, read: ReadResult) -> None:
    """Show what the clerk typed ("五", "0件") in the cell again, not the 0 we counted."""
    for cell in form.input_cells:
        raw = read.rejected_inputs.get((cell.sheet, cell.a1))
        if raw is not None and cell.sheet in book.sheets:
            book.sheets[cell.sheet].write_string(cell.cell.row, cell.cell.col, raw,
                                                 book.formats.input_style(cell.type, False))


def _annotate_other_cells(book: FormWorkbook, form: Form, notes: list[Annotation]) -> None:
    """The writer comments input cells; totals, labels and stray cells get theirs here."""
    inputs = {(c.sheet, c.a1) for c in form.input_cells}
    merged: dict[tuple[str, str], list[str]] = {}
    for note in notes:
        if (note.sheet, note.cell) not in inputs:
            merged.setdefault((note.sheet, note.cell), []).append(note.message)
    for (sheet, a1), messages in merged.items():
        cell = Cell.parse(a1)
        target = book.sheets[sheet]
        target.write_comment(cell.row, cell.col, "\n".join(messages), {"x_scale": 2.5, "y_scale": 2})
        target.conditional_format(cell.row, cell.col, cell.row, cell.col,
                                  {"type": "no_errors", "format": book.formats.bad})


def _write_listing(book: FormWorkbook, sheet: Worksheet, source: str, findings: list[Finding]) -> None:
    fmt = book.formats
    errors = sum(1 for f in findings if f.is_error)
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, 1, 8)
    sheet.set_column(2, 2, 18)
    sheet.set_column(3, 3, 90, fmt.note)
    sheet.set_column(4, 5, 16)
    sheet.merge_range(0, 0, 0, 5, f"{source}：{errors} 个错误、{len(findings) - errors} 个提示。请按下表逐项修改，"
                      "点击“位置”可跳到对应单元格；修改后在本工作簿中保存并重新报送。", fmt.note)
    sheet.set_row(0, 36)
    sheet.write_row(2, 0, ["序号", "类别", "位置", "说明", "应为", "实为"], fmt.header)
    for index, finding in enumerate(sorted(findings, key=lambda f: not f.is_error), start=1):
        row = index + 2
        sheet.write_number(row, 0, index)
        sheet.write_string(row, 1, "错误" if finding.is_error else "提示")
        cells = [c for c in finding_cells(finding) if c[0] in book.sheets]
        if cells:
            target_sheet, a1 = cells[0]
            sheet.write_url(row, 2, f"internal:{quote_sheet(target_sheet)}!{a1}",
                            string=f"{target_sheet}!{a1}" + ("等" if len(cells) > 1 else ""))
        else:
            sheet.write_string(row, 2, finding.sheet or "（整个文件）")
        sheet.write_string(row, 3, finding.message, fmt.note)
        sheet.write_string(row, 4, finding.expected or "")
        sheet.write_string(row, 5, finding.found or "")
    sheet.freeze_panes(3, 0)


# ---------------------------------------------------------------------------------------
# Console presentation (used by the CLI)


def findings_table(outcomes: list[ImportOutcome]) -> Group:
    """Every finding of every file for the terminal: one titled table per file."""
    tables = []
    for outcome in outcomes:
        verdict = status(outcome)
        colour = "red" if outcome.rejected else ("yellow" if outcome.warnings else "green")
        table = Table(title=f"[bold]{outcome.source.name}[/bold]  [{colour}]{verdict}[/{colour}]",
                      title_justify="left", header_style="bold", expand=True, show_edge=False)
        table.add_column("类别", no_wrap=True)
        table.add_column("位置", style="cyan", no_wrap=True)
        table.add_column("说明", ratio=1, overflow="fold")
        table.add_column("实为", max_width=16, overflow="fold")
        for finding in outcome.findings:
            cells = finding_cells(finding)
            place = f"{cells[0][0]}!{cells[0][1]}" if cells else (finding.sheet or "")
            kind = "[red]错误[/red]" if finding.is_error else "[yellow]警告[/yellow]"
            table.add_row(kind, place, finding.message, finding.found or "")
        clean = Text.from_markup(f"[bold]{outcome.source.name}[/bold]  [green]{verdict}[/green]：没有发现问题")
        tables.append(table if outcome.findings else clean)
    return Group(*tables)


def summary_line(outcomes: list[ImportOutcome]) -> str:
    accepted = [o for o in outcomes if not o.rejected]
    warned = sum(1 for o in accepted if o.warnings)
    rejected = len(outcomes) - len(accepted)
    return f"共 {len(outcomes)} 个文件：接收 {len(accepted)} 个（其中有警告 {warned} 个），退回 {rejected} 个。"


def report_schema() -> str:
    """The JSON Schema of the report JSON (committed as docs/report.schema.json)."""
    return json.dumps(Report.model_json_schema(), ensure_ascii=False, indent=2) + "\n"
