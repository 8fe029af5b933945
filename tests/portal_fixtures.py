"""A collection ready for the portal: four units with workbooks sent out, a clerk password,
a link per unit; and the workbooks units send back (good, with a warning, with an error)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from clirun import child_env
from test_collection import ROSTER, unit_report
from test_reader import render
from tianbao.collection import workflow
from tianbao.collection.folder import DISTRIBUTED, Collection, create_collection
from tianbao.form import Form
from tianbao.portal import access
from tianbao.stages.distribute import distribute

PASSWORD = "审核密码-2025"
UNITS = {"A01": "区甲局", "B02": "区乙局", "C03": "区丙局", "D04": "区丁局"}
STARTUP_GUARD = 60.0  # seconds; only so that a server that never answers fails the test
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass(frozen=True)
class Ready:
    collection: Collection
    tokens: dict[str, str]  # unit code -> its link's token

    @property
    def root(self) -> Path:
        return self.collection.root


def many_units(count: int) -> dict[str, str]:
    return {f"U{number:03d}": f"测试单位{number}" for number in range(1, count + 1)}


def ready_collection(folder: Path, form: Form, base_url: str = "http://127.0.0.1:8000",
                     units: dict[str, str] | None = None) -> Ready:
    """The four units of ROSTER, workbooks sent out; or `units`, none sent out."""
    roster = ROSTER if units is None else "单位代码,单位名称,单位层级\n" + "".join(
        f"{code},{name},区县政府部门\n" for code, name in units.items())
    (folder / "roster.csv").write_text(roster, encoding="utf-8")
    collection = create_collection(folder / "2025年报", folder / "roster.csv", 2025, form, None)
    if units is None:
        sent = distribute(form, collection.roster_path, 2025, collection.folder(DISTRIBUTED), password=None,
                          previous=None)
        workflow.record_distributed(collection, form, [(item.unit.code, item.path) for item in sent])
    access.set_password(collection, PASSWORD)
    with collection.ledger() as ledger:
        ledger.set_meta({access.URL_KEY: base_url})
    tokens = {item.unit: item.token for item in access.issue_links(collection, list(units or UNITS))}
    return Ready(collection, tokens)


def clean(form: Form, code: str, name: str | None = None) -> bytes:
    return render(form, unit_report(form, code, name or UNITS[code]))


def with_warning(form: Form, code: str) -> bytes:
    """R7: 规章 for a 区县部门 (a warning)."""
    report = unit_report(form, code, UNITS[code])
    report.tables["t2"]["regulations"]["issued"] = 1
    return render(form, report)


def with_error(form: Form, code: str, received: int = 8, name: str | None = None) -> bytes:
    """R1 in two columns: one more received than answered."""
    report = unit_report(form, code, name or UNITS[code])
    report.tables["t3"]["new"]["natural_person"] = received
    return render(form, report)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, html
    return found.group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(root: Path, *options: str) -> Iterator[str]:
    """`python -m tianbao serve ROOT` on a free loopback port, until the block ends; its base URL."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tianbao", "serve", str(root), "--port", str(port), *options],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                              errors="replace", env=child_env())
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_GUARD
        while True:
            try:
                with urllib.request.urlopen(f"{base}/login", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    raise RuntimeError(f"the portal did not start: {server.communicate()[0]}") from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
