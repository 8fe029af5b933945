"""Loading form definitions: the built-in form, and clear errors for broken ones."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import yaml

from tianbao.errors import FormDefinitionError
from tianbao.form import builtin_form_paths, load_form, parse_form, resolve_form
from tianbao.form.cache import CACHE_VARIABLE, cache_key

NATIONAL = builtin_form_paths()["national-2021"]


def _broken(mutate) -> str:
    raw = yaml.safe_load(NATIONAL.read_text(encoding="utf-8"))
    mutate(raw)
    return yaml.safe_dump(raw, allow_unicode=True)


def _error(mutate) -> str:
    with pytest.raises(FormDefinitionError) as caught:
        parse_form(_broken(mutate), "broken.yaml")
    return str(caught.value)


def test_builtin_form_loads() -> None:
    form = resolve_form("national-2021")
    assert form.id == "national-2021"
    assert len(form.input_cells) == 9 + 5 + 10 + 144 + 12 + 1 + 3
    assert len(form.fingerprint) == 64


def test_unknown_key_names_the_key() -> None:
    message = _error(lambda raw: raw["sections"][3].update(colour="red"))
    assert message.startswith("broken.yaml: ") and "sections[t3]" in message and "colour" in message


def test_missing_label_text() -> None:
    def mutate(raw):
        del raw["sections"][3]["labels"][0]["text"]

    assert "sections[t3].labels" in _error(mutate)


def test_unknown_column_in_rule() -> None:
    def mutate(raw):
        raw["rules"][0]["for_each"]["col"].append("nonexistent")

    message = _error(mutate)
    assert "rules[R1]" in message and "nonexistent" in message


def test_overlapping_cells() -> None:
    def mutate(raw):
        raw["sections"][3]["rows"][1]["row"] = 4  # carried_over onto the row of `new`

    assert "已被" in _error(mutate)


def test_computed_row_unknown() -> None:
    def mutate(raw):
        raw["sections"][3]["computed"][1]["sum_of_rows"].append("ghost_row")

    assert "ghost_row" in _error(mutate)


def test_duplicate_sheet_names() -> None:
    def mutate(raw):
        raw["sections"][4]["sheet"] = raw["sections"][3]["sheet"]

    assert "重复" in _error(mutate)


def test_yaml_syntax_error() -> None:
    with pytest.raises(FormDefinitionError, match="YAML"):
        parse_form("id: [unclosed", "x.yaml")


def test_missing_file_and_unknown_id(tmp_path: Path) -> None:
    with pytest.raises(FormDefinitionError, match="无法读取"):
        load_form(tmp_path / "none.yaml")
    with pytest.raises(FormDefinitionError, match="内置表单"):
        resolve_form("no-such-form")


def test_choice_list_must_fit_excel() -> None:
    def mutate(raw):
        raw["sections"][0]["fields"][2]["choices"] = [f"层级{i:03d}很长的名字" for i in range(40)]

    assert "255" in _error(mutate)


def test_a_field_reference_into_a_table_is_a_definition_error() -> None:
    # Once decided by `assert isinstance`, which `python -O` skips (then an AttributeError).
    def mutate(raw):
        raw["narrative_checks"][0]["compare"] = ["t2.regulations"]

    assert "narrative_checks[0].compare" in _error(mutate) and "t2.regulations" in _error(mutate)


def test_an_identity_section_that_is_a_table_is_a_definition_error() -> None:
    message = _error(lambda raw: raw.setdefault("identity", {}).update(section="t2"))
    assert "identity.section" in message and "fields" in message


@pytest.mark.parametrize("name", sorted(builtin_form_paths()))
def test_instructions_name_only_check_rows_that_exist(name: str) -> None:
    """填表说明 once sent clerks to a 校验 row under 表四, which has none: an instruction about
    the “校验” rows names exactly the sheets where the form's rules put check cells."""
    form = resolve_form(name)
    check_sheets = {rule.check.sheet for rule in form.spec.rules if rule.check is not None}
    for line in form.spec.instructions.lines:
        if "“校验”行" in line:
            before = line.split("“校验”行")[0]
            assert {sheet for sheet in form.sheet_names if sheet in before} == check_sheets, line


# ---------------------------------------------------------------------------------------
# The per-user cache of parsed definitions


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_VARIABLE, str(folder))
    return folder


def test_a_clean_definition_is_cached_and_read_back(cache_dir: Path) -> None:
    text = NATIONAL.read_text(encoding="utf-8")
    parsed = parse_form(text, "a.yaml")
    entry = cache_dir / f"{cache_key(text)}.pickle"
    assert [p.name for p in cache_dir.iterdir()] == [entry.name]
    # What the cache holds is what the next load gives: a changed title comes back.
    spec, raw = pickle.loads(entry.read_bytes())
    entry.write_bytes(pickle.dumps((spec.model_copy(update={"title": "缓存中的标题"}), raw)))
    again = parse_form(text, "b.yaml")
    assert (again.spec.title, again.source, again.fingerprint) == ("缓存中的标题", "b.yaml", parsed.fingerprint)


def test_an_edited_definition_is_a_new_entry(cache_dir: Path) -> None:
    text = NATIONAL.read_text(encoding="utf-8")
    parse_form(text, "a.yaml")
    edited = parse_form(text.replace("title:", "title:  ", 1), "a.yaml")
    assert len(list(cache_dir.iterdir())) == 2
    assert edited.fingerprint == resolve_form("national-2021").fingerprint  # same content, same form


def test_a_damaged_entry_is_parsed_again_and_replaced(cache_dir: Path) -> None:
    text = NATIONAL.read_text(encoding="utf-8")
    entry = cache_dir / f"{cache_key(text)}.pickle"
    cache_dir.mkdir()
    entry.write_bytes(b"not a pickle")
    assert parse_form(text, "a.yaml").id == "national-2021"
    assert pickle.loads(entry.read_bytes())[0].id == "national-2021"


def test_a_broken_definition_is_not_cached(cache_dir: Path) -> None:
    _error(lambda raw: raw["sections"][3].update(colour="red"))
    assert not cache_dir.exists()


def test_an_unwritable_cache_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    occupied = tmp_path / "a-file"
    occupied.write_text("x", encoding="utf-8")
    monkeypatch.setenv(CACHE_VARIABLE, str(occupied / "cache"))
    assert load_form(NATIONAL).id == "national-2021"
