"""The check catalogue: every id the code emits is catalogued, every catalogued message is used,
and the published pages (docs/校验规则.md, docs/form.schema.json) are the generated ones."""

from __future__ import annotations

import ast
import json
import string
from pathlib import Path

import jsonschema
import yaml

from clirun import tianbao
from tianbao.findings import BY_ID, CATALOGUE, checks_markdown, emit, form_checks, precheck_checks
from tianbao.form import Form, builtin_form_paths
from tianbao.form.spec import form_schema

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cli" / "tianbao"


def _emitted() -> set[tuple[str, str]]:
    """(check id, variant) of every emit/text call with literal arguments in the package."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("emit", "text", "_why", "_add")):
                continue
            args = [a.value if isinstance(a, ast.Constant) else a for a in node.args]
            if node.func.id == "_why" and args and isinstance(args[0], str):
                found.add(("file.unreadable", args[0]))
                continue
            at = next((i for i, a in enumerate(args) if isinstance(a, str) and a in BY_ID), None)
            if at is None:
                continue
            variant = args[at + 1] if at + 1 < len(args) else ""
            if isinstance(variant, str):  # a variant chosen at run time is not checked here
                found.add((args[at], variant))
    return found


def test_every_emitted_check_is_catalogued() -> None:
    for check_id, variant in _emitted():
        assert variant in BY_ID[check_id].messages, (check_id, variant)


def test_ids_are_unique_and_described() -> None:
    assert len(BY_ID) == len(CATALOGUE) == 61
    for check in CATALOGUE:
        assert check.name and check.description.endswith("。") and check.messages, check.id


def test_emit_fills_the_template_and_keeps_the_location() -> None:
    finding = emit("tamper.formula", "value", sheet="表三", cell="D6", expected="=SUM(D4:D5)", found="7",
                   where="表三!D6")
    assert finding.model_dump() == {
        "rule": "tamper.formula", "severity": "error", "sheet": "表三", "cell": "D6", "expected": "=SUM(D4:D5)",
        "found": "7",
        "message": "表三!D6 的合计公式被改为数值 7。合计应由公式 =SUM(D4:D5) 自动计算，请使用下发的模板重新填写。",
        "review": None,
    }
    assert emit("identity.roster", "name", expected="甲局", found="乙局", code="001").severity == "warning"
    assert emit("identity.roster", "missing", expected="名单中的单位", found="乙局").severity == "error"


def test_templates_name_only_known_fields() -> None:
    for check in CATALOGUE:
        for variant in check.messages:
            names = {f for _, f, _, _ in string.Formatter().parse(check.message(variant).template) if f}
            assert all(name.isidentifier() for name in names), (check.id, variant)


def test_rules_page_is_the_generated_one(form: Form) -> None:
    committed = (ROOT / "docs" / "校验规则.md").read_text(encoding="utf-8")
    assert committed == checks_markdown(form), "run: tianbao checks --markdown > docs/校验规则.md"
    for check in CATALOGUE:
        assert f"| `{check.id}` |" in committed
    for item in form_checks(form):
        assert f"| `{item.id}` |" in committed
    precheck_section = committed.split("## 评估预检（`tianbao precheck`）的检查")[1]
    for check in precheck_checks():
        assert f"| `{check.id}` | {check.level} | {check.criterion} |" in precheck_section


def test_precheck_checks_come_from_its_catalogue_with_four_levels() -> None:
    listed = {check.id: check for check in precheck_checks()}
    assert len(listed) == 34
    assert {check.level for check in listed.values()} == {"错误", "警告", "提示", "无法判断"}
    across = listed["copy.across_units"]
    assert (across.level, across.criterion) == ("警告", "D2 文字未照抄其他单位")
    assert (listed["previous.missing"].level, listed["previous.missing"].decidable) == ("无法判断", "可判定")
    assert listed["numbers.tenfold"].level == "提示"


def test_checks_command_lists_the_catalogue_and_the_form_rules(form: Form) -> None:
    result = tianbao("checks")
    assert result.exit_code == 0
    for check_id in ("file.unreadable", "tamper.formula", "value.too_long", "legacy.unmapped"):
        assert check_id in result.stdout
    assert form.spec.rules[0].id in result.stdout
    assert "评估预检（tianbao precheck）的检查" in result.stdout
    for check_id in ("copy.across_units", "previous.missing", "fee.amount_not_multiple"):
        assert check_id in result.stdout


def test_form_schema_is_committed_and_validates_every_builtin_form() -> None:
    committed = json.loads((ROOT / "docs" / "form.schema.json").read_text(encoding="utf-8"))
    generated = json.loads(form_schema())
    assert set(committed["properties"]) == set(generated["properties"]), \
        "run: tianbao schema --form-definition > docs/form.schema.json"
    assert set(committed["$defs"]) == set(generated["$defs"])
    for path in [*builtin_form_paths().values(), ROOT / "tests" / "forms" / "mini.yaml"]:
        jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), committed)


def test_form_schema_refuses_an_unknown_key() -> None:
    committed = json.loads((ROOT / "docs" / "form.schema.json").read_text(encoding="utf-8"))
    definition = yaml.safe_load(builtin_form_paths()["national-2021"].read_text(encoding="utf-8"))
    definition["colour"] = "red"
    try:
        jsonschema.validate(definition, committed)
    except jsonschema.ValidationError as exc:
        assert "colour" in exc.message
    else:
        raise AssertionError("an unknown top-level key passed the schema")
