"""The one input collector: `import dir/`, `check dir/` and `merge dir/` read the same files."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from clirun import tianbao
from test_merge import make_unit, unit_level, write_roster
from tianbao.errors import UserError
from tianbao.form import Form
from tianbao.io.inputs import collect_inputs
from tianbao.workbook.write import WriteOptions, render_workbook


def _tree(form: Form, root: Path) -> Path:
    """Two workbooks (one in a sub-folder), one report JSON, and everything a real inbox holds besides."""
    inbox = root / "inbox"
    (inbox / "乡镇" / "深").mkdir(parents=True)
    (inbox / "__MACOSX").mkdir()
    (inbox / ".git").mkdir()
    (inbox / "U1.xlsx").write_bytes(render_workbook(form, make_unit(form, "U1", "甲局", 1), WriteOptions()))
    (inbox / "乡镇" / "深" / "U2.xlsx").write_bytes(
        render_workbook(form, make_unit(form, "U2", "乙镇", 2), WriteOptions()))
    (inbox / "乡镇" / "U3.json").write_text(make_unit(form, "U3", "丙镇", 3).to_json(), encoding="utf-8")
    for junk in ("~$U1.xlsx", ".DS_Store", "Thumbs.db", "desktop.ini", "findings.csv", "findings.xlsx"):
        (inbox / junk).write_bytes(b"junk")
    (inbox / "乡镇" / "~$U2.xlsx").write_bytes(b"lock")
    (inbox / "__MACOSX" / "._U1.xlsx").write_bytes(b"resource fork")
    (inbox / ".git" / "config").write_bytes(b"[core]")
    return inbox


def test_folders_are_searched_recursively_without_junk(tmp_path: Path, form: Form) -> None:
    inbox = _tree(form, tmp_path)
    found = collect_inputs([inbox])
    assert [p.relative_to(inbox).as_posix() for p in found] == ["U1.xlsx", "乡镇/U3.json", "乡镇/深/U2.xlsx"]
    # Named files are taken as given, each once; an output folder inside the tree is skipped.
    again = collect_inputs([inbox / "Thumbs.db", inbox, inbox / "U1.xlsx"], [inbox / "乡镇"])
    assert [p.relative_to(inbox).as_posix() for p in again] == ["Thumbs.db", "U1.xlsx"]


def test_missing_and_empty_inputs_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="找不到文件或文件夹"):
        collect_inputs([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="没有找到要导入的文件"):
        collect_inputs([tmp_path / "empty"])


@pytest.mark.slow
def test_import_and_merge_of_a_folder_read_the_same_files(tmp_path: Path, form: Form) -> None:
    inbox = _tree(form, tmp_path)
    roster = write_roster(tmp_path / "roster.csv", [("U1", "甲局", ""), ("U2", "乙镇", ""), ("U3", "丙镇", "")],
                          unit_level(form))
    imported = tianbao("import", inbox, "-o", tmp_path / "imported")
    assert imported.exit_code == 1  # the report JSON is no workbook: listed as refused
    listing = openpyxl.load_workbook(tmp_path / "imported" / "findings.xlsx", read_only=True)["文件清单"]
    import_files = sorted(row[0] for row in listing.iter_rows(min_row=2, values_only=True))
    merged = tianbao("merge", inbox, "--roster", roster, "-o", tmp_path / "merged", "--unit-name", "某某区")
    assert merged.exit_code == 0, merged.output
    district = json.loads((tmp_path / "merged" / "district.json").read_text(encoding="utf-8"))
    merge_files = sorted(s["source_file"] for s in district["sources"] if s["source_file"])
    # import shows each file by its path relative to the input folder; merge by its name
    assert import_files == sorted(["U1.xlsx", str(Path("乡镇", "U3.json")), str(Path("乡镇", "深", "U2.xlsx"))])
    assert sorted(Path(name).name for name in import_files) == merge_files == ["U1.xlsx", "U2.xlsx", "U3.json"]


def test_merge_and_annotate_take_limit(tmp_path: Path, form: Form) -> None:
    """Merge and annotate read workbooks through the limited pool, so they take --limit too."""
    inbox = _tree(form, tmp_path)
    roster = write_roster(tmp_path / "roster.csv", [("U1", "甲局", "")], unit_level(form))
    merged = tianbao("merge", inbox, "--roster", roster, "-o", tmp_path / "out", "--unit-name", "某区",
                     "--limit", "max_seconds=soon")
    annotated = tianbao("annotate", inbox / "U1.xlsx", "--limit", "max_seconds=soon")
    for ran in (merged, annotated):
        assert ran.exit_code == 2 and "数值无效" in ran.output
    refused = tianbao("annotate", inbox / "U1.xlsx", "-o", tmp_path / "退回.xlsx", "--limit", "max_file_bytes=1KB")
    assert refused.exit_code == 2 and "文件过大" in refused.output
