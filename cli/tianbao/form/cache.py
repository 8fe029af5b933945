"""A per-user cache of parsed form definitions, so that a command starts without YAML.

`tianbao check one.xlsx` runs dozens of times a day; parsing, validating and cross-checking
the national form costs it some 30 ms and the YAML library's import 10 ms more. A definition
that loaded cleanly is kept as a pickle of its validated spec and raw mapping, keyed by the
SHA-256 of the definition file and of the code that reads it (this module, the spec models,
the loader and the rule grammar) and the tool's, pydantic's and Python's versions: any
change to the file or that code is a new key. The cache lives in the user's own cache folder
(TIANBAO_CACHE_DIR overrides it); a file that is missing, unreadable or damaged is a miss,
and a cache that cannot be written is skipped - neither ever changes what a command does.
Entries are written atomically (temp file and rename), so two processes may race safely.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

import pydantic

from tianbao import __version__

CACHE_VARIABLE = "TIANBAO_CACHE_DIR"
# The code a cached entry depends on (load's cross-checks use query and cells too).
_READERS = ("cache.py", "spec.py", "load.py", "grammar.py", "query.py", "../cells.py")


def cache_folder() -> Path:
    """TIANBAO_CACHE_DIR, else the platform's per-user cache folder."""
    given = os.environ.get(CACHE_VARIABLE)
    if given:
        return Path(given)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "tianbao" / "forms"


def cache_key(text: str) -> str:
    digest = hashlib.sha256()
    for part in (__version__, pydantic.VERSION, sys.version):
        digest.update(part.encode("utf-8") + b"\0")
    here = Path(__file__).parent
    for name in _READERS:
        digest.update((here / name).read_bytes() + b"\0")
    digest.update(text.encode("utf-8"))
    return digest.hexdigest()


def cached(key: str) -> tuple[Any, dict[str, Any]] | None:
    """(spec, raw) stored under `key`, or None."""
    try:
        spec, raw = pickle.loads((cache_folder() / f"{key}.pickle").read_bytes())
    except Exception:  # missing, unreadable, damaged or from other code: parse instead
        return None
    return spec, raw


def store(key: str, spec: Any, raw: dict[str, Any]) -> None:
    """Keep a cleanly loaded definition; quietly nothing when the cache cannot be written."""
    try:
        folder = cache_folder()
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump((spec, raw), handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, folder / f"{key}.pickle")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except Exception:  # a read-only or full disk must not stop the command; the next run parses again
        return
