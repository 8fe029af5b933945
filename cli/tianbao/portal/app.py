"""The portal's application: routes and middleware around `site.Portal` (a unit's pages,
the login) and `clerk.ClerkPages` (the clerk's pages)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from tianbao.errors import TianbaoError
from tianbao.portal.clerk import ClerkPages
from tianbao.portal.site import SESSION_HOURS, Portal, Settings
from tianbao.portal.web import STATIC, Refused, SecurityHeaders

# What a page says for an error the framework raised: its detail is English, never shown.
GENERIC_ERRORS = {400: "请求的内容不完整或格式不对", 404: "没有这个页面", 405: "不支持这种请求方式"}


def create_app(settings: Settings) -> Starlette:
    portal = Portal(settings)
    clerk_pages = ClerkPages(portal)

    css = (STATIC / "portal.css").read_bytes()

    async def stylesheet(_request: Request) -> Response:
        """The one static file, named here: no path from a request reaches the file system."""
        return Response(css, media_type="text/css; charset=utf-8")

    async def home(_request: Request) -> Response:
        return RedirectResponse("/clerk", 303)

    async def error_page(request: Request, exc: Exception) -> Response:
        if isinstance(exc, Refused):  # the portal's own Chinese words
            return portal.message(request, exc.status_code, exc.title, exc.detail)
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        return portal.message(request, status, "无法打开", GENERIC_ERRORS.get(status, "请求无法处理"))

    async def failure(request: Request, exc: Exception) -> Response:
        """What went wrong is the clerk's to read (the console); the person asking gets Chinese."""
        if isinstance(exc, TianbaoError):
            return portal.message(request, 409, "无法完成", str(exc))
        return portal.message(request, 500, "出错了", "服务器处理这个请求时出错。请稍后重试，或与区政务公开办联系。")

    routes = [
        Route("/", home),
        Route("/login", portal.login_page, methods=["GET"]),
        Route("/login", portal.login, methods=["POST"]),
        Route("/logout", portal.logout, methods=["POST"]),
        *clerk_pages.routes(),
        Route("/u/{token}", portal.unit_page),
        Route("/u/{token}/workbook", portal.blank_workbook),
        Route("/u/{token}/upload", portal.upload, methods=["POST"]),
        Route("/u/{token}/upload/{event:int}", portal.upload_result),
        Route("/u/{token}/return/{number:int}", portal.unit_return),
        Route("/static/portal.css", stylesheet),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=settings.secret, session_cookie="tianbao_session",
                   max_age=SESSION_HOURS * 3600, same_site="strict", https_only=settings.https),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        portal.desk.close()  # the uploads being read finish first

    handlers = {HTTPException: error_page, Exception: failure}
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers, lifespan=lifespan)
    app.state.portal = portal
    return app

