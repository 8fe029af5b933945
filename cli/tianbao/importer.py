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
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path, PurePath
from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from xlsxwriter.worksheet import Worksheet

from tianbao import __version__
from tianbao.cells import Cell, quote_sheet
from tianbao.docreader import Hints, apply_roster, read_document_bytes, sniff_document
from tianbao.errors import UserError
from tianbao.formdef import Form, resolve_form
from tianbao.model import Finding, Provenance, Report, write_atomic
from tianbao.names import shown_name
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
    "xlsb": "这是 Excel 二进制工作簿（.xlsb）文件。请在 Excel 中“另存为”Excel 工作簿（*.xlsx）后再报送。",
    "numbers": "这是苹果 Numbers 表格文件。请在 Numbers 中选择“文件 → 导出为 → Excel”，导出 .xlsx 工作簿后再报送。",
    "xls_encrypted": "这是设置了打开密码的旧版 Excel（.xls）或 WPS 表格（.et）文件，无法读取。"
    "请在 Excel 或 WPS 中输入密码打开，取消密码后“另存为”Excel 工作簿（*.xlsx），再报送。",
    "fods": "这是 OpenDocument 单文件表格（.fods）文件。请“另存为”Excel 工作簿（*.xlsx）后再报送。",
    "csv": "这是 CSV 文件（逗号或制表符分隔的纯文本），只有数字没有表格格式，无法作为填报工作簿导入。"
    "请在下发的 .xlsx 填报工作簿中填写后报送。",
    "report_json": "这是 tianbao 导入后生成的 JSON 文件（某个单位的报告数据），不是报送的工作簿，不需要再导入。"
    "汇总时请用 tianbao merge 读取它所在的文件夹。",
    "lock": "这是 Excel 或 WPS 打开工作簿时生成的临时锁定文件（文件名以 ~$ 开头），不是工作簿本身。"
    "请关闭工作簿后，报送同名但不带 ~$ 的 .xlsx 文件。",
    "oversized": "文件结构异常（包含的部件数量远超正常工作簿，疑似恶意文件），已拒绝读取。请重新保存工作簿后再报送。",
    "unknown": "无法识别的文件格式，不是 .xlsx 工作簿。请报送填好的 .xlsx 填报工作簿。",
}
CONVERTIBLE = ("xls", "ods", "fods")
# May be a published report, which tianbao.docreader reads ("unknown": GB18030 text, or UTF-8
# whose first 4 KB end inside a character).
DOCUMENT_KINDS = ("docx", "html", "text", "csv", "unknown", "pdf")
# Excel and WPS keep "~$<name>" beside an open workbook: a few bytes naming who has it open.
_OWNER_FILE_PREFIX = "~$"


@dataclass
class ImportOutcome:
    source: Path
    report: Report | None
    findings: list[Finding]
    sha256: str
    # How the file is named to the clerk (path relative to the input folder, printable).
    name: str = ""
    saved_at: str | None = None  # when the workbook was last saved, as it states

    def __post_init__(self) -> None:
        self.name = self.name or shown_name(self.source.name)

    @property
    def rejected(self) -> bool:
        if self.report is None:
            return True
        if self.from_document:
            # A published report cannot be sent back: it is kept with its errors (unless another
            # file already gave this unit's report).
            return any(f.rule == "identity.duplicate" and f.is_error for f in self.findings)
        return any(f.is_error for f in self.findings)

    @property
    def from_document(self) -> bool:
        return self.report is not None and self.report.provenance.source_kind == "document"

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
        except OfficeError as exc:  # its message is Chinese and names no temporary file
            raise Rejected(f"{REJECTIONS[kind]}（已尝试用 LibreOffice 自动转换，但{exc}）") from exc
        return target.read_bytes()


