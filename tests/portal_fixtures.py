"""A collection ready for the portal: four units with workbooks sent out, a clerk password,
a link per unit; and the workbooks units send back (good, with a warning, with an error)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from test_collection import ROSTER, unit_report
from test_reader import render
from tianbao.collection import workflow
from tianbao.collection.folder import DISTRIBUTED, Collection, create_collection
from tianbao.form import Form
from tianbao.portal import access
from tianbao.stages.distribute import distribute

PASSWORD = "审核密码-2025"
UNITS = {"A01": "区甲局", "B02": "区乙局", "C03": "区丙局", "D04": "区丁局"}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass(frozen=True)
class Ready:
    collection: Collection
    tokens: dict[str, str]  # unit code -> its link's token

    @property
    def root(self) -> Path:
        return self.collection.root


def ready_collection(folder: Path, form: Form, base_url: str = "http://127.0.0.1:8000") -> Ready:
    (folder / "roster.csv").write_text(ROSTER, encoding="utf-8")
    collection = create_collection(folder / "2025年报", folder / "roster.csv", 2025, form, None)
    sent = distribute(form, collection.roster_path, 2025, collection.folder(DISTRIBUTED), password=None, previous=None)
    workflow.record_distributed(collection, form, [(item.unit.code, item.path) for item in sent])
    access.set_password(collection, PASSWORD)
    with collection.ledger() as ledger:
        ledger.set_meta({access.URL_KEY: base_url})
    tokens = {item.unit: item.token for item in access.issue_links(collection, list(UNITS))}
    return Ready(collection, tokens)


def clean(form: Form, code: str) -> bytes:
    return render(form, unit_report(form, code, UNITS[code]))


def with_warning(form: Form, code: str) -> bytes:
    """R7: 规章 for a 区县部门 (a warning)."""
    report = unit_report(form, code, UNITS[code])
    report.tables["t2"]["regulations"]["issued"] = 1
    return render(form, report)


def with_error(form: Form, code: str, received: int = 8) -> bytes:
    """R1 in two columns: one more received than answered."""
    report = unit_report(form, code, UNITS[code])
    report.tables["t3"]["new"]["natural_person"] = received
    return render(form, report)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, html
    return found.group(1)
