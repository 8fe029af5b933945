"""The collection portal (`tianbao serve`) in process, through Starlette's TestClient: a unit's
link opens its own pages only, every form needs its CSRF token, the upload size limit holds
before anything is stored, uploads give what `tianbao import` gives, and the clerk's decisions
are the command line's, each recorded with who made it."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import openpyxl
import pytest
from starlette.testclient import TestClient

from clirun import tianbao
from portal_fixtures import PASSWORD, UNITS, Ready, clean, csrf_of, ready_collection, with_error, with_warning
from test_collection import unit_report
from test_reader import render
from tianbao.cli.portal import LINKS_CAUTION
from tianbao.form import Form
from tianbao.io.reports import load_report
from tianbao.portal.app import create_app
from tianbao.portal.desk import finding_rows
from tianbao.portal.site import Settings
from tianbao.portal.web import SECURITY_HEADERS
from tianbao.stages.intake import import_file
from tianbao.workbook.limits import Limits, limits_from

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # starlette.testclient on httpx

# Files are read in this process here: the worker pool is exercised by the real-server tests.
IN_PROCESS = limits_from(["max_seconds=0"])
GUARD = 60.0  # seconds; only so that a test whose threads never meet fails instead of hanging


@pytest.fixture
def ready(tmp_path: Path, form: Form) -> Ready:
    return ready_collection(tmp_path, form)


def client_for(ready: Ready, form: Form, limits: Limits = IN_PROCESS) -> TestClient:
    return TestClient(create_app(Settings(ready.collection, form, limits)), follow_redirects=True)


@pytest.fixture
def client(ready: Ready, form: Form) -> Iterator[TestClient]:
    with client_for(ready, form) as portal:
        yield portal


def rows(ready: Ready, query: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(ready.root / "收集台账.db") as db:
        return db.execute(query, args).fetchall()


def upload(client: TestClient, token: str, data: bytes, name: str = "报送.xlsx") -> object:
    page = client.get(f"/u/{token}")
    return client.post(f"/u/{token}/upload", data={"csrf": csrf_of(page.text)}, files={"workbook": (name, data)})


def login(client: TestClient, password: str = PASSWORD) -> object:
    page = client.get("/login")
    return client.post("/login", data={"csrf": csrf_of(page.text), "password": password})


def uploads(ready: Ready) -> list[tuple[object, ...]]:
    return rows(ready, "SELECT unit, json_extract(detail, '$.outcome'), json_extract(detail, '$.version'), "
                       "json_extract(detail, '$.by') FROM events WHERE kind = 'uploaded' ORDER BY id")


def versions(ready: Ready) -> list[tuple[object, ...]]:
    return rows(ready, "SELECT unit, number, state, open_errors, open_warnings FROM versions ORDER BY unit, number")


def stored(ready: Ready) -> list[Path]:
    return sorted((ready.root / "网上报送").rglob("*.*")) if (ready.root / "网上报送").exists() else []


def test_a_unit_uploads_sees_its_findings_downloads_the_return_workbook_and_resubmits(
        ready: Ready, client: TestClient, form: Form) -> None:
    token = ready.tokens["A01"]
    page = client.get(f"/u/{token}")
    assert page.status_code == 200
    assert "区甲局" in page.text and "还没有报送" in page.text
    blank = client.get(f"/u/{token}/workbook")
    assert blank.status_code == 200
    assert blank.content == (ready.root / "填报表" / "A01_区甲局_2025.xlsx").read_bytes()

    result = upload(client, token, with_error(form, "A01"))
    assert result.status_code == 200
    assert "/upload/" in str(result.url)
    assert "有错误，未被接收" in result.text
    assert result.text.count("表内关系：一＋二＝三（七）＋四") == 2
    assert "表三!D6,D7,D29,D30" in result.text and "表三!J6,J7,J29,J30" in result.text
    assert versions(ready) == [("A01", 1, "rejected", 2, 0)]
    [(path,)] = rows(ready, "SELECT source_file FROM versions")
    assert str(path).startswith("网上报送") and "报送" not in Path(str(path)).name  # the server's name

    returned = client.get(f"/u/{token}/return/1")
    assert returned.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(returned.content))
    assert book.sheetnames[0] == "错误清单"
    assert rows(ready, "SELECT unit, json_extract(detail, '$.by') FROM events WHERE kind = 'returned'") == [
        ("A01", "单位")]

    result = upload(client, token, clean(form, "A01"), "改正后.xlsx")
    assert "已接收" in result.text
    assert versions(ready) == [("A01", 1, "rejected", 2, 0), ("A01", 2, "accepted", 0, 0)]
    assert uploads(ready) == [("A01", "rejected", 1, "单位"), ("A01", "accepted", 2, "单位")]
    # The accepted version is the unit's report in 导入/, as after tianbao import.
    assert [p.name for p in (ready.root / "导入").glob("*.json")] == ["A01_区甲局_2025.json"]
    page = client.get(f"/u/{token}")
    assert "采用第 2 版" in page.text


def test_a_link_opens_its_own_unit_only(ready: Ready, client: TestClient, form: Form) -> None:
    a, b = ready.tokens["A01"], ready.tokens["B02"]
    upload(client, b, with_warning(form, "B02"))
    [(b_event,)] = rows(ready, "SELECT id FROM events WHERE kind = 'uploaded' AND unit = 'B02'")
    page = client.get(f"/u/{a}")
    assert "区甲局" in page.text and "区乙局" not in page.text
    # B's upload and B's version, asked for through A's link: nothing.
    assert client.get(f"/u/{a}/upload/{b_event}").status_code == 404
    assert client.get(f"/u/{a}/return/1").status_code == 404
    assert client.get(f"/u/{b}/upload/{b_event}").status_code == 200
    # A made-up or altered token opens nothing.
    assert client.get(f"/u/{a[:-1]}x").status_code == 404
    assert client.get("/u/B02").status_code == 404
    # A's link sends B's workbook: refused, and not recorded as a version of B (or A).
    result = upload(client, a, clean(form, "B02"))
    assert "属于单位 B02，不是本单位的填报表" in result.text
    assert versions(ready) == [("B02", 1, "accepted", 0, 1)]
    assert uploads(ready) == [("B02", "accepted", 1, "单位"), ("A01", "foreign", None, "单位")]
    # The ledger keeps only the tokens' digests.
    kept = [str(token) for (token,) in rows(ready, "SELECT token_sha256 FROM portal_links")]
    assert len(kept) == 4 and a not in kept and b not in kept


def test_renewing_a_link_ends_the_old_one(ready: Ready, client: TestClient) -> None:
    from tianbao.portal.access import issue_links

    old = ready.tokens["C03"]
    [renewed] = issue_links(ready.collection, ["C03"], renew=True)
    assert client.get(f"/u/{old}").status_code == 404
    assert client.get(f"/u/{renewed.token}").status_code == 200


def test_every_form_needs_its_csrf_token(ready: Ready, client: TestClient, form: Form) -> None:
    token = ready.tokens["A01"]
    page = client.get(f"/u/{token}")
    files = {"workbook": ("a.xlsx", clean(form, "A01"))}
    assert client.post(f"/u/{token}/upload", files=files).status_code == 403
    assert client.post(f"/u/{token}/upload", data={"csrf": "forged"}, files=files).status_code == 403
    # The right token sent from another site's page.
    refused = client.post(f"/u/{token}/upload", data={"csrf": csrf_of(page.text)}, files=files,
                          headers={"origin": "http://evil.example"})
    assert refused.status_code == 403
    assert "请求无效" in refused.text
    assert stored(ready) == [] and uploads(ready) == []
    # Login and the clerk's forms too.
    assert client.post("/login", data={"password": PASSWORD}).status_code == 403
    assert rows(ready, "SELECT COUNT(*) FROM events WHERE kind LIKE 'portal_login%'") == [(0,)]
    assert login(client).status_code == 200
    for action, data in (("/clerk/unit/A01/decide", {"rule": "R7", "place": "", "decision": "fix"}),
                         ("/clerk/unit/A01/reopen", {"reason": "核对"}), ("/clerk/merge", {"unit_name": "某某区"})):
        assert client.post(action, data={**data, "csrf": "forged"}).status_code == 403, action
    assert client.post("/logout", data={}).status_code == 403
    assert rows(ready, "SELECT COUNT(*) FROM events WHERE kind IN ('decision', 'reopened', 'merged')") == [(0,)]


def test_an_upload_over_the_limit_is_refused_before_anything_is_stored(ready: Ready, form: Form) -> None:
    small = limits_from(["max_seconds=0", "max_file_bytes=40KB"])
    with client_for(ready, form, small) as client:
        token = ready.tokens["A01"]
        csrf = csrf_of(client.get(f"/u/{token}").text)
        big = clean(form, "A01") + b"\0" * 200_000
        declared = client.post(f"/u/{token}/upload", data={"csrf": csrf}, files={"workbook": ("a.xlsx", big)})
        assert declared.status_code == 413
        assert "上传的文件不能超过 40 KB，文件没有保存。" in declared.text
        # Without a declared length (chunked), the body stops being read at the limit.
        boundary = "tianbao-boundary"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"workbook\"; filename=\"a.xlsx\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode() + big + f"\r\n--{boundary}--\r\n".encode()
        read: list[int] = []

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(body), 16_384):
                read.append(start)
                yield body[start:start + 16_384]

        streamed = client.post(f"/u/{token}/upload", content=chunks(),
                               headers={"content-type": f"multipart/form-data; boundary={boundary}"})
        assert streamed.status_code == 413
        assert stored(ready) == [] and uploads(ready) == [] and versions(ready) == []


def test_only_the_formats_import_reads_are_stored(ready: Ready, client: TestClient, form: Form) -> None:
    refused = upload(client, ready.tokens["A01"], b"code,name\n", "名单.csv")
    assert refused.status_code == 400
    assert "文件类型不对" in refused.text
    assert stored(ready) == []


def test_an_unreadable_file_is_refused_in_the_words_of_tianbao_import(
        ready: Ready, client: TestClient, form: Form) -> None:
    result = upload(client, ready.tokens["A01"], b"\x00" * 1000, "年报.xlsx")
    assert "无法读取" in result.text
    [(file,)] = rows(ready, "SELECT file FROM events WHERE kind = 'uploaded'")
    [finding] = import_file(ready.root / str(file), form, name=str(file), limits=IN_PROCESS).findings
    assert finding.message in result.text
    assert uploads(ready) == [("A01", "unreadable", None, "单位")]
    assert client.get(f"/u/{ready.tokens['A01']}").text.count("无法读取") == 1  # the upload's line; no version


@pytest.mark.slow
def test_hostile_files_are_refused_exactly_as_by_tianbao_import(
        ready: Ready, client: TestClient, form: Form, tmp_path: Path) -> None:
    from corpus import build

    roster = ready.collection.roster(form)
    corpus = tmp_path / "corpus"
    hostile = [case.name for case in build(corpus, form) if case.rule == "file.unreadable"]
    assert len(hostile) >= 10
    token = ready.tokens["D04"]
    for name in hostile:
        upload(client, token, (corpus / name).read_bytes(), name)
    recorded = rows(ready, "SELECT file, detail FROM events WHERE kind = 'uploaded' ORDER BY id")
    assert len(recorded) == len(hostile)
    names = client.app.state.portal.names  # type: ignore[attr-defined]
    for (file, detail), name in zip(recorded, hostile, strict=True):
        by_import = import_file(ready.root / str(file), form, roster=roster, year=2025, name=str(file),
                                limits=IN_PROCESS)
        assert by_import.report is None, name
        assert json.loads(str(detail))["findings"] == finding_rows(by_import.findings, names), name
        assert json.loads(str(detail))["outcome"] == "unreadable", name
    assert versions(ready) == [("", n, "unreadable", 1, 0) for n in range(1, len(hostile) + 1)]


def test_the_clerk_logs_in_and_decides_as_the_command_line_does(ready: Ready, client: TestClient,
                                                                form: Form) -> None:
    upload(client, ready.tokens["B02"], with_warning(form, "B02"))
    upload(client, ready.tokens["C03"], with_error(form, "C03"))
    assert client.get("/clerk").url.path == "/login"
    assert login(client, "wrong password").status_code == 401
    status = login(client)
    assert status.url.path == "/clerk"
    assert "共 4 个单位：" in status.text
    assert rows(ready, "SELECT kind, json_extract(detail, '$.by') FROM events WHERE kind LIKE 'portal_login%'") == [
        ("portal_login_failed", "审核人员"), ("portal_login", "审核人员")]

    unit = client.get("/clerk/unit/B02")
    decided = client.post("/clerk/unit/B02/decide", data={
        "csrf": csrf_of(unit.text), "rule": "R7", "place": "表二!B5,C5,D5", "decision": "accept",
        "reason": "已电话核实：受委托起草规章 1 件"})
    assert decided.status_code == 200, decided.text
    assert rows(ready, "SELECT unit, rule, decision, reason FROM decisions") == [
        ("B02", "R7", "accept", "已电话核实：受委托起草规章 1 件")]
    assert rows(ready, "SELECT json_extract(detail, '$.by') FROM events WHERE kind = 'decision'") == [
        ("审核人员（网上审核，testclient）",)]
    assert ("B02", 1, "accepted", 0, 0) in versions(ready)

    # An error cannot be merely accepted; overriding needs a reason; then the version is accepted.
    refused = client.post("/clerk/unit/C03/decide", data={
        "csrf": csrf_of(unit.text), "rule": "R1", "place": "表三!D6,D7,D29,D30", "decision": "accept",
        "reason": "x"})
    assert refused.status_code == 400
    assert "错误不能“已核实接受”" in refused.text
    for cell in ("D6,D7,D29,D30", "J6,J7,J29,J30"):
        client.post("/clerk/unit/C03/decide", data={
            "csrf": csrf_of(unit.text), "rule": "R1", "place": f"表三!{cell}", "decision": "override",
            "reason": "与来文登记簿一致"})
    assert ("C03", 1, "accepted", 0, 0) in versions(ready)

    reopened = client.post("/clerk/unit/C03/reopen", data={"csrf": csrf_of(unit.text), "reason": "请重新核对"})
    assert "已重新打开" in reopened.text
    assert rows(ready, "SELECT unit, json_extract(detail, '$.reason'), json_extract(detail, '$.by') FROM events "
                       "WHERE kind = 'reopened'") == [("C03", "请重新核对", "审核人员（网上审核，testclient）")]
    # The unit sees the clerk's decisions and the reopening.
    page = client.get(f"/u/{ready.tokens['C03']}")
    assert "第 1 版被重新打开：请重新核对" in page.text
    assert "确认无误（覆盖错误）——与来文登记簿一致" in page.text


def test_the_clerk_downloads_the_missing_list_and_merges(ready: Ready, client: TestClient, form: Form) -> None:
    upload(client, ready.tokens["A01"], clean(form, "A01"))
    upload(client, ready.tokens["C03"], with_error(form, "C03"))
    login(client)
    missing = client.get("/clerk/missing.xlsx")
    assert missing.status_code == 200
    listed = list(openpyxl.load_workbook(io.BytesIO(missing.content))["催报名单"].iter_rows(min_row=4,
                                                                                          values_only=True))
    assert listed == [("B02", "区乙局", "区县政府部门", "未报送", "李四", "0571-2222", 0, 0),
                      ("C03", "区丙局", "区县政府部门", "需修改", "王五", "0571-3333", 1, 2),
                      ("D04", "区丁局", "区县政府部门", "未报送", "赵六", "0571-4444", 0, 0)]
    assert client.get("/clerk/report").status_code == 404
    status = client.get("/clerk")
    merged = client.post("/clerk/merge", data={"csrf": csrf_of(status.text), "unit_name": "某某区",
                                               "unit_code": "QX"})
    assert merged.status_code == 200
    assert "已汇总 1 个单位" in merged.text
    preview = client.get("/clerk/report")
    assert preview.status_code == 200
    assert "某某区2025年政府信息公开工作年度报告" in preview.text
    assert "sandbox" in preview.headers["content-security-policy"]
    assert (ready.root / "汇总" / "district.json").is_file()


def test_pages_carry_the_security_headers(ready: Ready, client: TestClient) -> None:
    cookie = client.get("/login").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    for path in ("/login", f"/u/{ready.tokens['A01']}", "/u/nothing", "/static/portal.css"):
        response = client.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)


def test_a_new_password_counts_at_once(ready: Ready, client: TestClient) -> None:
    from tianbao.portal.access import set_password

    set_password(ready.collection, "另一个审核密码-2026")
    assert login(client).status_code == 401
    assert login(client, "另一个审核密码-2026").url.path == "/clerk"


def test_logins_from_one_address_are_throttled(client: TestClient) -> None:
    for _ in range(5):
        assert login(client, "wrong password").status_code == 401
    assert login(client).status_code == 429


def test_the_portal_commands(tmp_path: Path, form: Form) -> None:
    ready = ready_collection(tmp_path, form)
    root = ready.root
    ran = tianbao("portal", "password", root, stdin="短\n短\n")
    assert ran.exit_code == 2 and "密码太短" in ran.stderr
    ran = tianbao("portal", "password", root, stdin="新的审核密码-2025\n不一样的密码\n")
    assert ran.exit_code == 2 and "两次输入的密码不一致" in ran.stderr
    ran = tianbao("portal", "password", root, stdin="新的审核密码-2025\n新的审核密码-2025\n")
    assert ran.exit_code == 0, ran.output
    assert ready.collection.meta()["portal_password"].startswith("$argon2id$")
    ran = tianbao("portal", "links", root)
    assert "所有单位都已有链接" in ran.stdout
    ran = tianbao("portal", "url", "ftp://x", root)
    assert ran.exit_code == 2 and "门户地址“ftp://x”无效" in ran.stderr
    assert tianbao("portal", "url", "http://10.1.2.3:8080/", root).exit_code == 0
    ran = tianbao("portal", "links", root, "--renew", "B02")
    assert ran.exit_code == 0, ran.output
    [line] = [line for line in ran.stdout.splitlines() if line.startswith("B02")]
    token = line.removeprefix("B02  区乙局  http://10.1.2.3:8080/u/")
    assert len(token) == 32 and line != token
    [links] = list(root.glob("网上报送链接_*.csv"))
    said = "".join(ran.stdout.split())  # the console wraps long lines
    assert f"网上报送链接已保存在{links}：请分别发给各单位，不要外传。{LINKS_CAUTION.replace(' ', '')}" in said
    assert links.read_text(encoding="utf-8-sig").splitlines() == [
        "单位代码,单位名称,填报表,网上报送链接,联系人,电话", f"B02,区乙局,,http://10.1.2.3:8080/u/{token},李四,0571-2222"]


def test_distribute_prints_each_units_link_beside_its_workbook(tmp_path: Path) -> None:
    roster = "单位代码,单位名称,单位层级\nA01,区甲局,区县政府部门\nB02,区乙局,区县政府部门\n"
    (tmp_path / "roster.csv").write_text(roster, encoding="utf-8")
    root = tmp_path / "2025年报"
    assert tianbao("init", root, "--roster", tmp_path / "roster.csv", "--year", "2025").exit_code == 0
    assert tianbao("portal", "url", "http://10.1.2.3:8000", root).exit_code == 0
    ran = tianbao("distribute", "--collection", root)
    assert ran.exit_code == 0, ran.output
    shown = [line.split("  ") for line in ran.stdout.splitlines() if line.startswith(("A01", "B02"))]
    assert [line[:3] for line in shown] == [["A01", "区甲局", "A01_区甲局_2025.xlsx"],
                                            ["B02", "区乙局", "B02_区乙局_2025.xlsx"]]
    assert all(line[3].startswith("http://10.1.2.3:8000/u/") for line in shown)
    [links] = list(root.glob("网上报送链接_*.csv"))
    said = "".join(ran.stdout.split())  # the console wraps long lines
    assert f"：请随填报表分别发给各单位，不要外传。{LINKS_CAUTION.replace(' ', '')}" in said
    assert [row.split(",")[2:4] for row in links.read_text(encoding="utf-8-sig").splitlines()[1:]] == [
        [line[2], line[3]] for line in shown]
    # Sent again (--force): the links already given stay valid, none is printed twice.
    ran = tianbao("distribute", "--collection", root, "--force")
    assert ran.exit_code == 0, ran.output
    assert not [line for line in ran.stdout.splitlines() if "/u/" in line]


def test_serve_needs_the_clerk_password(tmp_path: Path) -> None:
    (tmp_path / "roster.csv").write_text("单位代码,单位名称,单位层级\nA01,区甲局,区县政府部门\n", encoding="utf-8")
    root = tmp_path / "2025年报"
    assert tianbao("init", root, "--roster", tmp_path / "roster.csv", "--year", "2025").exit_code == 0
    ran = tianbao("serve", root)
    assert ran.exit_code == 2
    assert "还没有设置审核密码：请先运行 tianbao portal password" in ran.stderr


def test_serve_says_in_chinese_when_its_port_is_taken(tmp_path: Path, form: Form) -> None:
    import socket

    ready = ready_collection(tmp_path, form)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ran = tianbao("serve", ready.root, "--port", taken.getsockname()[1])
    assert ran.exit_code == 2
    assert "端口已被占用" in ran.stderr


def test_other_commands_load_no_web_framework() -> None:
    """`tianbao --version` and every other command's start-up stay as light as before."""
    probe = ("import sys; from tianbao.cli.app import app; import typer; typer.main.get_command(app); "
             "print(sorted(m for m in ('starlette', 'uvicorn', 'jinja2', 'argon2', 'multipart', 'itsdangerous') "
             "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


ENGLISH = ("Too many", "Maximum", "boundary", "multipart", "Invalid", "Bad Request")


def test_a_malformed_form_is_refused_in_chinese(ready: Ready, client: TestClient, form: Form) -> None:
    """Starlette's own English reasons (two files, an extra field, no boundary) never reach the page."""
    token = ready.tokens["A01"]
    csrf = csrf_of(client.get(f"/u/{token}").text)
    workbook = clean(form, "A01")
    two_files = client.post(f"/u/{token}/upload", data={"csrf": csrf},
                            files=[("workbook", ("a.xlsx", workbook)), ("workbook", ("b.xlsx", workbook))])
    extra_fields = client.post(f"/u/{token}/upload", data={"csrf": csrf, "one": "1", "two": "2"},
                               files={"workbook": ("a.xlsx", workbook)})
    no_boundary = client.post(f"/u/{token}/upload", content=b"--x\r\n\r\n",
                              headers={"content-type": "multipart/form-data"})
    login(client)
    extra_login_fields = client.post("/logout", data={"csrf": csrf, "a": "1", "b": "2"})
    for answer in (two_files, extra_fields, no_boundary, extra_login_fields):
        assert answer.status_code == 400
        assert "提交的内容不完整或格式不对" in answer.text
        assert [word for word in ENGLISH if word.lower() in answer.text.lower()] == []
    assert stored(ready) == [] and uploads(ready) == []


def test_an_error_page_shows_no_framework_words(ready: Ready, client: TestClient) -> None:
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "没有这个页面" in missing.text and "Not Found" not in missing.text
    wrong_method = client.delete("/login")
    assert wrong_method.status_code == 405 and "不支持这种请求方式" in wrong_method.text
    assert "Method Not Allowed" not in wrong_method.text
    gone = client.get("/u/not-a-token")
    assert gone.status_code == 404 and "链接无效或已作废" in gone.text


def test_a_return_workbook_sent_back_unchanged_is_skipped_as_by_tianbao_import(
        ready: Ready, client: TestClient, form: Form) -> None:
    token = ready.tokens["A01"]
    upload(client, token, with_error(form, "A01"))
    returned = client.get(f"/u/{token}/return/1").content
    result = upload(client, token, returned, "退回_A01_第1版.xlsx")
    assert result.status_code == 200
    assert "内容与退回时相同（还没有修改），没有作为新的一版" in result.text
    assert result.text.count("表内关系：一＋二＝三（七）＋四") == 2  # what is still to correct
    assert versions(ready) == [("A01", 1, "rejected", 2, 0)]
    assert uploads(ready) == [("A01", "rejected", 1, "单位"), ("A01", "skipped", None, "单位")]
    [(file,)] = rows(ready, "SELECT file FROM events WHERE kind = 'uploaded' ORDER BY id DESC LIMIT 1")
    assert rows(ready, "SELECT unit, file, json_extract(detail, '$.rule'), json_extract(detail, '$.by') "
                       "FROM events WHERE kind = 'skipped'") == [("A01", file, "file.return_workbook", "单位")]
    page = client.get(f"/u/{token}")
    assert "最近一次上传的是退回修改用的工作簿，内容与退回时相同（还没有修改），没有作为新的一版" in page.text
    assert "未修改的退回工作簿，未作为新的一版" in page.text
    # A corrected workbook is the next version, and the note is gone.
    upload(client, token, clean(form, "A01"), "改正后.xlsx")
    assert versions(ready) == [("A01", 1, "rejected", 2, 0), ("A01", 2, "accepted", 0, 0)]
    assert "最近一次上传的是退回修改用的工作簿" not in client.get(f"/u/{token}").text


def warned_version(form: Form, code: str, number: int) -> bytes:
    """with_warning's report (R7), a different file each number: another version of the unit."""
    report = unit_report(form, code, UNITS[code])
    report.tables["t2"]["regulations"]["issued"] = 1
    report.fields["basic"]["preparer"] = f"填报人{number}"
    return render(form, report)


def test_a_decision_made_while_an_upload_is_read_reaches_the_new_version(
        ready: Ready, form: Form, monkeypatch: pytest.MonkeyPatch) -> None:
    """The clerk decides while the desk reads a unit's new upload: whichever is recorded first,
    导入/ holds the version the ledger takes, and that version carries the decision."""
    from tianbao.portal import desk

    reading, decided = threading.Event(), threading.Event()
    read = desk.import_many

    def held_at_reading(*args: object, **kwargs: object) -> Iterator[object]:
        reading.set()
        decided.wait(GUARD)
        yield from read(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(desk, "import_many", held_at_reading)
    token, place = ready.tokens["B02"], "表二!B5,C5,D5"
    app = create_app(Settings(ready.collection, form, IN_PROCESS))
    with TestClient(app, follow_redirects=True) as clerk:
        unit = TestClient(app, follow_redirects=True)
        decided.set()
        upload(unit, token, warned_version(form, "B02", 0))
        login(clerk)
        csrf = csrf_of(clerk.get("/clerk/unit/B02").text)
        answers: list[int] = []

        def send(number: int) -> None:
            answers.append(upload(unit, token, warned_version(form, "B02", number)).status_code)  # type: ignore[attr-defined]

        rounds = 3
        for number in range(1, rounds + 1):
            reason = f"第 {number} 次核实"
            reading.clear()
            decided.clear()
            sending = threading.Thread(target=send, args=(number,))
            sending.start()
            assert reading.wait(GUARD)
            decision = clerk.post("/clerk/unit/B02/decide", data={
                "csrf": csrf, "rule": "R7", "place": place, "decision": "accept", "reason": reason})
            decided.set()
            sending.join()
            assert decision.status_code == 200 and answers == [200] * number
            [(latest, report_json)] = rows(ready, "SELECT number, report_json FROM versions WHERE unit = 'B02' "
                                                  "AND state = 'accepted' ORDER BY number DESC LIMIT 1")
            assert latest == number + 1
            [published] = (ready.root / "导入").glob("B02_*.json")
            assert published.read_bytes() == (ready.root / str(report_json)).read_bytes(), number
            [finding] = [f for f in load_report(published).findings if f.rule == "R7"]
            assert finding.review is not None and (finding.review.decision, finding.review.reason) == (
                "accept", reason), number
    assert rows(ready, "SELECT json_extract(detail, '$.reason') FROM events WHERE kind = 'decision' ORDER BY id") == [
        (f"第 {number} 次核实",) for number in range(1, rounds + 1)]
    assert versions(ready) == [("B02", number, "accepted", 0, 0) for number in range(1, rounds + 2)]


def test_whatever_changes_the_collection_runs_under_the_write_lock(
        ready: Ready, client: TestClient, form: Form, monkeypatch: pytest.MonkeyPatch) -> None:
    """Recording an upload, a decision, a reopening, a return workbook, a merge: each holds the
    portal's one lock, so none runs beside another (nor two merges toggling gc.freeze)."""
    from tianbao.collection.recorder import CollectionImport
    from tianbao.portal import clerk, site

    portal = client.app.state.portal  # type: ignore[attr-defined]
    held: dict[str, bool] = {}

    def watched(name: str, action: Callable[..., object]) -> Callable[..., object]:
        def run(*args: object, **kwargs: object) -> object:
            held[name] = portal.writing.locked()
            return action(*args, **kwargs)
        return run

    monkeypatch.setattr(CollectionImport, "record", watched("upload", CollectionImport.record))
    for module, name in ((clerk, "record_decisions"), (clerk, "reopen"), (clerk, "run_merge"),
                         (site, "return_workbook")):
        monkeypatch.setattr(module, name, watched(name, getattr(module, name)))
    upload(client, ready.tokens["B02"], with_warning(form, "B02"))
    client.get(f"/u/{ready.tokens['B02']}/return/1")
    login(client)
    csrf = csrf_of(client.get("/clerk/unit/B02").text)
    client.post("/clerk/unit/B02/decide", data={"csrf": csrf, "rule": "R7", "place": "表二!B5,C5,D5",
                                                "decision": "accept", "reason": "已核实"})
    client.post("/clerk/merge", data={"csrf": csrf, "unit_name": "某某区", "unit_code": "QX"})
    client.post("/clerk/unit/B02/reopen", data={"csrf": csrf, "reason": "请重新核对"})
    assert held == {"upload": True, "return_workbook": True, "record_decisions": True, "run_merge": True,
                    "reopen": True}
    assert not portal.writing.locked()


def test_a_damaged_version_json_is_said_to_be_unreadable_not_shown_as_no_findings(
        ready: Ready, client: TestClient, form: Form) -> None:
    token = ready.tokens["C03"]
    upload(client, token, with_error(form, "C03"))
    [(report_json,)] = rows(ready, "SELECT report_json FROM versions WHERE unit = 'C03'")
    (ready.root / str(report_json)).write_text("{\"unit\": ", encoding="utf-8")
    [(event,)] = rows(ready, "SELECT id FROM events WHERE kind = 'uploaded'")
    login(client)
    for page in (client.get(f"/u/{token}"), client.get(f"/u/{token}/upload/{event}"), client.get("/clerk/unit/C03")):
        assert page.status_code == 200
        assert page.text.count("这一版的校验结果无法读取") == 1
        assert "没有发现问题" not in page.text and "没有问题。" not in page.text
        assert 'id="findings"' not in page.text
