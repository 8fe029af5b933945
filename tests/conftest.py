"""Shared fixtures: the built-in form, and the real clients (LibreOffice, Chromium).

Tests that need a real client skip when it is missing, unless TIANBAO_REQUIRE_CLIENTS=1
(set by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tianbao.formdef import Form, resolve_form
from tianbao.office import find_soffice

REQUIRE_CLIENTS = os.environ.get("TIANBAO_REQUIRE_CLIENTS") == "1"


def _missing(what: str) -> None:
    if REQUIRE_CLIENTS:
        pytest.fail(f"{what} is required (TIANBAO_REQUIRE_CLIENTS=1) but not installed")
    pytest.skip(f"{what} not installed")


@pytest.fixture(scope="session")
def form() -> Form:
    return resolve_form(None)


@pytest.fixture(scope="session")
def soffice() -> str:
    found = find_soffice()
    if found is None:
        _missing("LibreOffice (soffice)")
    return found


@pytest.fixture(scope="session")
def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    _missing("Chromium")
    raise AssertionError("unreachable")
