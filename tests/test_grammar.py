"""The assertion grammar of a form's rules: sums of cells and constants compared once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tianbao.errors import RuleSyntaxError
from tianbao.form import Form
from tianbao.form.grammar import Ref, Term, expand_rule, parse_assertion
from tianbao.form.spec import RuleDef
from tianbao.report import Unit, empty_report
from tianbao.rules.check import check_report, evaluate
from tianbao.rules.excel import check_formula


def test_signed_terms_and_constants(form: Form) -> None:
    left, op, right = parse_assertion(form, "t3.new.business - t3.carried_over.business + 2 >= 1.5")
    assert op == ">="
    assert left == (
        Term(1, Ref("t3", "new", "business")),
        Term(-1, Ref("t3", "carried_over", "business")),
        Term(1, None, Decimal(2)),
    )
    assert right == (Term(1, None, Decimal("1.5")),)


def test_leading_minus_and_less_or_equal(form: Form) -> None:
    left, op, right = parse_assertion(form, "-t2.regulations.issued <= 0")
    assert (left, op, right) == ((Term(-1, Ref("t2", "regulations", "issued")),), "<=", (Term(1, None, Decimal(0)),))


def test_evaluation_and_excel_formula_follow_the_signs(form: Form) -> None:
    rule = RuleDef.model_validate({
        "id": "Rtest", "severity": "error", "message": "差 {diff}",
        "assert": "t3.new.business - 3 >= t3.carried_over.business",
    })
    instance = expand_rule(form, rule)[0]
    report = empty_report(form, Unit(name="甲"), 2025)
    report.tables["t3"]["new"]["business"] = 5
    report.tables["t3"]["carried_over"]["business"] = 2
    assert evaluate(instance.left, report.tables) == 2
    assert check_formula(form, instance, "表三") == '=IF((E6-3)>=(E7),"✓","✗ 相差 "&((E6-3)-(E7)))'


@pytest.mark.parametrize(("text", "message"), [
    ("t3.new.business t3.new.research", "断言需要恰好一个比较符（== <= >=）：t3.new.business t3.new.research"),
    ("t3.new.business == 1 == 1", "断言需要恰好一个比较符（== <= >=）：t3.new.business == 1 == 1"),
    ("t3.new.business >= 1 <= 2", "断言需要恰好一个比较符（== <= >=）：t3.new.business >= 1 <= 2"),
    ("t3.new.business t3.new.research == 1", "无法解析表达式：t3.new.business t3.new.research"),
    ("t3.new.business * 2 == 1", "无法解析表达式：t3.new.business * 2"),
    ("t3.new.business + == 1", "无法解析表达式：t3.new.business +"),
    ("t3.new.{col} == 1", "变量 t3.new.{col} 没有在 for_each 中定义"),
    ("t3.new == 1", "单元格引用应写作 表.行.列：t3.new"),
    ("t9.new.business == 1", "引用了不存在的表格或行：t9.new.business"),
    ("t3.nope.business == 1", "引用了不存在的表格或行：t3.nope.business"),
    ("t3.new.nope == 1", "引用了不存在的列：t3.new.nope"),
    (" == 1", "表达式为空："),
])
def test_every_syntax_error_says_what_is_wrong(form: Form, text: str, message: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse_assertion(form, text)
    assert str(caught.value) == message


def test_for_each_binds_every_combination_in_order(form: Form) -> None:
    rule = RuleDef.model_validate({
        "id": "Rforeach", "severity": "warning", "message": "{col}",
        "assert": "t3.new.{col} <= t3.new.total", "for_each": {"col": ["business", "research"]},
    })
    instances = expand_rule(form, rule)
    assert [i.bindings for i in instances] == [{"col": "business"}, {"col": "research"}]
    assert [i.left[0].ref for i in instances] == [Ref("t3", "new", "business"), Ref("t3", "new", "research")]
    report = empty_report(form, Unit(name="甲"), 2025)
    assert check_report(form, report) == []
