"""The collection's SQLite ledger: events, report versions and reviewer decisions.

WAL mode, a schema version with forward migrations, and one short transaction per recorded
file (BEGIN IMMEDIATE with a busy timeout), so a process killed at any moment leaves the
ledger consistent, a rerun completes it without duplicates, and two imports at once take
turns instead of failing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tianbao.errors import UserError

# Each entry brings the schema from version N to N+1; never edit one that has shipped.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE units (
        code TEXT PRIMARY KEY, name TEXT NOT NULL, level TEXT NOT NULL DEFAULT '',
        parent TEXT NOT NULL DEFAULT '', contact TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL DEFAULT '',
        line INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL, unit TEXT NOT NULL DEFAULT '',
        file TEXT NOT NULL DEFAULT '', sha256 TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_unit ON events (unit, kind);
    CREATE TABLE versions (
        id INTEGER PRIMARY KEY, unit TEXT NOT NULL, number INTEGER NOT NULL, sha256 TEXT NOT NULL,
        source_file TEXT NOT NULL, received_at TEXT NOT NULL, state TEXT NOT NULL,
        errors INTEGER NOT NULL, warnings INTEGER NOT NULL, open_errors INTEGER NOT NULL,
        open_warnings INTEGER NOT NULL, stale INTEGER NOT NULL DEFAULT 0, report_json TEXT NOT NULL DEFAULT '',
        UNIQUE (unit, sha256), UNIQUE (unit, number)
    );
    CREATE TABLE decisions (
        unit TEXT NOT NULL, rule TEXT NOT NULL, place TEXT NOT NULL, found TEXT NOT NULL,
        decision TEXT NOT NULL, reason TEXT NOT NULL, decided_at TEXT NOT NULL,
        PRIMARY KEY (unit, rule, place, found)
    );
    """,
    # The collection portal (tianbao serve): one link per unit, only the SHA-256 of its token kept.
    """
    CREATE TABLE portal_links (
        unit TEXT PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE, issued_at TEXT NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
BUSY_MS = 60_000

# Version states.
ACCEPTED = "accepted"  # no open error: the report counts (the latest accepted version is merged)
REJECTED = "rejected"  # open errors: the unit must correct and return it
REOPENED = "reopened"  # was accepted; a reviewer reopened it (with a reason)
UNREADABLE = "unreadable"  # no report could be read (unit unknown unless the roster says so)


def now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass(frozen=True)
class Version:
    unit: str
    number: int
    sha256: str
    source_file: str
    received_at: str
    state: str
    errors: int
    warnings: int
    open_errors: int
    open_warnings: int
    stale: int
    report_json: str


@dataclass(frozen=True)
class Decision:
    unit: str
    rule: str
    place: str
    found: str
    decision: str
    reason: str
    decided_at: str


@dataclass(frozen=True)
class Event:
    id: int
    at: str
    kind: str
    unit: str
    file: str
    sha256: str
    detail: dict[str, object]


class Ledger:
    """One connection to a collection's ledger file."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        if not create and not path.is_file():
            raise UserError(f"找不到收集台账 {path}；请先用 tianbao init 建立收集文件夹")
        self.path = path
        try:
            # isolation_level=None: transactions are begun explicitly (BEGIN IMMEDIATE).
            self.db = sqlite3.connect(path, timeout=BUSY_MS / 1000, isolation_level=None)
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = FULL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise UserError(f"收集台账 {path.name} 无法打开（{exc}）；可用 tianbao status --rebuild 重建") from exc

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE takes the write lock at once: a second writer waits (busy timeout)
        instead of failing half way through its transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _migrate(self) -> None:
        with self.transaction() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT version FROM schema_version").fetchone()
            current = row[0] if row else 0
            if current > SCHEMA_VERSION:
                raise UserError(f"收集台账 {self.path.name} 由更新版本的 tianbao 建立"
                                f"（结构版本 {current}），请升级 tianbao")
            for script in MIGRATIONS[current:]:
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
            if row is None:
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            elif current != SCHEMA_VERSION:
                db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    # -- meta and units ------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, values: dict[str, str]) -> None:
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", values.items())

    def add_event(self, db: sqlite3.Connection, kind: str, unit: str = "", file: str = "", sha256: str = "",
                  detail: dict[str, object] | None = None, at: str | None = None) -> None:
        db.execute("INSERT INTO events (at, kind, unit, file, sha256, detail) VALUES (?, ?, ?, ?, ?, ?)",
                   (at or now(), kind, unit, file, sha256, json.dumps(detail or {}, ensure_ascii=False)))

    def record(self, kind: str, unit: str = "", file: str = "", sha256: str = "",
               detail: dict[str, object] | None = None) -> None:
        """One event in its own transaction."""
        with self.transaction() as db:
            self.add_event(db, kind, unit, file, sha256, detail)

    def events(self, unit: str | None = None, kind: str | None = None) -> list[Event]:
        query, args = "SELECT id, at, kind, unit, file, sha256, detail FROM events WHERE 1=1", []
        if unit is not None:
            query, args = query + " AND unit = ?", [*args, unit]
        if kind is not None:
            query, args = query + " AND kind = ?", [*args, kind]
        rows = self.db.execute(query + " ORDER BY id", args).fetchall()
        return [Event(*row[:6], json.loads(row[6])) for row in rows]

    # -- versions ------------------------------------------------------------------------
    def versions(self, unit: str | None = None) -> list[Version]:
        columns = ("unit, number, sha256, source_file, received_at, state, errors, warnings, open_errors, "
                   "open_warnings, stale, report_json")
        if unit is None:
            rows = self.db.execute(f"SELECT {columns} FROM versions ORDER BY unit, number").fetchall()
        else:
            rows = self.db.execute(f"SELECT {columns} FROM versions WHERE unit = ? ORDER BY number",
                                   (unit,)).fetchall()
        return [Version(*row) for row in rows]

    def version(self, unit: str, sha256: str) -> Version | None:
        return next((v for v in self.versions(unit) if v.sha256 == sha256), None)

    def accepted(self) -> dict[str, Version]:
        """Per unit, the latest accepted version: the one merged."""
        chosen: dict[str, Version] = {}
        for version in self.versions():
            if version.state == ACCEPTED and version.unit:
                chosen[version.unit] = version  # ordered by number: the latest wins
        return chosen

    # -- decisions -----------------------------------------------------------------------
    def decisions(self, unit: str | None = None) -> list[Decision]:
        columns = "unit, rule, place, found, decision, reason, decided_at"
        if unit is None:
            rows = self.db.execute(f"SELECT {columns} FROM decisions ORDER BY unit, rule, place").fetchall()
        else:
            rows = self.db.execute(f"SELECT {columns} FROM decisions WHERE unit = ? ORDER BY rule, place",
                                   (unit,)).fetchall()
        return [Decision(*row) for row in rows]
