"""Atomic writes: a reader (or a rerun after kill -9) never sees half a file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write via a temp file in the same folder and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = stage(path.parent, path.name, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temp path in `path`'s folder for a writer that streams to a file (a large output is
    never held in memory whole); flushed and renamed over `path` when the block ends without
    error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _share(tmp)
        settle(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def stage(folder: Path, name: str, data: bytes | str, durable: bool = True) -> Path:
    """The first half of an atomic write: `data` in a temp file `.<name>.<random>.tmp` in
    `folder`, flushed to disk unless `durable` is False (then `settle` flushes it); renaming
    it onto the target (on the same volume) is the second half, and may happen in another
    process."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        _share(Path(tmp))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _share(tmp: Path) -> None:
    """mkstemp makes the file private (0600); outputs are shared, so give it the mode a
    plainly created file would get under the current umask."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)


def settle(staged: Path, path: Path) -> None:
    """The second half: flush a staged file to disk (whichever process wrote it: fsync acts on
    the file) and rename it onto `path`."""
    fd = os.open(staged, os.O_RDWR | getattr(os, "O_BINARY", 0))  # Windows flushes only a writable handle
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(staged, path)
