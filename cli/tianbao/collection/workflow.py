"""What the existing commands do in a collection folder (`--collection DIR`, or run inside
one): options completed from the collection, the import hooks, ledger events, skipped
return workbooks. The commands themselves are `tianbao.cli.collection`'s and `tianbao.cli.app`'s."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tianbao.collection.folder import (
    DISTRIBUTED,
    IMPORTED,
    LEDGER_FILE,
    MERGED,
    RETURN_WORKBOOKS,
    Collection,
    open_collection,
)
from tianbao.errors import UserError
from tianbao.findings import emit
from tianbao.form import Form, resolve_form
from tianbao.io.roster import Roster, load_roster
from tianbao.stages.batch import BatchHooks
from tianbao.stages.intake import ImportOutcome
from tianbao.workbook.limits import Limits

# `check` on one file starts here: the ledger's import hooks, status and last year's reports
# load only in the commands that use them.
if TYPE_CHECKING:
    from rich.console import Console

    from tianbao.collection.recorder import CollectionImport
    from tianbao.stages.previous import Previous

# The note on a return workbook sent back unchanged (read, then left out of import and annotate).
SKIPPED_RULE = "file.return_workbook"
# ---------------------------------------------------------------------------------------
# Helpers for the existing commands


def collection_form(collection: Collection | None, form: str | None) -> Form:
    """--form, else the collection's form, else the default."""
    return resolve_form(form or (collection.form_source if collection else None))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_previous_option(form: Form, path: Path | None, year: int | None) -> Previous | None:
    """--previous: last year's report JSON folder, or last year's collection (its 导入/)."""
    if path is None:
        return None
    from tianbao.stages.previous import load_previous

    if year is None:
        raise UserError("使用 --previous 时请同时用 --year 指定本次收集的年度（在收集文件夹中运行时自动取得）")
    if (path / LEDGER_FILE).is_file():
        path = path / IMPORTED
    previous = load_previous(form, path, year)
    if previous.total is not None:
        raise UserError("这里的 --previous 应为上年度各单位报告 JSON 所在的文件夹（或上年度收集文件夹），不是汇总报告")
    return previous


def record_distributed(collection: Collection, form: Form, written: list[tuple[str, Path]]) -> None:
    """One event per workbook sent out: unit, form version, file hash."""
    with collection.ledger() as ledger:
        for code, path in written:
            ledger.record("distributed", code, path.name, sha256_of(path),
                          {"form": form.id, "form_version": form.version})


def record_event(collection: Collection | None, kind: str, unit: str = "", file: Path | None = None,
                 detail: dict[str, object] | None = None) -> None:
    if collection is None:
        return
    with collection.ledger() as ledger:
        ledger.record(kind, unit, file.name if file else "", sha256_of(file) if file and file.is_file() else "",
                      detail)


