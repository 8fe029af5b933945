"""A1: published by the deadline of the unit's level (条例第四十九条), and by a local date
when a rule pack sets one beside it (never instead of it)."""

from __future__ import annotations

import datetime as dt

from tianbao.stages.precheck.catalogue import PrecheckFinding, make
from tianbao.stages.precheck.context import Context


def _day(year: int, month_day: str) -> dt.date:
    month, day = (int(x) for x in month_day.split("-"))
    return dt.date(year, month, day)


def deadline_findings(ctx: Context) -> list[PrecheckFinding]:
    config = ctx.config
    role = config.role_of(ctx.report.kind, ctx.report.unit.level)
    if not role:
        return [make("deadline.unknown", reason="报告中没有单位层级，不知道适用哪个期限（可用 --roster 补上）。")]
    statutory_day = config.deadlines.get(role)
    local_day = ctx.pack.local_deadlines.get(role) if ctx.pack else None
    if statutory_day is None and local_day is None:
        return [make("deadline.unknown", reason=f"条例第四十九条没有规定{config.role_name(role)}的发布期限，"
                                                "评分细则中也没有本地期限。")]
    published = ctx.subject.published
    if published is None:
        return [make("deadline.unknown", reason="没有发布日期。请用 --publish-date 给出，或预检已发布的年报文档"
                                                "（取文末落款日期）。")]
    year = ctx.year + 1
    statutory = _day(year, statutory_day) if statutory_day else None
    if statutory is not None and published > statutory:
        return [make("deadline.late", published=_chinese(published), deadline=_chinese(statutory),
                     role=config.role_name(role))]
    local = _day(year, local_day) if local_day else None
    if local is not None and published > local:
        return [make("deadline.local_late", published=_chinese(published), deadline=_chinese(local),
                     statutory=_chinese(statutory) if statutory else "无")]
    return []


def _chinese(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"
