"""File names: safe ones made from unit names and codes (Windows forbids \\ / : * ? " < > | and
controls), and names as a clerk should see them, in findings, the terminal and JSON.

On Linux a file name is bytes. A zip made on Chinese Windows and unpacked there gives GBK
names, which Python keeps as surrogate escapes: printing or writing them as UTF-8 fails. Such
names are shown decoded as GB18030 (what they are), anything else undecodable as U+FFFD.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePath

_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
# A run of undecodable bytes (surrogate escapes) within one path component.
_ESCAPED = re.compile(r"[\udc80-\udcff](?:[^/\\]*[\udc80-\udcff])?")


def shown_name(text: str) -> str:
    """A file name (or path) that can be printed and written as UTF-8."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _ESCAPED.sub(_decoded, text).encode("utf-8", "replace").decode("utf-8")


def _decoded(match: re.Match[str]) -> str:
    raw = match.group().encode("utf-8", "surrogateescape")  # the bytes the file system gave
    try:
        decoded = raw.decode("gb18030")
        if decoded.isprintable():
            return decoded
    except UnicodeDecodeError:
        pass
    return raw.decode("utf-8", "replace")


def shown_path(path: Path | PurePath | str) -> str:
    return shown_name(str(path))


def input_labels(given: list[Path], files: list[Path]) -> dict[Path, str]:
    """How each input file is named to the clerk: its path relative to the folder it was found
    in ("甲/报告.xlsx": files of the same name in sub-folders stay apart), or its name when it
    was given by itself (its path as typed when two given files share a name)."""
    folders = [folder for folder in given if folder.is_dir()]
    labels: dict[Path, str] = {}
    for file in files:
        folder = next((f for f in folders if file.is_relative_to(f)), None)
        labels[file] = shown_path(file.relative_to(folder)) if folder is not None else shown_name(file.name)
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    return {file: shown_path(file) if counts[label] > 1 else label for file, label in labels.items()}


def safe_filename(name: str) -> str:
    """`name` with every character a file system refuses replaced by "_"."""
    return _UNSAFE_FILENAME.sub("_", name)
