"""Who may use the portal: one link per unit and the clerk's password.

A unit's link carries an unguessable token (`secrets.token_urlsafe`); the ledger keeps only
its SHA-256, so a copy of the ledger opens no unit's page. A token is shown once, when it is
issued; a lost or leaked link is replaced (`renew`), which ends the old one. The clerk's
password is kept as an argon2 hash in the ledger's meta table.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from tianbao.collection.folder import Collection
from tianbao.collection.ledger import Ledger, now
from tianbao.errors import UserError

TOKEN_BYTES = 24  # 192 bits: 32 URL-safe characters
PASSWORD_KEY = "portal_password"
URL_KEY = "portal_url"
MIN_PASSWORD = 8


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def unit_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/u/{token}"


def check_base_url(url: str) -> str:
    """The address units reach the portal at, as http(s)://host[:port][/path]."""
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise UserError(f"门户地址“{url}”无效，应写作 http://服务器地址:端口，例如 http://192.168.1.10:8000")
    return url.strip().rstrip("/")


@dataclass(frozen=True)
class Issued:
    unit: str
    token: str
    renewed: bool


def issue_links(collection: Collection, units: list[str], *, renew: bool = False) -> list[Issued]:
    """A new token for each of `units` that has none (with `renew`: for each of them, ending
    its old link), in one transaction, each issue an event in the ledger."""
    issued = []
    with collection.ledger() as ledger, ledger.transaction() as db:
        holding = {row[0] for row in db.execute("SELECT unit FROM portal_links")}
        for unit in units:
            if unit in holding and not renew:
                continue
            token = secrets.token_urlsafe(TOKEN_BYTES)
            db.execute("INSERT OR REPLACE INTO portal_links (unit, token_sha256, issued_at) VALUES (?, ?, ?)",
                       (unit, token_digest(token), now()))
            ledger.add_event(db, "link_issued", unit, detail={"renewed": unit in holding})
            issued.append(Issued(unit, token, unit in holding))
    return issued


def linked_units(ledger: Ledger) -> dict[str, str]:
    """Unit code -> when its current link was issued."""
    return dict(ledger.db.execute("SELECT unit, issued_at FROM portal_links").fetchall())


def unit_of_token(ledger: Ledger, token: str) -> str | None:
    if not token or len(token) > 100:
        return None
    row = ledger.db.execute("SELECT unit FROM portal_links WHERE token_sha256 = ?",
                            (token_digest(token),)).fetchone()
    return row[0] if row else None


def set_password(collection: Collection, password: str) -> None:
    from argon2 import PasswordHasher

    if len(password) < MIN_PASSWORD:
        raise UserError(f"密码太短：至少 {MIN_PASSWORD} 个字符")
    hashed = PasswordHasher().hash(password)
    with collection.ledger() as ledger:
        ledger.set_meta({PASSWORD_KEY: hashed})
        ledger.record("portal_password", detail={"by": "命令行"})


def password_hash(collection: Collection) -> str | None:
    return collection.meta().get(PASSWORD_KEY) or None


def password_matches(hashed: str, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return PasswordHasher().verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
