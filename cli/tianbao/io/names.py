"""Safe file names from unit names and codes (Windows forbids \\ / : * ? " < > | and controls)."""

from __future__ import annotations

import re

_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def safe_filename(name: str) -> str:
    """`name` with every character a file system refuses replaced by "_"."""
    return _UNSAFE_FILENAME.sub("_", name)
