"""Loading a form definition: YAML -> validated spec -> cross-checked `Form`; built-in forms.

pydantic checks each key's shape; `_cross_check` then checks what a schema cannot express
(unique ids, references between sections, overlapping cells, rules that parse), and every
problem names the file and the YAML key path. A definition that loaded cleanly is cached
per user (`form.cache`): the next command reads it back without YAML.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tianbao.cells import Cell, Range, column_index
from tianbao.errors import FormDefinitionError, RuleSyntaxError
from tianbao.form import cache
from tianbao.form.grammar import expand_rule
from tianbao.form.query import Form, by_id
from tianbao.form.spec import FieldsSection, FormSpec


def load_form(path: str | Path) -> Form:
    """Load and validate a definition file; FormDefinitionError names file and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormDefinitionError(f"{path}: 无法读取表单定义文件（{exc}）") from exc
    return parse_form(text, str(path))


def parse_form(text: str, source: str) -> Form:
    key = cache.cache_key(text)
    kept = cache.cached(key)
    if kept is not None and isinstance(kept[0], FormSpec) and isinstance(kept[1], dict):
        return Form(kept[0], source, kept[1])
    return _parse(text, source, key)


def _parse(text: str, source: str, key: str) -> Form:
    import yaml  # only when the cache misses (10 ms of start-up)

    # libyaml's parser where PyYAML has it (its wheels do): 11 ms for the national form
    # instead of 80 ms in pure Python.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        raw = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise FormDefinitionError(f"{source}: YAML 格式错误：{exc}") from exc
    if not isinstance(raw, dict):
        raise FormDefinitionError(f"{source}: 表单定义的顶层必须是键值映射")
    try:
        spec = FormSpec.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _key_path(first["loc"], raw)
        raise FormDefinitionError(
            f"{source}: {where}: {first['msg']}"
            + (f"（另有 {exc.error_count() - 1} 处错误）" if exc.error_count() > 1 else "")
        ) from exc
    form = Form(spec, source, raw)
    problems = _cross_check(form)
    if problems:
        raise FormDefinitionError(f"{source}: {problems[0]}")
    cache.store(key, spec, raw)
    return form


def _key_path(loc: tuple[Any, ...], raw: Any) -> str:
    """Render a pydantic location as a YAML key path, naming list items by their id."""
    parts: list[str] = []
    node = raw
    for item in loc:
        if isinstance(item, int) and isinstance(node, list) and item < len(node):
            node = node[item]
            ident = node.get("id") if isinstance(node, dict) else None
            label = ident or (node.get("text") if isinstance(node, dict) else None) or item
            parts[-1] = f"{parts[-1]}[{label}]" if parts else f"[{label}]"
        elif isinstance(node, dict) and item in node:
            node = node[item]
            parts.append(str(item))
        elif not isinstance(node, dict) or item in ("fields", "table"):
            continue  # pydantic's tag of a tagged union, not a YAML key
        else:
            parts.append(str(item))  # a missing or unknown key
    return ".".join(parts) or "(top level)"


