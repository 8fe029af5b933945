"""E1 and E2 (国办函〔2020〕109号). E3 holds by construction: the 信息处理费 (元, part 六) is
never compared with 表二's 行政事业性收费 (万元)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from tianbao.stages.precheck.catalogue import PrecheckFinding, make
from tianbao.stages.precheck.config import cell_value
from tianbao.stages.precheck.context import Context
from tianbao.stages.precheck.years import quote_at


def fee_findings(ctx: Context) -> list[PrecheckFinding]:
    config = ctx.config.fees
    ends = ctx.config.copying.sentence_ends
    findings: list[PrecheckFinding] = []
    notices = cell_value(ctx.form, ctx.report.tables, config.notice_cell)
    if notices > 0:
        table_id, row_id, _ = config.notice_cell.split(".")
        row = next(r for r in ctx.form.table(table_id).rows if r.id == row_id)
        for label, raw, text in ctx.normalized_passages:
            match = next((m for p in config.no_notice for m in re.finditer(p, text)), None)
            if match is not None:
                quote = quote_at(raw, text, match.start(), match.end(), ends)
                findings.append(make("fee.notice_contradiction", part=label, quote=quote, row=row.label,
                                     count=int(notices)))
                break
    findings += _amounts(ctx)
    return findings


def _amounts(ctx: Context) -> list[PrecheckFinding]:
    config = ctx.config.fees
    ends = ctx.config.copying.sentence_ends
    step = Decimal(config.multiple_of)
    stated: list[tuple[Decimal, str, str]] = []
    section_id, field_id = config.amount_field.split(".")
    value = ctx.report.fields.get(section_id, {}).get(field_id)
    if value is not None:
        field = ctx.form.field(section_id, field_id)
        stated.append((Decimal(value), ctx.form.section(section_id).title, f"{field.label}：{value}"))
    for label, raw, text in ctx.normalized_passages:
        for match in re.finditer(config.amount, text):
            try:
                amount = Decimal(match.group("n"))
            except InvalidOperation:
                continue
            stated.append((amount, label, quote_at(raw, text, match.start(), match.end(), ends)))
    findings = []
    seen: set[Decimal] = set()
    for amount, label, quote in stated:
        if amount % step == 0 or amount in seen:
            continue
        seen.add(amount)
        shown = amount.normalize() if amount == amount.to_integral_value() else amount
        findings.append(make("fee.amount_not_multiple", part=label, quote=quote, amount=f"{shown:f}"))
    return findings
