"""`pip install .` (not only editable) ships the form definitions inside the wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_ships_templates_and_works_installed(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next((tmp_path / "dist").glob("tianbao-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    templates = sorted(p.name for p in (ROOT / "templates").glob("*.yaml"))
    assert templates and all(f"tianbao/templates/{name}" in names for name in templates)
    # The older formats the document reader recognises are data beside the forms (templates/legacy).
    legacy = sorted(p.name for p in (ROOT / "templates" / "legacy").glob("*.yaml"))
    assert legacy == ["national-2021.yaml"]
    assert all(f"tianbao/templates/legacy/{name}" in names for name in legacy)
    # The portal's pages and stylesheet are data inside its package.
    package = ROOT / "cli" / "tianbao"
    pages = sorted(p.relative_to(package).as_posix() for p in (package / "portal").glob("*/*.*"))
    assert "portal/templates/unit.html" in pages and "portal/static/portal.css" in pages
    assert all(f"tianbao/{page}" in names for page in pages)

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    # Run from the installed copy, not the checkout: the templates must come from the wheel.
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import tianbao, tianbao.form as f;"
        "assert tianbao.__file__.startswith(sys.argv[1]), tianbao.__file__;"
        "form = f.resolve_form(None); print(form.id, f.builtin_form_paths()[form.id]);"
        "from tianbao.document.read.legacy import load_legacy_formats; print(len(load_legacy_formats(form)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(target)], check=True, capture_output=True, text=True, cwd=tmp_path
    )
    first, legacy_count = result.stdout.splitlines()
    assert first.startswith("national-2021 ") and str(target) in first
    assert int(legacy_count) >= 1  # templates/legacy/national-2021.yaml found in the installed copy