def _cross_check(form: Form) -> list[str]:
    """Consistency checks pydantic cannot express: unique ids, references, overlaps."""
    problems: list[str] = []
    spec = form.spec

    def dup(kind: str, ids: list[str], where: str) -> None:
        seen: set[str] = set()
        for ident in ids:
            if ident in seen:
                problems.append(f"{where}: {kind} id “{ident}” 重复")
            seen.add(ident)

    dup("section", [s.id for s in spec.sections], "sections")
    dup("sheet", [spec.instructions.sheet] + [s.sheet for s in spec.sections], "sections.sheet")
    dup("rule", [r.id for r in spec.rules], "rules")

    ident = spec.identity
    try:
        identity_section = form.section(ident.section)
    except KeyError:
        return [*problems, f"identity.section: 找不到 section “{ident.section}”"]
    if not isinstance(identity_section, FieldsSection):
        return [*problems, f"identity.section: “{ident.section}” 必须是 fields 类型"]
    identity_ids = {f.id: f for f in identity_section.fields}
    for role, field_id in form.identity_fields.items():
        if field_id not in identity_ids:
            problems.append(f"identity.{role}: 基本信息中没有字段 “{field_id}”")
    year_field = identity_ids.get(ident.year)
    if year_field and year_field.type != "year":
        problems.append(f"sections[{ident.section}].{ident.year}: 年度字段的 type 必须是 year")

    occupied: dict[tuple[str, Cell], str] = {}

    def occupy(sheet: str, rng: Range, what: str) -> None:
        for cell in rng.cells():
            key = (sheet, cell)
            if key in occupied:
                problems.append(f"{what}: 单元格 {sheet}!{cell.a1} 已被 {occupied[key]} 占用")
                return
            occupied[key] = what

    for section in spec.sections:
        if isinstance(section, FieldsSection):
            dup("field", [f.id for f in section.fields], f"sections[{section.id}].fields")
            label_col, input_col = column_index(section.label_column), column_index(section.input_column)
            if label_col == input_col:
                problems.append(f"sections[{section.id}]: label_column 与 input_column 不能相同")
            for field in section.fields:
                where = f"sections[{section.id}].fields[{field.id}]"
                if field.choices and len(",".join(field.choices)) > 255:
                    # Excel and WPS reject literal validation lists longer than 255 characters.
                    problems.append(f"{where}.choices: 选项合计超过 255 个字符，Excel 下拉列表无法容纳")
                occupy(section.sheet, Range(Cell(field.row - 1, label_col), Cell(field.row - 1, label_col)), where)
                occupy(section.sheet, Range(Cell(field.row - 1, input_col), Cell(field.row - 1, input_col)), where)
            field_ids = {f.id for f in section.fields}
            for i, sentence in enumerate(section.document_sentences):
                for name in [*sentence.zero_when, *re.findall(r"\{(\w+)\}", sentence.text)]:
                    if name not in field_ids:
                        problems.append(
                            f"sections[{section.id}].document_sentences[{i}]: 字段 “{name}” 不存在"
                        )
            continue
        where = f"sections[{section.id}]"
        dup("row", [r.id for r in section.rows], f"{where}.rows")
        dup("column", [c.id for c in section.columns], f"{where}.columns")
        column_ids = {c.id for c in section.columns}
        row_ids = {r.id for r in section.rows}
        origin = form.origin(section)
        for label in section.labels:
            occupy(section.sheet, Range.parse(label.range).shifted(origin), f"{where}.labels[{label.text}]")
        for row in section.rows:
            for column_id in row.columns or []:
                if column_id not in column_ids:
                    problems.append(f"{where}.rows[{row.id}].columns: 列 “{column_id}” 不存在")
        if problems:
            return problems
        for row in section.rows:
            for column in form.row_columns(section, row):
                cell = form.table_cell(section, row.id, column.id)
                rng = form.table_merge(section, row.id, column.id) or Range(cell, cell)
                occupy(section.sheet, rng, f"{where}.rows[{row.id}].{column.id}")
        for i, computed in enumerate(section.computed):
            cwhere = f"{where}.computed[{i}]"
            for column_id in [computed.target_column, *(computed.sum_of_columns or [])]:
                if column_id is not None and column_id not in column_ids:
                    problems.append(f"{cwhere}: 列 “{column_id}” 不存在")
            for row_id in [computed.target_row, *(computed.sum_of_rows or [])]:
                if row_id is not None and row_id not in row_ids:
                    problems.append(f"{cwhere}: 行 “{row_id}” 不存在")
        if problems:
            return problems
        for (table_id, row_id, column_id), computed_cell in form.computed_cells.items():
            if table_id == section.id and (row_id, column_id) in computed_cell.terms:
                problems.append(f"{where}.computed: 单元格 {row_id}.{column_id} 的合计引用了自身")
    if problems:
        return problems

    for link in spec.year_links:
        where = f"year_links[{link.rule}]"
        try:
            table = form.table(link.table)
        except KeyError:
            problems.append(f"{where}.table: 表格 “{link.table}” 不存在")
            continue
        rows = {r.id: r for r in table.rows}
        for row_id in (link.previous_row, link.current_row):
            if row_id not in rows:
                problems.append(f"{where}: 行 “{row_id}” 不存在")
        if not problems and [c.id for c in form.row_columns(table, rows[link.previous_row])] != [
            c.id for c in form.row_columns(table, rows[link.current_row])
        ]:
            problems.append(f"{where}: 两行的列不一致")

    problems.extend(_summary_problems(form))
    problems.extend(_unfilled_problems(form))
    problems.extend(_narrative_problems(form))

    for rule in spec.rules:
        where = f"rules[{rule.id}]"
        if rule.when and rule.when.field not in identity_ids:
            problems.append(f"{where}.when.field: 基本信息中没有字段 “{rule.when.field}”")
        try:
            instances = expand_rule(form, rule)
        except RuleSyntaxError as exc:
            problems.append(f"{where}.assert: {exc}")
            continue
        if rule.check:
            if rule.check.sheet not in form.sheet_names:
                problems.append(f"{where}.check.sheet: 工作表 “{rule.check.sheet}” 不存在")
            if len(rule.check.cells) != len(instances):
                problems.append(
                    f"{where}.check.cells: 需要 {len(instances)} 个校验单元格，实际给出 {len(rule.check.cells)} 个"
                )
            for a1 in rule.check.cells:
                occupy(rule.check.sheet, Range.parse(a1), f"{where}.check")
            if rule.check.label:
                occupy(rule.check.sheet, Range.parse(rule.check.label.range), f"{where}.check.label")
    return problems