def import_file(
    path: Path, form: Form, *, roster: Roster | None = None, year: int | None = None, strict: bool = False,
    convert: bool = False, limits: Limits = DEFAULT_LIMITS, name: str | None = None, unit_name: str | None = None,
) -> ImportOutcome:
    """Read one submitted file into a report with findings; never raises for a bad file.
    `name` is how the file is shown (default: its name); `unit_name` names the unit of a
    published report that states none."""
    return _import(path, form, ReadOptions(roster, year, strict, unit_name), convert, limits, name)[0]


def _import(path: Path, form: Form, options: ReadOptions, convert_other: bool,
            limits: Limits, name: str | None = None) -> tuple[ImportOutcome, ReadResult | None]:
    sha = ""
    name = name or shown_name(path.name)
    try:
        if path.stat().st_size > limits.max_file_bytes:
            raise file_too_large(path.stat().st_size, limits)
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        result, notes = _read(data, name, form, options, convert_other, limits)
    except LimitExceeded as exc:
        finding = error("file.unreadable", str(exc), exc.sheet, exc.cell, exc.expected, exc.found)
        return ImportOutcome(path, None, [finding], sha, name), None
    except (Rejected, XlsxError) as exc:
        return ImportOutcome(path, None, [error("file.unreadable", str(exc))], sha, name), None
    except OSError as exc:
        message = f"文件无法读取（{exc.strerror or exc}）。"
        return ImportOutcome(path, None, [error("file.unreadable", message)], sha, name), None
    except Exception as exc:  # a hostile or broken file must never stop the batch
        message = f"文件无法读取（{type(exc).__name__}），可能已损坏。请重新保存后再报送。"
        return ImportOutcome(path, None, [error("file.unreadable", message)], sha, name), None
    findings = notes + result.findings
    report = result.report
    if report is not None:
        report.findings = findings  # one list for outcome and report: a finding added later reaches both
        report.provenance = Provenance(
            source_kind=result.meta.get("source_kind", "workbook"),  # type: ignore[arg-type]
            source_file=name, sha256=sha, generated_at=result.meta.get("generated_at"),
            imported_at=_now(), tool_version=__version__,
        )
    return ImportOutcome(path, report, findings, sha, name, result.meta.get("saved_at")), result


def _read(data: bytes, name: str, form: Form, options: ReadOptions, convert_other: bool,
          limits: Limits) -> tuple[ReadResult, list[Finding]]:
    kind = sniff(data)
    if PurePath(name).name.startswith(_OWNER_FILE_PREFIX) and kind != "xlsx" and len(data) < 4096:
        raise Rejected(REJECTIONS["lock"])
    if kind in DOCUMENT_KINDS and sniff_document(data):
        return _read_document(data, name, form, options, kind), []
    xlsx, notes = workbook_bytes(data, name, convert_other, kind)
    return read_workbook(XlsxPackage(xlsx, limits), form, options, name), notes


def _read_document(data: bytes, name: str, form: Form, options: ReadOptions, kind: str) -> ReadResult:
    """A published report (.txt/.html/.docx, see docreader), then a workbook's identity checks."""
    report, findings = read_document_bytes(data, name, form, Hints(options.unit_name, options.year))
    if report is None:
        what = "" if kind == "pdf" else REJECTIONS[kind]  # a PDF can only be a published report
        raise Rejected(f"{what}它也不能作为已发布的年报读取：{findings[0].message}" if what else findings[0].message)
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
    # Report JSONs an earlier import left that no longer hold, moved into the history folder.
    set_aside: list[Path] = field(default_factory=list)

    @property
    def accepted(self) -> list[ImportOutcome]:
        return [o for o in self.outcomes if not o.rejected]

    @property
    def rejected(self) -> list[ImportOutcome]:
        return [o for o in self.outcomes if o.rejected]


_JUNK = {"thumbs.db", "desktop.ini"}


