"""What the portal's handlers share (settings, pages, the ledger, who asks), the pages a unit
reaches through its link, and the clerk's login.

A unit's pages live under /u/<token>: the token names the unit and nothing else does, so a
unit reaches only its own pages and files. Every change goes through a form carrying the
session's CSRF token; an upload is refused before it is read past the size limit.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from tianbao import __version__
from tianbao.collection.folder import DISTRIBUTED, Collection
from tianbao.errors import TianbaoError
from tianbao.form import Form
from tianbao.portal import access
from tianbao.portal.desk import ACCEPTED_SUFFIXES, ImportDesk, Upload
from tianbao.portal.views import (
    EVENT_LABELS,
    STATE_LABELS,
    event_lines,
    finding_lines,
    return_workbook,
    unit_view,
    version_findings,
)
from tianbao.portal.web import BodyTooLarge, Pages, Refused, client_of, csrf_ok, limited, read_form
from tianbao.reviews import LABELS
from tianbao.stages.previous import Previous
from tianbao.workbook.limits import Limits

SESSION_HOURS = 8
MULTIPART_OVERHEAD = 64 * 1024  # the form's boundaries and fields around the file
LOGIN_TRIES = 5  # failed logins from one address within LOGIN_WINDOW before it must wait
LOGIN_WINDOW = 15 * 60

P = ParamSpec("P")
T = TypeVar("T")


def size_text(size: int) -> str:
    """A size as a clerk reads it: 50 MB, 40 KB."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            return f"{round(size / factor, 1):g} {unit}"
    return f"{size} 字节"


@dataclass
class Settings:
    collection: Collection
    form: Form
    limits: Limits
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    jobs: int = 2
    previous: Previous | None = None
    https: bool = False  # served over TLS: the session cookie is sent over HTTPS only

    @property
    def max_body(self) -> int:
        return self.limits.max_file_bytes + MULTIPART_OVERHEAD


