"""A collection folder: its layout, its roster copy and its ledger.

```
2025年报/
  收集台账.db      the ledger (SQLite, WAL)
  单位名单.csv     the roster it was created with (or .xlsx)
  填报表/          workbooks sent out (distribute)
  收回/            files returned by the units
  导入/            the latest accepted report JSON per unit, findings.csv/.xlsx
  导入/历史/       every version's report JSON (accepted or not): the ledger's source
  退回/            return workbooks (annotate)
  汇总/            the district report and summary (merge)
  发布/            published documents
```
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from tianbao.collection.ledger import Ledger, now
from tianbao.errors import UserError
from tianbao.form import Form
from tianbao.io.roster import Roster, load_roster

LEDGER_FILE = "收集台账.db"
ROSTER_STEM = "单位名单"
DISTRIBUTED = "填报表"
RETURNED = "收回"
IMPORTED = "导入"
HISTORY = "历史"
RETURN_WORKBOOKS = "退回"
MERGED = "汇总"
PUBLISHED = "发布"
FOLDERS = (DISTRIBUTED, RETURNED, IMPORTED, RETURN_WORKBOOKS, MERGED, PUBLISHED)


@dataclass(frozen=True)
class Collection:
    root: Path

    @property
    def ledger_path(self) -> Path:
        return self.root / LEDGER_FILE

    def ledger(self) -> Ledger:
        return Ledger(self.ledger_path)

    def folder(self, name: str) -> Path:
        return self.root / name

    @property
    def history(self) -> Path:
        return self.root / IMPORTED / HISTORY

    def meta(self) -> dict[str, str]:
        with self.ledger() as ledger:
            return ledger.meta()

    @property
    def year(self) -> int:
        return int(self.meta()["year"])

    @property
    def form_source(self) -> str:
        return self.meta().get("form", "")

    @property
    def roster_path(self) -> Path:
        return self.root / self.meta()["roster"]

    def roster(self, form: Form) -> Roster:
        return load_roster(self.roster_path, form.identity_section_choices("unit_level"))


def find_collection(start: Path) -> Collection | None:
    """The collection folder holding `start` (itself or a parent), if any."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / LEDGER_FILE).is_file():
            return Collection(folder)
    return None


def open_collection(given: Path | None, cwd: Path | None = None) -> Collection | None:
    """--collection DIR, else the collection the current folder is in, else None."""
    if given is not None:
        if not (given / LEDGER_FILE).is_file():
            raise UserError(f"{given} 不是收集文件夹（找不到 {LEDGER_FILE}）；请先用 tianbao init 建立")
        return Collection(given)
    return find_collection(cwd or Path.cwd())


def create_collection(root: Path, roster_file: Path, year: int, form: Form, form_option: str | None) -> Collection:
    """The folder layout, a copy of the roster and a new ledger listing the roster's units."""
    if (root / LEDGER_FILE).exists():
        raise UserError(f"{root} 已经是收集文件夹（已有 {LEDGER_FILE}）")
    roster = load_roster(roster_file, form.identity_section_choices("unit_level"))
    try:
        for name in FOLDERS:
            (root / name).mkdir(parents=True, exist_ok=True)
        (root / IMPORTED / HISTORY).mkdir(exist_ok=True)
        copy = root / f"{ROSTER_STEM}{roster_file.suffix.lower()}"
        if copy.resolve() != roster_file.resolve():
            shutil.copyfile(roster_file, copy)
    except OSError as exc:
        raise UserError(f"无法建立收集文件夹 {root}（{exc.strerror or exc}）") from exc
    collection = Collection(root)
    with Ledger(collection.ledger_path, create=True) as ledger:
        meta = {"year": str(year), "form": form_option or form.id, "form_version": form.version,
                "roster": copy.name, "created_at": now()}
        with ledger.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta.items())
            db.executemany(
                "INSERT OR REPLACE INTO units (code, name, level, parent, contact, phone, line) VALUES (?,?,?,?,?,?,?)",
                [(u.code, u.name, u.level, u.parent, u.contact, u.phone, u.line) for u in roster.units],
            )
            ledger.add_event(db, "created", detail={"year": year, "units": len(roster.units)})
    return collection