def collect_inputs(paths: Iterable[Path], outdir: Path | None = None) -> list[Path]:
    """Files named and files inside folders (recursively), skipping Office lock files, hidden
    files, the junk operating systems leave in folders, and our own outputs: all of an output
    folder inside an input folder, and when the output folder is an input folder (or holds
    one), the JSON, findings files and history it holds."""
    found: list[Path] = []
    out = outdir.resolve() if outdir else None
    for path in paths:
        if path.is_dir():
            inside = out is not None and out != path.resolve() and path.resolve() in out.parents
            for child in sorted(path.rglob("*")):
                if not child.is_file() or child.name.startswith(("~$", ".")) or child.name.lower() in _JUNK:
                    continue
                if any(part.startswith(".") or part == "__MACOSX" for part in child.relative_to(path).parts[:-1]):
                    continue
                if out is not None and ((inside and out in child.resolve().parents) or _is_output(child, out)):
                    continue
                found.append(child)
        elif path.is_file():
            found.append(path)
        else:
            raise UserError(f"找不到文件或文件夹：{shown_name(str(path))}")
    unique = list(dict.fromkeys(found))
    if not unique:
        raise UserError("没有找到要导入的文件")
    return unique


def _is_output(path: Path, outdir: Path) -> bool:
    """A file an import writes into `outdir` (a report JSON, the findings, the history)."""
    resolved = path.resolve()
    if resolved.parent == outdir:
        return resolved.suffix.lower() == ".json" or resolved.name in (FINDINGS_CSV, FINDINGS_XLSX)
    return (outdir / HISTORY_FOLDER) in resolved.parents


_WORKER: dict[str, Form] = {}
Imported = tuple[ImportOutcome, str | None]  # an outcome and, when accepted, its report JSON


def _import_one(item: tuple[Path, str], form: Form, options: dict[str, object]) -> Imported:
    path, name = item
    outcome = import_file(path, form, name=name, **options)  # type: ignore[arg-type]
    return outcome, (outcome.report.to_json() if outcome.report is not None and not outcome.rejected else None)


def _worker_import(source: str, options: dict[str, object], item: tuple[Path, str]) -> Imported:
    """One file in a pool process; the JSON is rendered there too, in parallel."""
    form = _WORKER.get(source)
    if form is None:
        form = _WORKER[source] = resolve_form(source)
    return _import_one(item, form, options)


def import_many(
    paths: list[Path], form: Form, *, roster: Roster | None = None, year: int | None = None, strict: bool = False,
    convert: bool = False, jobs: int = 1, limits: Limits = DEFAULT_LIMITS, names: dict[Path, str] | None = None,
    unit_name: str | None = None,
) -> Iterator[Imported]:
    """(outcome, report JSON or None) for every file, in input order; `names` says how each
    file is shown (default: its name).

    Each file is read in a worker process and cut off after `limits.max_seconds` (a file
    that hangs or exhausts its worker is reported and the batch goes on); with max_seconds
    0 the files are read in this process, one after another."""
    options = {"roster": roster, "year": year, "strict": strict, "convert": convert, "limits": limits,
               "unit_name": unit_name}
    items = [(path, (names or {}).get(path) or shown_name(path.name)) for path in dict.fromkeys(paths)]
    if limits.max_seconds <= 0:
        for item in items:
            yield _import_one(item, form, options)
        return
    _WORKER[form.source] = form  # forked workers inherit the loaded form
    pool = TimedPool(partial(_worker_import, form.source, options), jobs, limits.max_seconds)
    done: dict[tuple[Path, str], Imported] = {}
    following = 0
    for item, result in pool.run(items):
        done[item] = _failed(item, result, limits) if isinstance(result, Failed) else result
        while following < len(items) and items[following] in done:
            yield done.pop(items[following])
            following += 1


def _failed(item: tuple[Path, str], failure: Failed, limits: Limits) -> Imported:
    path, name = item
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
    return ImportOutcome(path, None, [finding], sha, name), None


