"""What an import's output folder holds at the end: one report per unit, and nothing stale.

Two files for one unit and year are both refused (`identity.duplicate`), naming the one saved
last; with --latest that one is taken. A report JSON an earlier import left for one of this
import's inputs (the same file, or the same unit) that this import does not write again is
moved into 历史/<time>/ (a rename: atomic, never lost), and so is one replaced by another
file's report.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tianbao.findings import DUPLICATE_LISTING, emit
from tianbao.io.inputs import HISTORY_FOLDER
from tianbao.report import Report
from tianbao.stages.intake import ImportOutcome

UnitKey = tuple[str, int]


def unit_key(report: Report) -> UnitKey:
    return report.unit.code or report.unit.name, report.year


@dataclass
class Earlier:
    """A report JSON an earlier import left in the output folder."""

    key: UnitKey
    source_file: str
    sha256: str


def earlier_report(path: Path) -> Earlier | None:
    """What a JSON in the output folder says about itself; None when it is not a unit report
    an import wrote (then it is left alone)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        unit, provenance = data["unit"], data["provenance"]
        if data.get("kind") != "unit" or not provenance.get("imported_at"):
            return None
        return Earlier((unit.get("code") or unit["name"], int(data["year"])), provenance.get("source_file") or "",
                       provenance.get("sha256") or "")
    except (OSError, ValueError, KeyError, TypeError):
        return None


class History:
    """The folder 历史/<time of this import>/ of one import, made when first needed."""

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        self.folder: Path | None = None
        self.moved: list[Path] = []

    def set_aside(self, path: Path) -> None:
        """Move a report JSON into the history folder (a rename: atomic, never lost)."""
        if self.folder is None:
            stamp = datetime.now().strftime("%Y-%m-%d_%H%M%S")
            folder, number = self.outdir / HISTORY_FOLDER / stamp, 2
            while folder.exists():
                folder, number = self.outdir / HISTORY_FOLDER / f"{stamp}_{number}", number + 1
            self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        os.replace(path, self.folder / path.name)
        self.moved.append(self.folder / path.name)


def _saved(outcome: ImportOutcome) -> datetime | None:
    try:
        moment = datetime.fromisoformat(outcome.saved_at) if outcome.saved_at else None
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.astimezone()) if moment else None


def newer(candidate: ImportOutcome, current: ImportOutcome) -> bool:
    a, b = _saved(candidate), _saved(current)
    return a is not None and b is not None and a > b


def _shown_time(outcome: ImportOutcome) -> str:
    moment = _saved(outcome)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else DUPLICATE_LISTING["unknown_time"]


def settle_duplicates(group: list[ImportOutcome], latest: bool) -> ImportOutcome | None:
    """The file whose report stands for its unit: the only one, or with `latest` the one saved
    last; the others (all of them when there is no such file) are refused with identity.duplicate."""
    if len(group) == 1:
        return group[0]
    times = [_saved(o) for o in group]
    newest = max(group, key=lambda o: _saved(o) or datetime.min.astimezone()) if all(times) else None
    if newest is not None and sum(1 for t in times if t == _saved(newest)) > 1:
        newest = None
    report = group[0].report
    unit = {"unit": report.unit.name if report else "", "year": report.year if report else ""}
    listed = "、".join(DUPLICATE_LISTING["file"].format(name=o.name, time=_shown_time(o)) for o in group)
    kept = newest if latest else None
    for outcome in group:
        others = "、".join(o.name for o in group if o is not outcome)
        if outcome is kept:
            # the report's list is this same list
            outcome.findings.append(emit("identity.duplicate", "kept", expected=outcome.name, found=others,
                                         others=others, listed=listed, **unit))
        elif kept is not None:
            outcome.findings.append(emit("identity.duplicate", "older", expected=kept.name, found=outcome.name,
                                         other=kept.name, listed=listed, **unit))
        else:
            variant = "undecided" if newest is None else "newer"
            outcome.findings.append(emit("identity.duplicate", variant, expected=others, found=outcome.name,
                                         count=len(group), listed=listed, newest=newest.name if newest else "",
                                         **unit))
    return kept
