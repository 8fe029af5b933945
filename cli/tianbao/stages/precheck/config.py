"""What the precheck looks for (templates/precheck/precheck.yaml) and district rule packs.

Both are data: patterns, keyword lists, thresholds, the roles of unit levels, and a pack's
items, deductions and caps. Ids of sections, fields and cells are checked against the form
when loaded, so a typo fails at once with a Chinese message.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tianbao.errors import UserError
from tianbao.form import Form
from tianbao.precheck_catalogue import data_dir, load_catalogue


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Copying(_Strict):
    threshold: float = Field(gt=0, le=1)
    sentence_similarity: float = Field(gt=0, le=1)
    min_sentence_chars: int = Field(ge=1)
    sentence_ends: str
    common_units: int = Field(ge=2)
    common_share: float = Field(gt=0, le=1)
    passages: int = Field(ge=1)


class Years(_Strict):
    period: str
    period_start: str
    stale: str
    as_of: str
    comparison: list[str]
    clause_ends: str
    superseded: str
    superseded_from_year: int


class Problems(_Strict):
    section: str
    min_chars: int
    empty: list[str]
    followup: list[str]


class FeeStatement(_Strict):
    section: str
    keywords: list[str]


class PartsConfig(_Strict):
    overview: str
    subpart_keywords: dict[str, list[str]]
    government_item: list[str]
    problems: Problems
    fee_statement: FeeStatement


class Fees(_Strict):
    notice_cell: str
    amount_field: str
    no_notice: list[str]
    amount: str
    multiple_of: int = Field(ge=1)


class Stock(_Strict):
    table: str
    rows: list[str]
    stock: str
    inflow: str
    outflow: str


class Tenfold(_Strict):
    factor: int = Field(ge=2)
    min_value: int = Field(ge=0)


class Numbers(_Strict):
    stocks: list[Stock]
    tenfold: Tenfold


class Percentages(_Strict):
    pattern: str
    denominators: list[list[str]]
    places: int


class Roles(_Strict):
    district: str
    levels: dict[str, str]
    government_item_roles: list[str]
    role_names: dict[str, str]


class PrecheckConfig(_Strict):
    form: str
    copying: Copying
    years: Years
    parts: PartsConfig
    fees: Fees
    numbers: Numbers
    percentages: Percentages
    deadlines: dict[str, str]
    roles: Roles
    date_line: str

    def role_of(self, kind: str, level: str) -> str:
        if kind == "district":
            return self.roles.district
        return self.roles.levels.get(level, "")

    def role_name(self, role: str) -> str:
        return self.roles.role_names.get(role, role)


def _month_day(text: str) -> str:
    if not re.fullmatch(r"(0?[1-9]|1[0-2])-(0?[1-9]|[12]\d|3[01])", text):
        raise ValueError(f"日期应写作 月-日，例如 01-31：{text}")
    return text


@cache
def load_config() -> PrecheckConfig:
    path = data_dir() / "precheck.yaml"
    try:
        config = PrecheckConfig.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        for pattern in (config.years.period, config.years.period_start, config.years.as_of,
                        config.years.superseded, config.fees.amount, config.date_line,
                        config.percentages.pattern, *config.fees.no_notice, *config.parts.problems.empty):
            re.compile(pattern)
        for day in config.deadlines.values():
            _month_day(day)
    except (OSError, yaml.YAMLError, ValidationError, re.error, ValueError) as exc:
        raise UserError(f"预检配置文件 {path} 无效：{exc}") from exc
    return config


def check_against_form(config: PrecheckConfig, form: Form) -> None:
    """The ids the configuration names exist in the form (it was written for `config.form`)."""
    if form.id != config.form:
        raise UserError(f"预检配置是为表单 {config.form} 编写的，不能用于表单 {form.id}")


def cell_value(form: Form, tables: dict, ref: str) -> Decimal:
    """table.row.column of a report's tables as a Decimal (UserError for an unknown id)."""
    try:
        table_id, row_id, column_id = ref.split(".")
        return Decimal(tables[table_id][row_id][column_id])
    except (ValueError, KeyError):
        raise UserError(f"预检配置引用了不存在的单元格：{ref}") from None


# ---------------------------------------------------------------------------------------
# District rule packs


class ContentRule(_Strict):
    part: str
    max_chars: int | None = Field(default=None, ge=1)
    needs_number: bool = False


class PackItem(_Strict):
    id: str
    title: str
    checks: list[str] = []
    cells: list[str] = []
    deduct: Decimal = Field(gt=0)
    cap: Decimal = Field(gt=0)


class Pack(_Strict):
    name: str
    full_score: Decimal = Field(gt=0)
    local_deadlines: dict[str, str] = {}
    content: list[ContentRule] = []
    items: list[PackItem] = Field(min_length=1)


def builtin_packs() -> dict[str, Path]:
    return {p.stem: p for p in sorted((data_dir() / "packs").glob("*.yaml"))}


def load_pack(name_or_path: str, form: Form) -> Pack:
    """A built-in pack by name (e.g. generic) or a pack YAML file, checked against the catalogue."""
    path = builtin_packs().get(name_or_path) or Path(name_or_path)
    if not path.is_file():
        known = "、".join(builtin_packs()) or "（无）"
        raise UserError(f"找不到评分细则 “{name_or_path}”：既不是内置细则（{known}），也不是存在的文件")
    try:
        pack = Pack.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        for day in pack.local_deadlines.values():
            _month_day(day)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValidationError, ValueError) as exc:
        raise UserError(f"评分细则 {path.name} 无效：{exc}") from exc
    catalogue = load_catalogue()
    for item in pack.items:
        if bool(item.checks) == bool(item.cells):
            raise UserError(f"评分细则 {path.name} 的项目 {item.id} 应当给出 checks 或 cells 其中之一")
        unknown = [c for c in item.checks if not catalogue.knows(c)]
        if unknown:
            raise UserError(f"评分细则 {path.name} 的项目 {item.id} 引用了不存在的检查：{'、'.join(unknown)}")
        for ref in item.cells:
            _known_cell(form, ref, path.name)
    for rule in pack.content:
        _known_part(form, rule.part, path.name)
    return pack


def _known_cell(form: Form, ref: str, source: str) -> None:
    parts = ref.split(".")
    try:
        table = form.table(parts[0])
        row = next(r for r in table.rows if r.id == parts[1])
        if len(parts) != 3 or parts[2] not in {c.id for c in form.row_columns(table, row)}:
            raise KeyError(ref)
    except (KeyError, IndexError, StopIteration):
        raise UserError(f"评分细则 {source} 引用了不存在的单元格：{ref}") from None


def _known_part(form: Form, ref: str, source: str) -> None:
    section_id, _, field_id = ref.partition(".")
    try:
        section = form.section(section_id)
    except KeyError:
        raise UserError(f"评分细则 {source} 引用了不存在的部分：{ref}") from None
    if section.kind != "fields":
        raise UserError(f"评分细则 {source} 的内容要求只能用于文字部分：{ref}")
    if field_id and field_id not in {f.id for f in section.fields}:
        raise UserError(f"评分细则 {source} 引用了不存在的部分：{ref}")
