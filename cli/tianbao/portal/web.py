"""The portal's web plumbing: pages from templates, security headers on every response,
CSRF tokens on every form, reading a form, the request body limit, and who made a request.

Pages are rendered by Jinja2 with autoescaping; no page runs a script (the Content Security
Policy says so). The CSRF token lives in the signed session cookie and is compared with the
form's hidden field; a request whose Origin is another site is refused as well.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse

from tianbao.io.times import shown_time

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# No script, no frame, no foreign form target, and links never carry a unit's token away.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cache-control": "no-store",
}
# The district report preview is the published HTML as is (inline styles, nothing else).
PREVIEW_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; sandbox"


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _value in message.get("headers", [])}
                extra = [(name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()
                         if name.encode() not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def who(detail: dict[str, Any]) -> str:
    """Who did what an event records, and from which address: 单位（127.0.0.1）."""
    by, address = detail.get("by", ""), detail.get("ip")
    return f"{by}（{address}）" if address else by


class Pages:
    def __init__(self, globals_: dict[str, object]) -> None:
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                      undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.env.globals.update(globals_)
        self.env.filters["when"] = shown_time
        self.env.filters["who"] = who

    def render(self, request: Request, name: str, status_code: int = 200, **context: object) -> HTMLResponse:
        html = self.env.get_template(name).render(request=request, csrf=csrf_token(request), **context)
        return HTMLResponse(html, status_code=status_code)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok(request: Request, form: FormData) -> bool:
    """The form's token is the session's, and the request does not come from another site."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
        return False
    given, expected = form.get("csrf"), request.session.get("csrf")
    return isinstance(given, str) and isinstance(expected, str) and hmac.compare_digest(given, expected)


class Refused(HTTPException):
    """A request the portal answers in its own Chinese words: the only detail an error page shows."""

    def __init__(self, status_code: int, text: str, title: str = "无法打开") -> None:
        super().__init__(status_code, text)
        self.title = title


FORM_REFUSED = "提交的内容不完整或格式不对（例如一次上传了多个文件），没有保存。请返回上一页，刷新后重新提交。"


async def read_form(request: Request, *, max_fields: int, max_files: int = 0) -> FormData:
    """The request's form, or a Chinese refusal: Starlette turns a malformed form (too many files
    or fields, no multipart boundary, broken multipart data) into HTTPException(400) whose
    detail is English, which must not reach the person asking."""
    try:
        return await request.form(max_files=max_files, max_fields=max_fields)
    except MultiPartException as exc:  # raised as is outside a Starlette app
        raise Refused(400, FORM_REFUSED, "提交失败") from exc
    except HTTPException as exc:
        if exc.status_code != 400:
            raise
        raise Refused(400, FORM_REFUSED, "提交失败") from exc


class BodyTooLarge(Exception):
    """The request body passed the limit; nothing of it was stored."""


def limited(request: Request, limit: int) -> Request:
    """The same request whose body is cut off at `limit` bytes: a declared length over it is
    refused before a byte is read, and a body that grows past it stops reading there."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
        return message

    return Request(request.scope, receive)


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""
