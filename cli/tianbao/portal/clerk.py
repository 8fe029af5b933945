"""The clerk's pages: the collection's status, a unit's versions and findings with the
reviewer's decisions, reopening a report, the 催报名单, the merge and its preview. Each is the
command line's own action (`status`, `review`, `merge`, `publish`), recorded with who did it;
those that change the collection run one at a time with the import desk (`Portal.in_turn`)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from tianbao.collection.review import Proposed, ReviewResult, latest_finding, record_decisions, reopen
from tianbao.collection.status import collection_status, missing_xlsx
from tianbao.errors import TianbaoError
from tianbao.portal import access
from tianbao.portal.views import MergeSummary, preview_path, run_merge, unit_view
from tianbao.portal.web import PREVIEW_POLICY, Refused, csrf_ok, read_form
from tianbao.reviews import LABELS

if TYPE_CHECKING:
    from tianbao.portal.site import Portal

Handler = Callable[[Request], Awaitable[Response] | Response]
ROLE = "审核人员"
RECENT_EVENTS = 30


class ClerkPages:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.collection = portal.collection

    def routes(self) -> list[Route]:
        return [
            Route("/clerk", self.only(self.status)),
            Route("/clerk/missing.xlsx", self.only(self.missing)),
            Route("/clerk/unit/{code}", self.only(self.unit)),
            Route("/clerk/unit/{code}/decide", self.only(self.decide), methods=["POST"]),
            Route("/clerk/unit/{code}/reopen", self.only(self.reopen), methods=["POST"]),
            Route("/clerk/unit/{code}/return/{number:int}", self.only(self.unit_return)),
            Route("/clerk/merge", self.only(self.merge), methods=["POST"]),
            Route("/clerk/report", self.only(self.report)),
        ]

    def only(self, handler: Handler) -> Handler:
        async def checked(request: Request) -> Response:
            if not self.portal.is_clerk(request):
                return RedirectResponse("/login", 303)
            if inspect.iscoroutinefunction(handler):
                return await handler(request)
            return await run_in_threadpool(handler, request)  # reading the ledger and files: off the loop

        return checked

    def who(self, request: Request) -> dict[str, str]:
        return self.portal.who(request, ROLE)

    def status(self, request: Request, status_code: int = 200, **result: object) -> Response:
        with self.collection.ledger() as ledger:
            state = collection_status(ledger, self.collection.roster(self.portal.form))
            linked = access.linked_units(ledger)
            events = ledger.events()[-RECENT_EVENTS:]
        meta = self.collection.meta()
        context: dict[str, object] = {
            "status": state, "linked": linked, "events": list(reversed(events)),
            "preview": preview_path(self.collection) is not None, "portal_url": meta.get(access.URL_KEY, ""),
            "district_name": meta.get("portal_district_name", ""),
            "district_code": meta.get("portal_district_code", ""), "merge_error": "", "merged": None, **result}
        return self.portal.pages.render(request, "clerk.html", status_code, **context)

    def missing(self, request: Request) -> Response:
        with self.collection.ledger() as ledger:
            state = collection_status(ledger, self.collection.roster(self.portal.form))
        from tianbao.collection.status import CollectionStatus

        title = f"{self.collection.root.name}：{self.collection.year} 年度催报名单"
        data = missing_xlsx(CollectionStatus(state.owing, state.unidentified), title)
        self.portal.record("portal_download", "", {**self.who(request), "file": "催报名单.xlsx"})
        return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"content-disposition": "attachment; filename*=UTF-8''%E5%82%AC%E6%8A%A5%E5%90%8D"
                                                        "%E5%8D%95.xlsx"})

    def unit(self, request: Request, problem: str = "", status_code: int = 200) -> Response:
        code = request.path_params["code"]
        try:
            with self.collection.ledger() as ledger:
                view = unit_view(self.collection, self.portal.form, ledger, code, self.portal.names)
        except TianbaoError as exc:
            raise Refused(404, str(exc)) from exc
        return self.portal.pages.render(request, "clerk_unit.html", status_code, view=view, problem=problem,
                                        labels=LABELS)

    async def decide(self, request: Request) -> Response:
        code = request.path_params["code"]
        form = await read_form(request, max_fields=8)
        if not csrf_ok(request, form):
            return self.portal.refused(request)
        rule, spot = str(form.get("rule", "")), str(form.get("place", ""))
        decision, reason = str(form.get("decision", "")), str(form.get("reason", "")).strip()
        if decision not in LABELS:
            return await run_in_threadpool(self.unit, request, "请选择审核处理", 400)
        try:
            result = await self.portal.in_turn(self.record_decision, code, rule, spot, decision, reason,
                                               self.who(request))
        except TianbaoError as exc:
            return await run_in_threadpool(self.unit, request, str(exc), 400)
        if result.problems:
            return await run_in_threadpool(self.unit, request, result.problems[0].split("：", 1)[-1], 400)
        return RedirectResponse(f"/clerk/unit/{code}", 303)

    def record_decision(self, code: str, rule: str, spot: str, decision: str, reason: str,
                        who: dict[str, str]) -> ReviewResult:
        """A decision on the finding as the latest version has it now (under the write lock)."""
        with self.collection.ledger() as ledger:
            finding = latest_finding(ledger, self.collection.root, code, rule, spot)
        proposed = Proposed(code, rule, spot, finding.found or "", decision, reason, finding.is_error,
                            f"{ROLE}（网上审核，{who['ip']}）")
        return record_decisions(self.collection, [proposed])

    async def reopen(self, request: Request) -> Response:
        code = request.path_params["code"]
        form = await read_form(request, max_fields=4)
        if not csrf_ok(request, form):
            return self.portal.refused(request)
        who = self.who(request)
        try:
            await self.portal.in_turn(reopen, self.collection, code, str(form.get("reason", "")),
                                      f"{ROLE}（网上审核，{who['ip']}）")
        except TianbaoError as exc:
            return await run_in_threadpool(self.unit, request, str(exc), 400)
        return RedirectResponse(f"/clerk/unit/{code}", 303)

    async def unit_return(self, request: Request) -> Response:
        return await self.portal.send_return(request, request.path_params["code"], ROLE)

    async def merge(self, request: Request) -> Response:
        form = await read_form(request, max_fields=4)
        if not csrf_ok(request, form):
            return self.portal.refused(request)
        name, code = str(form.get("unit_name", "")).strip(), str(form.get("unit_code", "")).strip()
        try:
            merged = await self.portal.in_turn(self.merge_collection, name, code, self.who(request))
        except TianbaoError as exc:
            return await run_in_threadpool(self.status, request, 400, merge_error=str(exc))
        return await run_in_threadpool(self.status, request, merged=merged)

    def merge_collection(self, name: str, code: str, who: dict[str, str]) -> MergeSummary:
        """The district's name and code kept for next time, then the merge (under the write lock)."""
        with self.collection.ledger() as ledger:
            ledger.set_meta({"portal_district_name": name, "portal_district_code": code})
        return run_merge(self.collection, self.portal.form, name, code, self.portal.settings.limits, who)

    def report(self, request: Request) -> Response:
        path = preview_path(self.collection)
        if path is None:
            raise Refused(404, "还没有汇总：请先在收集进度页面运行汇总")
        return Response(path.read_bytes(), media_type="text/html; charset=utf-8",
                        headers={"content-security-policy": PREVIEW_POLICY})
