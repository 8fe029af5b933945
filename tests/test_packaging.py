"""`pip install .` (not only editable) ships the form definitions inside the wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    # Run from the installed copy, not the checkout: the templates must come from the wheel.
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import tianbao, tianbao.form.spec as f;"
        "assert tianbao.__file__.startswith(sys.argv[1]), tianbao.__file__;"
        "form = f.resolve_form(None); print(form.id, f.builtin_form_paths()[form.id])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(target)], check=True, capture_output=True, text=True, cwd=tmp_path
    )
    assert result.stdout.startswith("national-2021 ") and str(target) in result.stdout
