"""C1–C7: the form's own rules (勾稽, R6 across years, R7, R8 text vs tables), percentages in
the text, and last year's numbers: copied unchanged, 现行有效 continuity, tenfold swings."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from tianbao.document.read.narrative import narrative_findings
from tianbao.form import Form
from tianbao.form.query import per_form
from tianbao.precheck_catalogue import load_catalogue
from tianbao.report import Finding, Report
from tianbao.rules.check import check_report, year_link_findings
from tianbao.stages.precheck.catalogue import PrecheckFinding, from_finding, make
from tianbao.stages.precheck.config import cell_value
from tianbao.stages.precheck.context import Context
from tianbao.stages.precheck.years import quote_at


def recomputed_rule_ids(form: Form) -> set[str]:
    """Ids of the findings the precheck computes afresh from the values (never taken as stored)."""
    ids = {rule.id for rule in form.spec.rules} | {link.rule for link in form.spec.year_links}
    ids |= {check.rule for check in form.spec.narrative_checks}
    return ids | {c.rule for table in form.tables for c in table.computed}


def rule_findings(ctx: Context) -> list[PrecheckFinding]:
    """Findings of the form's rules; a freshly read file's reader findings as they came."""
    form, report = ctx.form, ctx.report
    if ctx.subject.kind == "json":
        fresh = recomputed_rule_ids(form)
        kept = [f for f in ctx.subject.reader_findings if f.rule not in fresh]
        found: list[Finding] = kept + check_report(form, report) + _narrative(ctx)
    elif ctx.subject.kind == "workbook":
        found = list(ctx.subject.reader_findings) + _narrative(ctx)
    else:
        found = list(ctx.subject.reader_findings)
    if ctx.previous is not None:
        found += year_link_findings(form, ctx.previous, report)
    replaced = load_catalogue().replaced_ids
    unique: dict[tuple[str, str | None, str], Finding] = {}
    for finding in found:
        if finding.rule in replaced:
            continue
        unique.setdefault((finding.rule, finding.cell, finding.message), finding)
    return [from_finding(f) for f in unique.values()]


def _narrative(ctx: Context) -> list[Finding]:
    """R8 (the form's narrative checks) on the lines that state something it checks.

    Lines none of its patterns match cannot give a finding; leaving them out keeps a large
    batch fast."""
    patterns = [re.compile(check.pattern) for check in ctx.form.spec.narrative_checks]
    lines = [raw_line for _, raw, text in ctx.normalized_passages
             for raw_line, line in zip(raw.splitlines(), text.splitlines(), strict=False)
             if any(p.search(line) for p in patterns)]
    if not lines:
        return []
    # The R8 reader fills blank fields from the text: it gets its own field dicts (it changes
    # nothing else, so the tables need no copy; a deep copy of the report cost more than R8).
    fields = {section: dict(values) for section, values in ctx.report.fields.items()}
    return narrative_findings(ctx.form, ctx.report.model_copy(update={"fields": fields}), lines)


def percentage_findings(ctx: Context) -> list[PrecheckFinding]:
    config = ctx.config.percentages
    ends = ctx.config.copying.sentence_ends
    totals = list(dict.fromkeys(sum((cell_value(ctx.form, ctx.report.tables, ref) for ref in group), Decimal(0))
                                for group in config.denominators))  # each total tried once
    findings = []
    for label, raw, text in ctx.normalized_passages:
        for match in re.finditer(config.pattern, text):
            count, stated = Decimal(match.group("count")), Decimal(match.group("percent"))
            # Compare at the precision the text states (at most `places` decimals).
            places = min(max(0, -int(stated.as_tuple().exponent)), config.places)
            step = Decimal(1).scaleb(-places)
            shares = [(count * 100 / total).quantize(step, ROUND_HALF_UP) for total in totals if total > 0]
            if stated.quantize(step, ROUND_HALF_UP) in shares:
                continue
            tried = "、".join(f"{count}/{total}" for total in totals if total > 0) or "表三总数为 0"
            quote = quote_at(raw, text, match.start(), match.end(), ends)
            findings.append(make("text.percentage", part=label, quote=quote, count=count, stated=stated, tried=tried))
    return findings


def year_on_year_findings(ctx: Context) -> list[PrecheckFinding]:
    previous = ctx.previous
    if previous is None:
        return []
    return _unchanged(ctx, previous) + _stocks(ctx, previous) + _tenfold(ctx, previous)


@per_form
def _inputs(form: Form) -> list[tuple[str, str, str]]:
    """(table, row, column) of every input cell that no cross-year rule links to last year."""
    linked = {(link.table, link.current_row) for link in form.spec.year_links}
    keys = []
    for cell in form.input_cells:
        if len(cell.key) == 2 and (cell.section, cell.key[0]) not in linked:
            keys.append((cell.section, cell.key[0], cell.key[1]))
    return keys


def _unchanged(ctx: Context, previous: Report) -> list[PrecheckFinding]:
    now, before = ctx.report.tables, previous.tables
    keys = _inputs(ctx.form)
    nonzero = [k for k in keys if now[k[0]][k[1]][k[2]] != 0]
    if not nonzero or any(now[t][r][c] != before[t][r][c] for t, r, c in keys):
        return []
    return [make("numbers.unchanged", count=len(nonzero))]


def _stocks(ctx: Context, previous: Report) -> list[PrecheckFinding]:
    findings = []
    for stock in ctx.config.numbers.stocks:
        table = ctx.form.table(stock.table)
        for row_id in stock.rows:
            now, before = ctx.report.tables[stock.table][row_id], previous.tables[stock.table][row_id]
            expected = before[stock.stock] + now[stock.inflow] - now[stock.outflow]
            if expected == now[stock.stock]:
                continue
            row = next(r for r in table.rows if r.id == row_id)
            finding = make("numbers.stock", part=table.title, row=row.label, previous=before[stock.stock],
                           inflow=now[stock.inflow], outflow=now[stock.outflow], expected=expected,
                           found=now[stock.stock])
            finding.sheet, finding.cell = table.sheet, ctx.form.table_cell(table, row_id, stock.stock).a1
            findings.append(finding)
    return findings


def _tenfold(ctx: Context, previous: Report) -> list[PrecheckFinding]:
    rule = ctx.config.numbers.tenfold
    findings = []
    for table_id, row_id, column_id in _inputs(ctx.form):
        now = ctx.report.tables[table_id][row_id][column_id]
        before = previous.tables[table_id][row_id][column_id]
        low, high = (now, before) if now <= before else (before, now)
        if low <= 0 or high < rule.min_value or high < low * rule.factor:
            continue
        table = ctx.form.table(table_id)
        row = next(r for r in table.rows if r.id == row_id)
        column = next(c for c in table.columns if c.id == column_id)
        name = row.label if len(ctx.form.row_columns(table, row)) == 1 else f"{row.label} {column.label}"
        finding = make("numbers.tenfold", part=table.title, cell=f"{table.sheet}「{name}」", current=now,
                       previous=before, factor=rule.factor)
        finding.sheet, finding.cell = table.sheet, ctx.form.table_cell(table, row_id, column_id).a1
        findings.append(finding)
    return findings