def _unfilled_problems(form: Form) -> list[str]:
    """The confirmation field must be a field of a fields section, and not an identity field."""
    check = form.spec.unfilled
    if check is None:
        return []
    section, field = check.ref
    identity = (form.identity_section.id, *form.identity_fields.values())
    try:
        form.field(section, field)
    except KeyError:
        return [f"unfilled.confirm: 字段 “{check.confirm}” 不存在"]
    if section == identity[0] and field in identity[1:]:
        return [f"unfilled.confirm: “{check.confirm}” 是单位身份字段，不能用作确认"]
    return []


def _summary_problems(form: Form) -> list[str]:
    """The summary's chart cell and key rows must name existing table cells and rows."""
    problems = []
    summary = form.spec.summary
    refs = [(f"summary.key_rows[{ref}]", ref.split(".")) for ref in summary.key_rows]
    if summary.chart:
        refs.append(("summary.chart.cell", summary.chart.cell.split(".")))
    for where, parts in refs:
        try:
            table = form.table(parts[0])
            row = by_id(table.rows, parts[1])
        except KeyError:
            problems.append(f"{where}: 表格或行 “{'.'.join(parts[:2])}” 不存在")
            continue
        if len(parts) == 3 and parts[2] not in {c.id for c in form.row_columns(table, row)}:
            problems.append(f"{where}: 列 “{parts[2]}” 不存在")
    return problems


def _narrative_problems(form: Form) -> list[str]:
    """Narrative checks compare with existing table cells, or with one existing field."""
    problems = []
    for i, check in enumerate(form.spec.narrative_checks):
        where = f"narrative_checks[{i}].compare"
        fields = [ref for ref in check.compare if ref.count(".") == 1]
        if fields and len(check.compare) > 1:
            problems.append(f"{where}: 字段只能单独比较，不能与其他单元格相加")
        for ref in [*check.compare, *(r for refs in check.or_compare for r in refs), *check.percent_of]:
            parts = ref.split(".")
            try:
                if len(parts) == 2:
                    form.field(parts[0], parts[1])
                    continue
                table = form.table(parts[0])
                row = by_id(table.rows, parts[1])
            except KeyError:
                problems.append(f"{where}: “{ref}” 不存在")
                continue
            if parts[2] not in {c.id for c in form.row_columns(table, row)}:
                problems.append(f"{where}: 列 “{ref}” 不存在")
    return problems


# ---------------------------------------------------------------------------------------
# Built-in forms


def _templates_dir() -> Path:
    """templates/ ships inside the wheel as tianbao/templates; a checkout uses the top level."""
    packaged = resources.files("tianbao") / "templates"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "templates"


def builtin_form_paths() -> dict[str, Path]:
    """Built-in form id -> definition file."""
    found = {}
    for path in sorted(_templates_dir().glob("*.yaml")):
        found[path.stem] = path
    return found


DEFAULT_FORM = "national-2021"


def resolve_form(form: str | Path | None) -> Form:
    """A built-in form id, a path to a definition file, or None for the default form."""
    if form is None:
        form = DEFAULT_FORM
    builtins = builtin_form_paths()
    if isinstance(form, str) and form in builtins:
        return load_form(builtins[form])
    path = Path(form)
    if path.is_file():
        return load_form(path)
    known = "、".join(builtins) or "（无）"
    raise FormDefinitionError(f"找不到表单定义 “{form}”：既不是内置表单（{known}），也不是存在的文件")