class Portal:
    """What every request handler shares. Handlers that only read the ledger and files are
    plain functions, which Starlette runs in its thread pool, off the event loop; those that
    change the collection run there one at a time (`in_turn`)."""

    def __init__(self, settings: Settings) -> None:
        from tianbao.findings import check_names

        self.settings = settings
        self.collection, self.form = settings.collection, settings.form
        self.names = check_names(settings.form)
        # One writer at a time in the whole server. The desk records uploads in its thread while
        # the clerk's decisions, reopenings, merges and return workbooks run in Starlette's
        # thread pool, and these are not single transactions: recording a version reads the
        # ledger's accepted version and then writes 导入/<unit>.json, a decision rewrites the
        # latest version's JSON, an import applies the decisions it read when it began, a merge
        # toggles gc.freeze for the whole process. Interleaved, 导入/ could hold a version the
        # ledger no longer takes, or a new version miss a decision. Reading needs no lock
        # (SQLite gives each reader a consistent view), nor does one event (a single INSERT).
        self.writing = threading.Lock()
        self.desk = ImportDesk(settings.collection, settings.form, settings.limits, self.writing,
                               jobs=settings.jobs, previous=settings.previous)
        self.failed_logins: dict[str, deque[float]] = {}
        self.pages = Pages({"year": self.collection.year, "collection_name": self.collection.root.name,
                            "state_labels": STATE_LABELS, "event_labels": EVENT_LABELS,
                            "decision_labels": LABELS, "tool_version": __version__,
                            "max_upload": size_text(settings.limits.max_file_bytes)})

    async def in_turn(self, action: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`action`, which writes the ledger or the collection's files, in the thread pool once
        no other writer is at work (see `writing`)."""

        def alone() -> T:
            with self.writing:
                return action(*args, **kwargs)

        return await run_in_threadpool(alone)

    def message(self, request: Request, status: int, title: str, text: str) -> Response:
        return self.pages.render(request, "message.html", status, title=title, text=text)

    def who(self, request: Request, role: str) -> dict[str, str]:
        return {"by": role, "ip": client_of(request)}

    # -- the clerk's login ---------------------------------------------------------------
    def is_clerk(self, request: Request) -> bool:
        since = request.session.get("clerk_since")
        return isinstance(since, (int, float)) and time.time() - since < SESSION_HOURS * 3600

    def login_blocked(self, address: str) -> bool:
        recent = self.failed_logins.setdefault(address, deque())
        while recent and time.time() - recent[0] > LOGIN_WINDOW:
            recent.popleft()
        return len(recent) >= LOGIN_TRIES

    def login_page(self, request: Request) -> Response:
        if self.is_clerk(request):
            return RedirectResponse("/clerk", 303)
        return self.pages.render(request, "login.html", error="")

    async def login(self, request: Request) -> Response:
        form = await read_form(request, max_fields=4)
        if not csrf_ok(request, form):
            return self.refused(request)
        address = client_of(request)
        if self.login_blocked(address):
            return self.pages.render(request, "login.html", 429, error="登录失败次数过多，请 15 分钟后再试")
        password = form.get("password")
        hashed = access.password_hash(self.collection)  # read each time: a new password counts at once
        matched = isinstance(password, str) and hashed is not None and await run_in_threadpool(
            access.password_matches, hashed, password)
        self.record("portal_login" if matched else "portal_login_failed", "", self.who(request, "审核人员"))
        if not matched:
            self.failed_logins[address].append(time.time())
            return self.pages.render(request, "login.html", 401, error="密码不正确")
        request.session.clear()  # a new session (and CSRF token) after login
        request.session["clerk_since"] = time.time()
        return RedirectResponse("/clerk", 303)

    async def logout(self, request: Request) -> Response:
        form = await read_form(request, max_fields=2)
        if not csrf_ok(request, form):
            return self.refused(request)
        request.session.clear()
        return RedirectResponse("/login", 303)

    def refused(self, request: Request) -> Response:
        return self.message(request, 403, "请求无效",
                            "页面已过期或请求不是从本系统的页面发出的。请返回上一页，刷新后重试。")

    def record(self, kind: str, unit: str, detail: dict[str, object]) -> None:
        with self.collection.ledger() as ledger:
            ledger.record(kind, unit, detail=detail)

    # -- a unit's pages ------------------------------------------------------------------
    def unit_of(self, request: Request) -> str:
        with self.collection.ledger() as ledger:
            unit = access.unit_of_token(ledger, request.path_params["token"])
        if unit is None:
            raise Refused(404, "链接无效或已作废")
        return unit

    def unit_page(self, request: Request) -> Response:
        code = self.unit_of(request)
        with self.collection.ledger() as ledger:
            view = unit_view(self.collection, self.form, ledger, code, self.names)
        return self.pages.render(request, "unit.html", view=view, token=request.path_params["token"])

    def blank_workbook(self, request: Request) -> Response:
        code = self.unit_of(request)
        with self.collection.ledger() as ledger:
            sent = [e for e in ledger.events(unit=code, kind="distributed")]
        path = self.collection.folder(DISTRIBUTED) / sent[-1].file if sent else None
        if path is None or not path.is_file():
            return self.message(request, 404, "尚未下发", "还没有为本单位生成填报表，请与区政务公开办联系。")
        self.record("downloaded", code, {**self.who(request, "单位"), "file": path.name})
        return FileResponse(path, filename=path.name, media_type=XLSX)

    async def upload(self, request: Request) -> Response:
        code = self.unit_of(request)
        token = request.path_params["token"]
        try:
            form = await read_form(limited(request, self.settings.max_body), max_files=1, max_fields=2)
        except BodyTooLarge:
            return self.message(request, 413, "文件太大",
                                f"上传的文件不能超过 {self.pages.env.globals['max_upload']}，文件没有保存。")
        if not csrf_ok(request, form):
            return self.refused(request)
        chosen = form.get("workbook")
        if not isinstance(chosen, UploadFile) or not chosen.filename:
            return self.message(request, 400, "没有选择文件", "请先选择要上传的填报工作簿（.xlsx）。")
        suffix = PurePath(chosen.filename.replace("\\", "/")).suffix.lower()
        if suffix not in ACCEPTED_SUFFIXES:
            return self.message(request, 400, "文件类型不对",
                                "只能上传填报工作簿（.xlsx），或已发布的年报（.docx、.pdf、.html、.txt），文件没有保存。")
        data = await chosen.read()
        received = await asyncio.wrap_future(self.desk.submit(Upload(code, data, suffix, self.who(request, "单位"))))
        return RedirectResponse(f"/u/{token}/upload/{received.event}", 303)

    def upload_result(self, request: Request) -> Response:
        code = self.unit_of(request)
        with self.collection.ledger() as ledger:
            event = next((e for e in ledger.events(unit=code, kind="uploaded")
                          if e.id == request.path_params["event"]), None)
            if event is None:
                raise Refused(404, "没有这次上传的记录")
            number = event.detail.get("version")
            version = next((v for v in ledger.versions(code) if v.number == number), None)
        damaged = False
        if version is not None and version.sha256 == event.sha256:
            found = version_findings(self.collection, version)
            lines, damaged = finding_lines(found or [], self.names), found is None
        else:
            lines = event_lines(event.detail.get("findings", []))  # type: ignore[arg-type]
        return self.pages.render(request, "upload.html", event=event, version=version, lines=lines,
                                 damaged=damaged, token=request.path_params["token"])

    async def unit_return(self, request: Request) -> Response:
        code = self.unit_of(request)
        return await self.send_return(request, code, "单位")

    async def send_return(self, request: Request, code: str, role: str) -> Response:
        with self.collection.ledger() as ledger:
            version = next((v for v in ledger.versions(code) if v.number == request.path_params["number"]), None)
        if version is None:
            raise Refused(404, "没有这一版")
        try:
            path = await self.in_turn(return_workbook, self.collection, self.form, version,
                                      self.settings.limits, self.who(request, role))
        except TianbaoError as exc:
            return self.message(request, 409, "无法生成退回工作簿", str(exc))
        return FileResponse(path, filename=f"退回_{code}_第{version.number}版.xlsx", media_type=XLSX)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
