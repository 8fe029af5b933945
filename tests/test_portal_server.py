"""The portal as it runs: `python -m tianbao serve` on the loopback interface, with the
worker pool behind the uploads. Fifty units upload at once; and a real Chromium, driven by
Selenium, goes through a unit's and the clerk's work as people do.

With TIANBAO_PORTAL_SCREENSHOTS=FOLDER the browser test also saves the screenshots of the
main pages that the user manual shows (docs/images)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openpyxl
import pytest

from portal_fixtures import (
    PASSWORD,
    csrf_of,
    many_units,
    ready_collection,
    serving,
    with_error,
    with_warning,
)
from test_collection import unit_report
from test_reader import edited, input_cell, render
from tianbao.form import Form

HANG_GUARD = 300.0  # seconds; only so that a stuck request fails the test instead of blocking CI
UNITS_AT_ONCE = 50


def rows(root: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(root / "收集台账.db") as db:
        return db.execute(query).fetchall()


@pytest.mark.slow
def test_fifty_units_upload_at_once(tmp_path: Path, form: Form) -> None:
    units = many_units(UNITS_AT_ONCE)
    ready = ready_collection(tmp_path, form, units=units)
    # Every third unit's workbook has an error (R1); the others are clean.
    faulty = {code for number, code in enumerate(units) if number % 3 == 0}
    workbooks = {code: with_error(form, code, name=name) if code in faulty
                 else render(form, unit_report(form, code, name)) for code, name in units.items()}
    start = threading.Barrier(UNITS_AT_ONCE)

    def one_unit(code: str) -> tuple[str, int, str, str]:
        with httpx.Client(follow_redirects=True, timeout=HANG_GUARD) as client:
            page = client.get(f"{base}/u/{ready.tokens[code]}")
            csrf = csrf_of(page.text)
            start.wait()
            answer = client.post(f"{base}/u/{ready.tokens[code]}/upload", data={"csrf": csrf},
                                 files={"workbook": (f"{code}.xlsx", workbooks[code])})
            return code, answer.status_code, answer.text, answer.url.path

    with serving(ready.root) as base, ThreadPoolExecutor(UNITS_AT_ONCE) as pool:
        answers = list(pool.map(one_unit, units))
    for code, status, text, path in answers:
        assert status == 200, (code, text)
        assert path.startswith(f"/u/{ready.tokens[code]}/upload/"), (code, path)
        assert "无法打开" not in text and "请求无效" not in text
        assert ("有错误，未被接收" if code in faulty else "已接收。") in text, code
    # Every file recorded exactly once: one upload event, one version, one stored file per unit.
    assert sorted(rows(ready.root, "SELECT unit, COUNT(*) FROM events WHERE kind = 'uploaded' GROUP BY unit")) == [
        (code, 1) for code in sorted(units)]
    assert rows(ready.root, "SELECT unit, number, state FROM versions ORDER BY unit") == [
        (code, 1, "rejected" if code in faulty else "accepted") for code in sorted(units)]
    assert len(list((ready.root / "网上报送").rglob("*.xlsx"))) == UNITS_AT_ONCE
    assert sorted(p.name for p in (ready.root / "导入").glob("*.json")) == sorted(
        f"{code}_{name}_2025.json" for code, name in units.items() if code not in faulty)


# ---------------------------------------------------------------------------------------
# A real browser


@pytest.fixture
def browser(chromium: str, chromedriver: str, tmp_path: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1500",
                     "--lang=zh-CN", "--disable-gpu"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.downloads = downloads  # type: ignore[attr-defined]
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    try:
        yield driver
    finally:
        driver.quit()


def downloaded(folder: Path, name_part: str) -> Path:
    """The finished download whose name contains `name_part`."""
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        done = [p for p in folder.iterdir() if name_part in p.name and not p.name.endswith(".crdownload")]
        if done:
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no download named like {name_part}: {sorted(p.name for p in folder.iterdir())}")


def screenshot(driver: object, name: str) -> None:
    folder = os.environ.get("TIANBAO_PORTAL_SCREENSHOTS")
    if folder:
        height = driver.execute_script("return document.documentElement.scrollHeight")  # type: ignore[attr-defined]
        driver.set_window_size(1280, max(800, int(height)))  # type: ignore[attr-defined]
        driver.save_screenshot(str(Path(folder) / name))  # type: ignore[attr-defined]
        driver.set_window_size(1280, 1500)  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_unit_and_the_clerk_in_a_real_browser(browser: object, tmp_path: Path, form: Form) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = browser
    find_all = driver.find_elements  # type: ignore[attr-defined]

    def find(how: str, what: str) -> object:
        """The element, once the page that has it is loaded (a click that submits returns early)."""
        return WebDriverWait(driver, HANG_GUARD).until(expected_conditions.presence_of_element_located((how, what)))
    ready = ready_collection(tmp_path, form)
    # B02's workbook: an error (R1) and a warning (R7).
    mistakes = tmp_path / "区乙局年报.xlsx"
    report = unit_report(form, "B02", "区乙局")
    report.tables["t2"]["regulations"]["issued"] = 1
    report.tables["t3"]["new"]["natural_person"] = 8
    mistakes.write_bytes(render(form, report))
    # A01 returned earlier with a warning only, so the status table has more than one state.
    (tmp_path / "甲.xlsx").write_bytes(with_warning(form, "A01"))

    with serving(ready.root) as base:
        driver.get(f"{base}/u/{ready.tokens['A01']}")  # type: ignore[attr-defined]
        find(By.ID, "workbook").send_keys(str(tmp_path / "甲.xlsx"))
        find(By.ID, "upload").click()
        assert find(By.ID, "upload-outcome").text == "已接收"

        # The unit uploads its workbook with mistakes and sees them at once.
        driver.get(f"{base}/u/{ready.tokens['B02']}")  # type: ignore[attr-defined]
        assert find(By.ID, "unit-name").text == "区乙局"
        find(By.ID, "workbook").send_keys(str(mistakes))
        find(By.ID, "upload").click()
        assert find(By.ID, "upload-outcome").text == "退回修改"
        shown = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")[:3]]
                 for row in find_all(By.CSS_SELECTOR, "#findings tbody tr")]
        assert [(severity, place) for severity, _check, place in shown] == [
            ("错误", "表三!D6,D7,D29,D30"), ("错误", "表三!J6,J7,J29,J30"), ("警告", "表二!B5,C5,D5")]
        find(By.ID, "back").click()
        screenshot(driver, "portal-unit.png")

        # The return workbook, fixed where it says, goes back up as the next version.
        find(By.ID, "return-workbook").click()
        returned = downloaded(driver.downloads, "退回_B02")  # type: ignore[attr-defined]
        assert openpyxl.load_workbook(returned).sheetnames[0] == "错误清单"
        cell = input_cell(form, "t3", "new", "natural_person")
        fixed = tmp_path / "区乙局年报_改.xlsx"
        fixed.write_bytes(edited(returned.read_bytes(), lambda book: book[cell.sheet].__setitem__(cell.a1, 7)))
        find(By.ID, "workbook").send_keys(str(fixed))
        find(By.ID, "upload").click()
        assert find(By.ID, "upload-outcome").text == "已接收"
        assert [row.find_elements(By.TAG_NAME, "td")[2].text for row in
                find_all(By.CSS_SELECTOR, "#findings tbody tr")] == ["表二!B5,C5,D5"]

        # The clerk logs in, accepts the warning and sees the status change.
        driver.get(f"{base}/clerk")  # type: ignore[attr-defined]
        find(By.ID, "password").send_keys(PASSWORD)
        find(By.ID, "login").click()

        def status_of(code: str) -> list[str]:
            return [cell.text for cell in find(By.ID, f"unit-{code}").find_elements(By.TAG_NAME, "td")]

        assert status_of("B02")[4:] == ["2", "0", "1", "0", "第 2 版", "已接收"]
        find(By.LINK_TEXT, "区乙局").click()
        form_of_warning = find(By.CSS_SELECTOR, "#findings form.decide")
        Select(form_of_warning.find_element(By.NAME, "decision")).select_by_visible_text("已核实接受")
        form_of_warning.find_element(By.NAME, "reason").send_keys("已电话核实：受委托起草规章 1 件")
        form_of_warning.find_element(By.TAG_NAME, "button").click()
        WebDriverWait(driver, HANG_GUARD).until(
            expected_conditions.text_to_be_present_in_element((By.ID, "findings"), "已核实接受"))
        find(By.LINK_TEXT, "返回收集进度").click()
        assert status_of("B02")[4:] == ["2", "0", "0", "1", "第 2 版", "已接收"]
        assert find(By.ID, "counts").text == "共 4 个单位： 已接收 2 未报送 2"
        screenshot(driver, "portal-clerk.png")

        find(By.ID, "missing-list").click()
        listed = downloaded(driver.downloads, "催报名单")  # type: ignore[attr-defined]
        sheet = openpyxl.load_workbook(listed)["催报名单"]
        assert [row[:4] for row in sheet.iter_rows(min_row=4, values_only=True)] == [
            ("C03", "区丙局", "区县政府部门", "未报送"), ("D04", "区丁局", "区县政府部门", "未报送")]
    assert rows(ready.root, "SELECT decisions.unit, decision, json_extract(detail, '$.by') FROM decisions JOIN events "
                            "ON events.kind = 'decision' AND events.unit = decisions.unit") == [
        ("B02", "accept", "审核人员（网上审核，127.0.0.1）")]
