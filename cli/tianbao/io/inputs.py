"""The one input collector of `tianbao import`, `check`, `annotate` and `merge`.

Rules, the same for every command:

* a file named on the command line is taken as it is, whatever its name or suffix (its
  content decides what it is: a workbook, a published report, a report JSON, or a file
  refused with a clear message);
* a folder is searched recursively, every suffix included, in sorted path order;
* inside folders, Office lock files (`~$…`), hidden files and folders (`.…`), `__MACOSX`,
  the junk operating systems leave (Thumbs.db, desktop.ini) and tianbao's own reports on a
  batch (findings.csv/.xlsx) are skipped, and so is every path under `outputs` (the output
  folder of an import, or the output files of a merge), so a rerun never reads its own output
  (an import whose output folder is an input folder passes its report JSON and its history
  folder, 历史, as outputs), and the history folder of any import's output folder (a 历史
  beside a findings.csv) is skipped too, so a merge never counts reports set aside;
* each file once (by absolute path), in the order given.

Folders are walked with os.scandir (through os.walk): ten thousand files are listed without
a stat call each.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from tianbao.errors import UserError
from tianbao.io.names import shown_name

RECURSIVE = True
# Where an import sets aside the report JSON of its output folder that no longer hold.
HISTORY_FOLDER = "历史"
SKIPPED_NAMES = frozenset({"thumbs.db", "desktop.ini", "findings.csv", "findings.xlsx"})
SKIPPED_FOLDERS = frozenset({"__MACOSX"})


def _skipped(name: str) -> bool:
    return name.startswith(("~$", ".")) or name.lower() in SKIPPED_NAMES


def import_outputs(outdir: Path) -> list[Path]:
    """What an import into `outdir` must not read back: the folder itself (when it lies inside
    an input folder), and when it is an input folder, its report JSON and its history."""
    own = [path for path in outdir.glob("*.json") if path.is_file()] if outdir.is_dir() else []
    return [outdir, outdir / HISTORY_FOLDER, *own]


def collect_inputs(paths: Iterable[Path], outputs: Iterable[Path] = (), *,
                   nothing_found: str = "没有找到要导入的文件") -> list[Path]:
    """The files to read, by the rules above; UserError for a missing path or no file at all."""
    skip = {os.path.abspath(p) for p in outputs}
    found: dict[str, Path] = {}
    for path in paths:
        if path.is_dir():
            candidates = _walk(path, skip)
        elif path.is_file():
            candidates = [path]
        else:
            raise UserError(f"找不到文件或文件夹：{shown_name(str(path))}")
        for candidate in candidates:
            found.setdefault(os.path.abspath(candidate), candidate)
    if not found:
        raise UserError(nothing_found)
    return list(found.values())


def _is_history(parent: Path, name: str) -> bool:
    """An import's history folder: 历史 in an import's output folder (it holds findings.csv)."""
    return name == HISTORY_FOLDER and (parent / "findings.csv").is_file()


def _walk(folder: Path, skip: set[str]) -> list[Path]:
    files: list[Path] = []
    failure: list[OSError] = []
    for top, folders, names in os.walk(folder, onerror=failure.append):
        here = Path(top)
        folders[:] = [f for f in folders if not f.startswith(".") and f not in SKIPPED_FOLDERS
                      and not _is_history(here, f) and os.path.abspath(here / f) not in skip] if RECURSIVE else []
        files += [here / name for name in names
                  if not _skipped(name) and os.path.abspath(here / name) not in skip]
    if failure and not files:
        raise UserError(f"无法读取文件夹 {shown_name(str(folder))}（{failure[0].strerror or failure[0]}）")
    return sorted(files)