def import_batch(
    paths: list[Path], form: Form, outdir: Path, *, roster: Roster | None = None, year: int | None = None,
    strict: bool = False, convert: bool = False, jobs: int = 1, limits: Limits = DEFAULT_LIMITS,
    names: dict[Path, str] | None = None, latest: bool = False,
    on_done: Callable[[ImportOutcome], None] | None = None, on_wait: Callable[[], None] | None = None,
    unit_name: str | None = None,
) -> BatchResult:
    """Import every file; write one JSON per accepted report plus findings.csv/.xlsx.

    The folder then holds the latest import of these inputs: a report JSON an earlier import
    left for one of them (the same file, or the same unit) that this import does not write
    again is moved into 历史/<time>/, and so is one this import replaces with another file's.
    Two files for one unit are both refused; with `latest` the one saved last is taken.

    Safe to kill and run again: each JSON is written atomically as soon as its file and every
    file before it are read (so names are decided in input order, as in an uninterrupted
    run); what no longer holds is set aside, and findings.csv/.xlsx written, last. Imports
    into the same folder take turns: `on_wait` is called when another one holds the folder."""
    paths = list(dict.fromkeys(paths))
    try:
        return _Batch(form, outdir, latest).run(
            paths, names or {}, {"roster": roster, "year": year, "strict": strict, "convert": convert, "jobs": jobs,
                                 "limits": limits, "unit_name": unit_name}, on_done, on_wait)
    except OSError as exc:  # reading inputs never raises: this is the output folder
        raise UserError(f"无法写入输出文件夹 {shown_name(str(outdir))}（{exc.strerror or exc}）") from exc


HISTORY_FOLDER = "历史"
UnitKey = tuple[str, int]


def _unit_key(report: Report) -> UnitKey:
    return report.unit.code or report.unit.name, report.year


@dataclass
class _Earlier:
    """A report JSON an earlier import left in the output folder."""

    key: UnitKey
    source_file: str
    sha256: str


