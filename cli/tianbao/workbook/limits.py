"""Resource limits for reading one returned file; `--limit KEY=VALUE` adjusts them."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace

from tianbao.errors import UserError


@dataclass(frozen=True)
class Limits:
    """Resource limits for one returned workbook (defaults fit a form many times over).

    The field names are the keys of `tianbao import --limit KEY=VALUE` (see docs/security.md)."""

    max_file_bytes: int = 50 * 1024 * 1024
    max_members: int = 500
    max_member_bytes: int = 64 * 1024 * 1024  # any one part, e.g. a sheet's XML
    max_total_bytes: int = 256 * 1024 * 1024
    # Ratio checks only apply above this size: tiny members legitimately compress very well.
    ratio_floor_bytes: int = 1024 * 1024
    max_ratio: int = 200
    max_cells_per_sheet: int = 200_000  # non-empty cells (and shared strings)
    max_cells_total: int = 400_000  # non-empty cells of all sheets read, held in memory together
    # Parts parsed as one tree (workbook, styles, relationships, properties, a .docx's XML) take
    # some 15 times their size in memory; sheets and shared strings are streamed instead.
    max_tree_bytes: int = 16 * 1024 * 1024
    max_text_chars: int = 32_767  # Excel's own limit per cell: more cannot come from a real client
    max_seconds: float = 60.0  # per file in a batch; 0 reads in-process without a time limit


DEFAULT_LIMITS = Limits()
_SIZE_UNITS = {"k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}


def limits_from(settings: list[str], base: Limits = DEFAULT_LIMITS) -> Limits:
    """`base` with KEY=VALUE settings applied (sizes may end in KB/MB/GB); UserError when invalid."""
    known = {f.name: f for f in fields(Limits)}
    changes: dict[str, int | float] = {}
    for setting in settings:
        key, sep, text = setting.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in known:
            raise UserError(f"无法识别的限制“{setting}”，应写成 名称=数值，可用的名称：{'、'.join(known)}")
        match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgKMG][bB]?)?\s*", text)
        if match is None:
            raise UserError(f"限制“{setting}”的数值无效，应为不小于 0 的数（大小可带 KB、MB、GB）")
        number = float(match.group(1)) * _SIZE_UNITS.get((match.group(2) or "").lower(), 1)
        changes[key] = number if known[key].type in (float, "float") else int(number)
    return replace(base, **changes)
