"""Shared fixtures: the built-in form, and the real clients (LibreOffice, Chromium).

Tests that need a real client skip when it is missing, unless TIANBAO_REQUIRE_CLIENTS=1
(set by .ci/run), which turns the skip into a failure: then no test marked as needing a
client may skip, for whatever reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tianbao.form import Form, resolve_form
from tianbao.form.cache import CACHE_VARIABLE
from tianbao.stages.office import find_soffice

REQUIRE_CLIENTS = os.environ.get("TIANBAO_REQUIRE_CLIENTS") == "1"
# The marker of each client, by the fixture that finds it.
CLIENT_FIXTURES = {"soffice": "libreoffice", "chromium": "chromium", "chromedriver": "chromium",
                   "ssconvert": "gnumeric", "pdftotext": "poppler", "excel_metrics": "libreoffice"}
CLIENT_MARKERS = tuple(CLIENT_FIXTURES.values())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses a client's fixture carries its marker (so `-m "not libreoffice"` works)."""
    for item in items:
        for fixture in set(getattr(item, "fixturenames", ())) & CLIENT_FIXTURES.keys():
            item.add_marker(CLIENT_FIXTURES[fixture])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report = yield
    if REQUIRE_CLIENTS and report.skipped and any(item.get_closest_marker(m) for m in CLIENT_MARKERS):
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid}: a client test skipped, but TIANBAO_REQUIRE_CLIENTS=1 makes it mandatory"
    return report


def _missing(what: str) -> None:
    if REQUIRE_CLIENTS:
        pytest.fail(f"{what} is required (TIANBAO_REQUIRE_CLIENTS=1) but not installed")
    pytest.skip(f"{what} not installed")


def _client(what: str, *names: str) -> str:
    """The first of `names` on PATH; a skip (or, in CI, a failure) naming `what` otherwise."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    _missing(what)
    raise AssertionError("unreachable: _missing skips or fails")


@pytest.fixture(scope="session", autouse=True)
def form_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Parsed forms of the tests (and of the CLI they start) go to a folder of this session,
    not the user's cache."""
    folder = tmp_path_factory.mktemp("form-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_VARIABLE, str(folder))
        yield folder


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
    return _client("Chromium", "chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="session")
def chromedriver() -> str:
    """The WebDriver of the system Chromium (Debian's chromium-driver), for Selenium."""
    return _client("chromedriver (chromium-driver)", "chromedriver")


@pytest.fixture(scope="session")
def ssconvert() -> str:
    return _client("Gnumeric (ssconvert)", "ssconvert")


@pytest.fixture(scope="session")
def pdftotext() -> str:
    return _client("poppler (pdftotext)", "pdftotext")


@pytest.fixture(scope="session")
def excel_metrics(soffice: str) -> str:
    """LibreOffice with Carlito, the metric twin of Calibri (the default font of the workbooks
    the tool writes): without it LibreOffice measures columns in DejaVu Sans, a third wider
    than Excel and WPS do, and a header word that breaks in Excel prints whole."""
    fc_list = shutil.which("fc-list")
    listed = subprocess.run([fc_list, ":family=Carlito"], capture_output=True, text=True).stdout if fc_list else ""
    if "Carlito" not in listed:
        _missing("The Carlito font (fonts-crosextra-carlito)")
    return soffice
