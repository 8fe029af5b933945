"""The package's shape: layer contracts (import-linter), no private names across modules,
modules of a readable size."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cli" / "tianbao"
MAX_LINES = 400


def test_import_contracts_hold() -> None:
    """pyproject.toml [tool.importlinter]: layers cli -> stages -> … -> errors, no cycles, the
    precheck used by no other stage."""
    result = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
        cwd=ROOT, capture_output=True, text=True, encoding="utf-8", check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_imports_a_private_name_of_another() -> None:
    offenders = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tianbao"):
                offenders += [f"{path.relative_to(PACKAGE)}: {node.module}.{a.name}" for a in node.names
                              if a.name.startswith("_") and a.name != "__version__"]
    assert offenders == []


def test_long_modules_say_why() -> None:
    """No module over ~400 lines without the reason in its docstring."""
    unexplained = []
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if len(text.splitlines()) > MAX_LINES and "long" not in docstring.lower() and "longer" not in docstring:
            unexplained.append(str(path.relative_to(PACKAGE)))
    assert unexplained == []
