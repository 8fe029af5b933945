"""The assertion grammar of a form's rules, part of the definition language.

An assertion compares two sums: `a.b.c + a.d.c - 2 >= a.e.c`. Terms are table cells
(`table.row.column`, each checked against the form) or non-negative constants, each with
an optional sign; exactly one of `==`, `<=`, `>=`. `for_each` variables (`{col}`) are bound
before parsing, one `RuleInstance` per combination. It lives in `form` (not `rules`) because
loading a definition must parse its rules to check them, and evaluation builds on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from itertools import product

from tianbao.errors import RuleSyntaxError
from tianbao.form.query import Form, per_form
from tianbao.form.spec import RuleDef

_COMPARISONS = ("==", "<=", ">=")
_TERM = re.compile(r"\s*([+-])?\s*([A-Za-z0-9_.{}]+)\s*")

@dataclass(frozen=True)
class Ref:
    table: str
    row: str
    column: str


@dataclass(frozen=True)
class Term:
    sign: int
    ref: Ref | None
    constant: Decimal = Decimal(0)


@dataclass(frozen=True)
class RuleInstance:
    """One concrete check: a rule with its for_each variables bound."""

    rule: RuleDef
    bindings: dict[str, str]
    left: tuple[Term, ...]
    op: str
    right: tuple[Term, ...]
    check_cell: str | None

    def refs(self) -> list[Ref]:
        return [t.ref for t in (*self.left, *self.right) if t.ref is not None]


def expand_rule(form: Form, rule: RuleDef) -> list[RuleInstance]:
    """Every instance of a rule, in for_each order (the order of its check cells); the form's
    own rules are expanded once per form."""
    if any(own is rule for own in form.spec.rules):
        return _expanded(form, rule.id)
    return _expand(form, rule)


@per_form
def _expanded(form: Form, rule_id: str) -> list[RuleInstance]:
    return _expand(form, next(r for r in form.spec.rules if r.id == rule_id))


def _expand(form: Form, rule: RuleDef) -> list[RuleInstance]:
    names = list(rule.for_each)
    instances = []
    check_cells = rule.check.cells if rule.check else []
    for index, values in enumerate(product(*(rule.for_each[n] for n in names))):
        bindings = dict(zip(names, values, strict=True))
        text = rule.assert_
        for name, value in bindings.items():
            text = text.replace("{" + name + "}", value)
        left, op, right = parse_assertion(form, text)
        instances.append(
            RuleInstance(
                rule=rule,
                bindings=bindings,
                left=left,
                op=op,
                right=right,
                check_cell=check_cells[index] if index < len(check_cells) else None,
            )
        )
    return instances


def parse_assertion(form: Form, text: str) -> tuple[tuple[Term, ...], str, tuple[Term, ...]]:
    ops = [op for op in _COMPARISONS if op in text]
    if len(ops) != 1 or text.count(ops[0]) != 1:
        raise RuleSyntaxError(f"断言需要恰好一个比较符（{' '.join(_COMPARISONS)}）：{text}")
    left_text, right_text = text.split(ops[0])
    return _parse_sum(form, left_text), ops[0], _parse_sum(form, right_text)


def _parse_sum(form: Form, text: str) -> tuple[Term, ...]:
    terms: list[Term] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TERM.match(text, position)
        if not match or (terms and not match.group(1)):
            raise RuleSyntaxError(f"无法解析表达式：{text}")
        sign = -1 if match.group(1) == "-" else 1
        token = match.group(2)
        position = match.end()
        if re.fullmatch(r"\d+(\.\d+)?", token):
            terms.append(Term(sign, None, Decimal(token)))
            continue
        if "{" in token:
            raise RuleSyntaxError(f"变量 {token} 没有在 for_each 中定义")
        parts = token.split(".")
        if len(parts) != 3:
            raise RuleSyntaxError(f"单元格引用应写作 表.行.列：{token}")
        table_id, row_id, column_id = parts
        try:
            table = form.table(table_id)
            row = next(r for r in table.rows if r.id == row_id)
        except (KeyError, StopIteration):
            raise RuleSyntaxError(f"引用了不存在的表格或行：{token}") from None
        if column_id not in {c.id for c in form.row_columns(table, row)}:
            raise RuleSyntaxError(f"引用了不存在的列：{token}")
        terms.append(Term(sign, Ref(table_id, row_id, column_id)))
    if not terms:
        raise RuleSyntaxError(f"表达式为空：{text}")
    return tuple(terms)