def _earlier_report(path: Path) -> _Earlier | None:
    """What a JSON in the output folder says about itself; None when it is not a unit report
    an import wrote (then it is left alone)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        unit, provenance = data["unit"], data["provenance"]
        if data.get("kind") != "unit" or not provenance.get("imported_at"):
            return None
        return _Earlier((unit.get("code") or unit["name"], int(data["year"])), provenance.get("source_file") or "",
                        provenance.get("sha256") or "")
    except (OSError, ValueError, KeyError, TypeError):
        return None


class _Batch:
    """One import into one output folder, holding its lock."""

    def __init__(self, form: Form, outdir: Path, latest: bool) -> None:
        self.form, self.outdir, self.latest = form, outdir, latest
        self.history: Path | None = None
        self.result = BatchResult([])
        self.wrote: set[Path] = set()

    def run(self, paths: list[Path], names: dict[Path, str], options: dict[str, Any],
            on_done: Callable[[ImportOutcome], None] | None, on_wait: Callable[[], None] | None) -> BatchResult:
        self.outdir.mkdir(parents=True, exist_ok=True)
        with _folder_lock(self.outdir, on_wait), ThreadPoolExecutor(max_workers=8) as writers:
            _remove_leftovers(self.outdir)
            self.earlier = {path: found for path in sorted(self.outdir.glob("*.json"))
                            if (found := _earlier_report(path)) is not None}
            chosen: dict[UnitKey, ImportOutcome] = {}  # the file each unit's JSON now holds
            claims: dict[UnitKey, list[ImportOutcome]] = {}
            targets: dict[UnitKey, Path] = {}
            used: set[str] = set()
            pending: dict[Path, Future[None]] = {}
            for outcome, text in import_many(paths, self.form, names=names, **options):
                self.result.outcomes.append(outcome)
                report = outcome.report
                if not outcome.rejected and report is not None:
                    key = _unit_key(report)
                    claims.setdefault(key, []).append(outcome)
                    if key not in targets:
                        targets[key] = self.outdir / _unique(report_filename(report, outcome.name), used)
                    if key not in chosen or (self.latest and _newer(outcome, chosen[key])):
                        chosen[key] = outcome
                        target = targets[key]
                        if target in pending:  # the same file: one write after the other
                            pending[target].result()
                        # write_atomic fsyncs each file; threads let those waits overlap.
                        pending[target] = writers.submit(self._write, target, text or report.to_json(),
                                                         outcome.sha256)
                if on_done:
                    on_done(outcome)
            for write in pending.values():
                write.result()
            for key, group in claims.items():
                kept = _settle_duplicates(group, self.latest)
                if kept is not None:
                    self.result.written[kept.source] = targets[key]
                    if len(group) > 1 and kept.report is not None:  # its JSON now notes the others
                        write_atomic(targets[key], kept.report.to_json())
            self._set_aside_stale()
            write_atomic(self.outdir / FINDINGS_CSV, findings_csv(self.result))
            write_atomic(self.outdir / FINDINGS_XLSX, findings_xlsx(self.result))
        return self.result

    def _write(self, target: Path, text: str, sha256: str) -> None:
        """Write a report JSON; one an earlier import left there from another file goes to history."""
        before = self.earlier.get(target)
        if before is not None and before.sha256 != sha256 and target.exists():
            self._set_aside(target)
        write_atomic(target, text)
        self.wrote.add(target)

    def _set_aside_stale(self) -> None:
        """Earlier report JSONs of this import's inputs (same file or same unit) that it did
        not write again: that file or unit is refused now, so its old numbers must not stay."""
        written = set(self.result.written.values())
        names = {o.name for o in self.result.outcomes}
        units = {_unit_key(o.report) for o in self.result.outcomes if o.report is not None}
        for path in sorted(self.outdir.glob("*.json")):
            if path in written:
                continue
            before = self.earlier.get(path)
            if before is None and path in self.wrote:  # written by this import, then refused as a duplicate
                path.unlink()
            elif before is not None and (before.source_file in names or before.key in units):
                self._set_aside(path)

    def _set_aside(self, path: Path) -> None:
        """Move a report JSON into 历史/<time of this import>/ (a rename: atomic, never lost)."""
        if self.history is None:
            stamp = datetime.now().strftime("%Y-%m-%d_%H%M%S")
            folder, number = self.outdir / HISTORY_FOLDER / stamp, 2
            while folder.exists():
                folder, number = self.outdir / HISTORY_FOLDER / f"{stamp}_{number}", number + 1
            self.history = folder
        self.history.mkdir(parents=True, exist_ok=True)
        os.replace(path, self.history / path.name)
        self.result.set_aside.append(self.history / path.name)


def _saved(outcome: ImportOutcome) -> datetime | None:
    try:
        moment = datetime.fromisoformat(outcome.saved_at) if outcome.saved_at else None
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.astimezone()) if moment else None


def _newer(candidate: ImportOutcome, current: ImportOutcome) -> bool:
    a, b = _saved(candidate), _saved(current)
    return a is not None and b is not None and a > b


def _shown_time(outcome: ImportOutcome) -> str:
    moment = _saved(outcome)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "保存时间不详"


def _settle_duplicates(group: list[ImportOutcome], latest: bool) -> ImportOutcome | None:
    """The file whose report stands for its unit: the only one, or with `latest` the one saved
    last; the others (all of them when there is no such file) are refused with identity.duplicate."""
    if len(group) == 1:
        return group[0]
    times = [_saved(o) for o in group]
    newest = max(group, key=lambda o: _saved(o) or datetime.min.astimezone()) if all(times) else None
    if newest is not None and sum(1 for t in times if t == _saved(newest)) > 1:
        newest = None
    report = group[0].report
    unit = f"“{report.unit.name}”{report.year} 年度" if report is not None else ""
    listed = "、".join(f"{o.name}（保存于 {_shown_time(o)}）" for o in group)
    if newest is None:
        which = "无法从工作簿记录的保存时间判断哪一份较新。"
    else:
        which = f"按工作簿记录的保存时间，{newest.name} 较新。"
    kept = newest if latest else None
    for outcome in group:
        others = "、".join(o.name for o in group if o is not outcome)
        if outcome is kept:
            outcome.findings.append(warning(  # the report's list is this same list
                "identity.duplicate", f"本批文件中还有 {others} 也是{unit}的报告；按 --latest 采用了保存时间"
                f"最新的本文件（{listed}）。", expected=outcome.name, found=others))
            continue
        if kept is not None:
            message = (f"本批文件中 {kept.name} 也是{unit}的报告，且保存时间较新，已按 --latest 采用那一份，"
                       f"本文件未导入（{listed}）。")
        else:
            message = (f"本批文件中有 {len(group)} 份{unit}的报告：{listed}。{which}同一单位只能导入一份，"
                       "这几份都已退回。请确认哪一份是最终版本，只保留那一份再导入"
                       + ("。" if latest or newest is None else "，或加上 --latest 采用保存时间最新的一份。"))
        outcome.findings.append(error("identity.duplicate", message, expected=kept.name if kept else others,
                                      found=outcome.name))
    return kept


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


def report_filename(report: Report, source: str) -> str:
    """The JSON's file name: unit code, name and year (else the stem of `source`, as shown)."""
    parts = [p for p in (report.unit.code, report.unit.name) if p] or [PurePath(source).stem]
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
    if any(f.is_error for f in outcome.findings):
        return "接收（已发布的年报，有错误）"
    return "接收（有警告）" if outcome.warnings else "接收"