class ImportSetup:
    """Options of `import`/`check` completed from the collection, the hooks, and skipped returns."""

    def __init__(self, collection_dir: Path | None, outdir: Path | None, roster: Path | None, year: int | None,
                 form: str | None, previous: Path | None) -> None:
        self.collection = open_collection(collection_dir)
        col = self.collection
        self.outdir = outdir or (col.folder(IMPORTED) if col else None)
        self.roster_path = roster or (col.roster_path if col else None)
        self.year = year or (col.year if col else None)
        self.form = collection_form(col, form)
        self.previous = load_previous_option(self.form, previous, self.year)
        self.recorder: CollectionImport | None = None

    def roster(self) -> Roster | None:
        if self.roster_path is None:
            return None
        return load_roster(self.roster_path, self.form.identity_section_choices("unit_level"))

    def ordered(self, files: list[Path]) -> list[Path]:
        """In a collection, oldest file first (its versions are numbered in the order they arrived)."""
        if self.collection is None:
            return files
        return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))

    def note_skipped(self, skipped: list[ImportOutcome], imported: int, console: Console) -> None:
        """Unchanged return workbooks the import left out are noted (and in a collection's ledger)."""
        for outcome in skipped:
            note = emit(SKIPPED_RULE, found=outcome.name)
            console.print(f"[yellow]跳过[/yellow] {outcome.name}：{note.message}", highlight=False)
            record_event(self.collection, "skipped", file=outcome.source, detail={"rule": note.rule})
        if skipped and not imported:
            raise UserError("除已跳过的退回工作簿外，没有要导入的文件")

    def hooks(self) -> BatchHooks | None:
        from tianbao.collection.recorder import CollectionImport, previous_amender

        if self.collection is not None:
            self.recorder = CollectionImport(self.collection, self.form, self.previous)
            return BatchHooks(amend=self.recorder.amend, record=self.recorder.record)
        if self.previous is not None:
            return BatchHooks(amend=previous_amender(self.form, self.previous))
        return None

    def amend(self) -> Callable[[ImportOutcome], bool] | None:
        """For `check`: last year's checks only (check records nothing)."""
        if self.previous is None:
            return None
        from tianbao.collection.recorder import previous_amender

        return previous_amender(self.form, self.previous)

    def outstanding(self, rejected: list[ImportOutcome]) -> list[ImportOutcome]:
        """The refused files still to act on: in a collection, not a version its unit has
        since replaced by a later accepted one (re-importing 收回/ reads the old ones again)."""
        if self.recorder is None:
            return rejected
        accepted = self.recorder.ledger.accepted()
        kept = []
        for outcome in rejected:
            unit = outcome.report.unit.code if outcome.report is not None else ""
            version = self.recorder.ledger.version(unit, outcome.sha256) if unit else None
            latest = accepted.get(unit)
            if version is None or latest is None or latest.number < version.number:
                kept.append(outcome)
        return kept

    def close(self) -> None:
        if self.recorder is not None:
            self.recorder.close()

    def missing_line(self) -> str | None:
        """The units still missing after this import (with --roster or in a collection)."""
        from tianbao.collection.status import collection_status, missing_from_folder

        roster = self.roster()
        if roster is None or self.outdir is None:
            return None
        if self.collection is not None:
            with self.collection.ledger() as ledger:
                owing = [line.unit for line in collection_status(ledger, roster).owing]
        else:
            owing = missing_from_folder(roster, self.outdir)
        if not owing:
            return "名单中的单位都已报送并通过校验。"
        shown = "、".join(f"{u.name}（{u.code}）" for u in owing[:20])
        more = f" 等 {len(owing)} 个" if len(owing) > 20 else ""
        return f"仍未报送或未通过校验的单位（{len(owing)} 个）：{shown}{more}"


def merge_inputs(collection: Collection) -> list[Path]:
    """The latest accepted version of every unit."""
    with collection.ledger() as ledger:
        accepted = ledger.accepted()
    if not accepted:
        raise UserError("收集台账中还没有已接收的报告，无法汇总")
    return [collection.root / version.report_json for version in accepted.values()]


def default_folder(collection: Collection | None, name: str) -> Path | None:
    return collection.folder(name) if collection else None


FOLDER_DEFAULTS = {"distribute": DISTRIBUTED, "merge": MERGED, "annotate": RETURN_WORKBOOKS}


def return_folder(inputs: list[Path], collection: Collection | None) -> Path:
    """Where a batch of return workbooks goes by default: never into the input folder."""
    if collection is not None:
        return collection.folder(RETURN_WORKBOOKS)
    first = inputs[0].resolve()
    base = first if first.is_dir() else first.parent
    return base.parent / f"{base.name}_退回"


def annotate_batch(files: list[Path], form: Form, outdir: Path, collection: Collection | None, console: Console,
                   annotate_one: Callable[[Path, Path], ImportOutcome], limits: Limits) -> int:
    """One return workbook per file with findings, in `outdir`; files without findings and
    unchanged return workbooks are left alone. Returns the number written."""
    from tianbao.stages.batch import import_many

    outcomes = [outcome for outcome, _json in import_many(files, form, limits=limits) if not outcome.unchanged_return]
    if outdir.resolve() in {outcome.source.resolve().parent for outcome in outcomes}:
        raise UserError("退回工作簿不能写入报送文件所在的文件夹，请用 -o 指定另一个文件夹")
    written = 0
    for outcome in outcomes:
        path = outcome.source
        if not outcome.findings:
            continue
        if outcome.report is None:
            console.print(f"[red]无法生成[/red] {path.name}：{outcome.findings[0].message}", highlight=False)
            continue
        target = outdir / f"退回_{path.stem}.xlsx"
        annotated = annotate_one(path, target)
        errors = sum(1 for f in annotated.findings if f.is_error)
        console.print(f"已生成 {target.name}：{errors} 个错误、{len(annotated.findings) - errors} 个警告",
                      highlight=False)
        record_event(collection, "returned", outcome.report.unit.code, target,
                     {"source_file": path.name, "source_sha256": outcome.sha256, "errors": errors,
                      "warnings": len(annotated.findings) - errors})
        written += 1
    return written