def _finding_rows(result: BatchResult) -> list[list[str]]:
    rows = []
    for outcome in result.outcomes:
        for f in outcome.findings:
            rows.append([outcome.name, status(outcome), "错误" if f.is_error else "警告", f.rule,
                         f.sheet or "", f.cell or "", f.expected or "", f.found or "", f.message])
    return rows


def _file_rows(result: BatchResult) -> list[list[str | int]]:
    rows: list[list[str | int]] = []
    for outcome in result.outcomes:
        report = outcome.report
        written = result.written.get(outcome.source)
        rows.append([
            outcome.name, status(outcome),
            report.unit.code if report else "", report.unit.name if report else "",
            report.year if report and report.year else "", sum(1 for f in outcome.findings if f.is_error),
            outcome.warnings, shown_name(written.name) if written else "", outcome.sha256,
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
        raise UserError(f"{outcome.name}：{outcome.findings[0].message}")
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
    _write_listing(book, listing, outcome.name, findings)
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
        table = Table(title=f"[bold]{escape(outcome.name)}[/bold]  [{colour}]{verdict}[/{colour}]",
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
        clean = Text.from_markup(f"[bold]{escape(outcome.name)}[/bold]  [green]{verdict}[/green]：没有发现问题")
        tables.append(table if outcome.findings else clean)
    return Group(*tables)


def summary_line(outcomes: list[ImportOutcome]) -> str:
    accepted = [o for o in outcomes if not o.rejected]
    warned = sum(1 for o in accepted if o.warnings)
    rejected = len(outcomes) - len(accepted)
    flawed = sum(1 for o in accepted if any(f.is_error for f in o.findings))
    also = f"、有错误的已发布年报 {flawed} 个" if flawed else ""
    return f"共 {len(outcomes)} 个文件：接收 {len(accepted)} 个（其中有警告 {warned} 个{also}），退回 {rejected} 个。"


def report_schema() -> str:
    """The JSON Schema of the report JSON (committed as docs/report.schema.json)."""
    return json.dumps(Report.model_json_schema(), ensure_ascii=False, indent=2) + "\n"
