"""The year's collection as one tracked workflow: ledger, versions, decisions, status, 催报."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import time
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from clirun import start, tianbao
from test_reader import edited, input_cell, render, sample_report
from tianbao.collection.decisions import apply_decisions
from tianbao.collection.ledger import Decision
from tianbao.form import Form
from tianbao.io.reports import load_report
from tianbao.report import Finding, Report
from tianbao.rules.check import recompute

ROSTER = (
    "单位代码,单位名称,单位层级,联系人,电话\n"
    "A01,区甲局,区县政府部门,张三,0571-1111\n"
    "B02,区乙局,区县政府部门,李四,0571-2222\n"
    "C03,区丙局,区县政府部门,王五,0571-3333\n"
    "D04,区丁局,区县政府部门,赵六,0571-4444\n"
)


def unit_report(form: Form, code: str, name: str) -> Report:
    return sample_report(form, code=code, name=name, year=2025)


def ledger_rows(root: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(root / "收集台账.db") as db:
        return db.execute(query).fetchall()


def versions(root: Path) -> list[tuple[object, ...]]:
    return ledger_rows(root, "SELECT unit, number, state, open_errors, open_warnings FROM versions "
                             "ORDER BY unit, number")


def assert_ledger_matches_files(root: Path, *, copies: bool = True) -> None:
    """Every version points to its JSON, whose provenance is that file; 导入/ holds exactly the
    latest accepted version of each unit (a copy made after the ledger records the version, so
    a kill may leave the last one missing until the rerun: `copies=False`)."""
    accepted: dict[str, str] = {}
    for unit, sha, state, path in ledger_rows(root, "SELECT unit, sha256, state, report_json FROM versions "
                                                    "ORDER BY unit, number"):
        report = load_report(root / str(path))
        assert (report.unit.code, report.provenance.sha256) == (unit, sha)
        if state == "accepted":
            accepted[str(unit)] = str(sha)
    published = {r.unit.code: r.provenance.sha256 for r in map(load_report, sorted((root / "导入").glob("*.json")))}
    if copies:
        assert published == accepted
    else:
        assert published.items() <= accepted.items() and len(accepted) - len(published) <= 1


def write_return(path: Path, data: bytes, when: float) -> None:
    path.write_bytes(data)
    # Versions are numbered in the order files arrived (modification time).
    import os

    os.utime(path, (when, when))


@pytest.mark.slow
def test_a_whole_year_in_a_collection(tmp_path: Path, form: Form) -> None:
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    root = tmp_path / "2025年报"
    assert tianbao("init", root, "--roster", tmp_path / "roster.csv", "--year", "2025").exit_code == 0
    assert sorted(p.name for p in root.iterdir()) == sorted(
        ["收集台账.db", "单位名单.csv", "填报表", "收回", "导入", "退回", "汇总", "发布"])

    ran = tianbao("distribute", cwd=root)  # inside the folder: roster, year and 填报表/ come from it
    assert ran.exit_code == 0, ran.output
    assert len(list((root / "填报表").glob("*.xlsx"))) == 4
    assert ledger_rows(root, "SELECT unit FROM events WHERE kind = 'distributed' ORDER BY id") == [
        ("A01",), ("B02",), ("C03",), ("D04",)]

    # Three units return: A clean, B with a warning (R7: 规章 for a 区县部门), C with an error (R1).
    inbox = root / "收回"
    a = unit_report(form, "A01", "区甲局")
    b = unit_report(form, "B02", "区乙局")
    b.tables["t2"]["regulations"]["issued"] = 1
    c = unit_report(form, "C03", "区丙局")
    c.tables["t3"]["new"]["natural_person"] = 8  # one more received than answered: R1
    write_return(inbox / "A01.xlsx", render(form, a), 1_000)
    write_return(inbox / "B02.xlsx", render(form, b), 1_001)
    write_return(inbox / "C03.xlsx", render(form, c), 1_002)
    ran = tianbao("import", "--collection", root, inbox)
    assert ran.exit_code == 1, ran.output  # C is rejected
    assert "仍未报送或未通过校验的单位（2 个）：区丙局（C03）、区丁局（D04）" in ran.stdout
    assert versions(root) == [("A01", 1, "accepted", 0, 0), ("B02", 1, "accepted", 0, 1),
                              ("C03", 1, "rejected", 2, 0)]
    assert_ledger_matches_files(root)

    # The batch of return workbooks goes to 退回/, never into 收回/.
    ran = tianbao("annotate", inbox, cwd=root)
    assert ran.exit_code == 0, ran.output
    assert sorted(p.name for p in (root / "退回").iterdir()) == ["退回_B02.xlsx", "退回_C03.xlsx"]
    assert ledger_rows(root, "SELECT unit, file FROM events WHERE kind = 'returned' ORDER BY id") == [
        ("B02", "退回_B02.xlsx"), ("C03", "退回_C03.xlsx")]

    # The untouched return workbook lands in 收回/ by mistake: skipped, not a version.
    write_return(inbox / "退回_C03.xlsx", (root / "退回" / "退回_C03.xlsx").read_bytes(), 1_003)
    # C corrects its return workbook and sends it back: the second version.
    cell = input_cell(form, "t3", "new", "natural_person")
    corrected = edited((root / "退回" / "退回_C03.xlsx").read_bytes(),
                       lambda book: book[cell.sheet].__setitem__(cell.a1, 7))
    write_return(inbox / "C03_改.xlsx", corrected, 1_004)
    ran = tianbao("import", inbox, cwd=root)
    # C03.xlsx, the first version, is refused again but superseded: not listed as 退回, exit 0.
    assert ran.exit_code == 0, ran.output
    assert "旧版本 C03.xlsx：该单位已有更新的版本通过校验，这一版不必再处理" in ran.stdout
    assert "退回 C03.xlsx" not in ran.stdout
    assert "仍未报送或未通过校验的单位（1 个）：区丁局（D04）" in ran.stdout
    assert "跳过 退回_C03.xlsx：这是 tianbao 生成的退回修改用工作簿，内容与退回时相同" in ran.stdout
    assert versions(root) == [("A01", 1, "accepted", 0, 0), ("B02", 1, "accepted", 0, 1),
                              ("C03", 1, "rejected", 2, 0), ("C03", 2, "accepted", 0, 0)]
    assert_ledger_matches_files(root)

    # The reviewer accepts B's warning in findings.xlsx; an error cannot be merely accepted.
    findings = root / "导入" / "findings.xlsx"
    book = openpyxl.load_workbook(findings)
    sheet = book["问题清单"]
    header = [c.value for c in sheet[1]]
    r7 = next(row for row in sheet.iter_rows(min_row=2) if row[header.index("规则")].value == "R7")
    r7[header.index("审核处理")].value = "已核实接受"
    r7[header.index("审核说明")].value = "已电话核实：该局受委托起草规章 1 件"
    book.save(findings)
    ran = tianbao("review", findings, cwd=root)
    assert ran.exit_code == 0, ran.output
    assert "已记录 1 项审核决定（0 项与已有决定相同）" in ran.stdout
    refused = tianbao("review", "--unit", "C03", "--check", "R1", "--cell", "表三!D6,D7,D29,D30",
                      "--accept", "--reason", "x", cwd=root)
    assert refused.exit_code in (1, 2), refused.output
    assert ledger_rows(root, "SELECT unit, rule, decision, reason FROM decisions") == [
        ("B02", "R7", "accept", "已电话核实：该局受委托起草规章 1 件")]

    # Re-importing everything keeps the decision and adds no version.
    ran = tianbao("import", inbox, cwd=root)
    assert ran.exit_code == 0, ran.output  # only the superseded C03.xlsx is refused
    assert versions(root) == [("A01", 1, "accepted", 0, 0), ("B02", 1, "accepted", 0, 0),
                              ("C03", 1, "rejected", 2, 0), ("C03", 2, "accepted", 0, 0)]
    assert ledger_rows(root, "SELECT COUNT(*) FROM events WHERE kind = 'received'") == [(4,)]
    b_json = load_report(root / "导入" / "B02_区乙局_2025.json")
    reviewed = [f for f in b_json.findings if f.review is not None]
    assert [(f.rule, f.review.decision, f.review.reason) for f in reviewed] == [
        ("R7", "accept", "已电话核实：该局受委托起草规章 1 件")]
    assert_ledger_matches_files(root)

    # D is still missing: in status and in the 催报名单 with its contact.
    ran = tianbao("status", cwd=root)
    assert ran.exit_code == 0, ran.output
    assert "共 4 个单位：已接收 3，未报送 1" in ran.stdout
    ran = tianbao("status", "--missing", "-o", tmp_path / "催报名单.xlsx", cwd=root)
    assert ran.exit_code == 0, ran.output
    rows = list(openpyxl.load_workbook(tmp_path / "催报名单.xlsx")["催报名单"].iter_rows(min_row=4, values_only=True))
    assert rows == [("D04", "区丁局", "区县政府部门", "未报送", "赵六", "0571-4444", 0, 0)]

    # The merge sums the accepted versions (C's second).
    ran = tianbao("merge", "--unit-name", "某某区", cwd=root)
    assert ran.exit_code == 0, ran.output
    district = load_report(root / "汇总" / "district.json")
    accepted = dict(ledger_rows(root, "SELECT unit, report_json FROM versions WHERE state = 'accepted'"))
    assert accepted["C03"] == ledger_rows(root, "SELECT report_json FROM versions WHERE number = 2")[0][0]
    assert [(s.unit_code, s.status, s.summed, s.source_file) for s in district.sources] == [
        ("A01", "已通过", True, Path(accepted["A01"]).name), ("B02", "有警告", True, Path(accepted["B02"]).name),
        ("C03", "已通过", True, Path(accepted["C03"]).name), ("D04", "未报送", False, None)]
    assert district.tables["t3"]["new"]["natural_person"] == 21

    ran = tianbao("publish", root / "汇总" / "district.json", "-o", root / "发布" / "全区.html", cwd=root)
    assert ran.exit_code == 0, ran.output
    assert ledger_rows(root, "SELECT kind FROM events WHERE kind IN ('merged', 'published')") == [
        ("merged",), ("published",)]

    # A rejected version cannot be published by mistake.
    c1 = root / str(ledger_rows(root, "SELECT report_json FROM versions WHERE unit = 'C03' AND number = 1")[0][0])
    refused = tianbao("publish", c1, "-o", tmp_path / "c1.html")
    assert refused.exit_code == 2
    assert "报告中还有 2 个未处理的错误" in refused.stderr
    assert tianbao("publish", c1, "-o", tmp_path / "c1.html", "--force").exit_code == 0

    # The versions rebuilt from the JSON files equal the ledger's.
    before = versions(root)
    ran = tianbao("status", "--rebuild", cwd=root)
    assert ran.exit_code == 0, ran.output
    assert versions(root) == before
    assert ledger_rows(root, "SELECT COUNT(*) FROM decisions") == [(1,)]
    assert_ledger_matches_files(root)


def test_a_decision_no_longer_applies_when_the_value_changed() -> None:
    decision = Decision("B02", "R7", "表二!B5", "1", "accept", "核实", "2026-01-10T09:00:00+08:00")
    same = Finding(rule="R7", severity="warning", message="m", sheet="表二", cell="B5", found="1")
    changed = Finding(rule="R7", severity="warning", message="m", sheet="表二", cell="B5", found="3")
    findings = [same]
    assert apply_decisions(findings, [decision]).applied == 1
    assert same.review is not None and same.review.reason == "核实"
    findings = [changed]
    applied = apply_decisions(findings, [decision])
    assert (applied.applied, [f.rule for f in findings]) == (0, ["R7", "review.stale"])
    assert findings[1].message == ("表二!B5 的审核决定（已核实接受：核实）不再适用：审核时的值为“1”，现在为“3”。"
                                   "请重新审核这一项。")


def many_returns(form: Form, inbox: Path, count: int) -> str:
    roster = "单位代码,单位名称,单位层级\n"
    for number in range(count):
        code, name = f"U{number:03d}", f"单位{number:03d}"
        roster += f"{code},{name},区县政府部门\n"
        (inbox / f"{code}.xlsx").write_bytes(render(form, unit_report(form, code, name)))
    return roster


def new_collection(tmp_path: Path, roster: str) -> Path:
    (tmp_path / "roster.csv").write_text(roster, encoding="utf-8")
    root = tmp_path / "c"
    assert tianbao("init", root, "--roster", tmp_path / "roster.csv", "--year", "2025").exit_code == 0
    return root


@pytest.mark.slow
def test_sigkill_in_the_middle_of_an_import_then_a_rerun_completes(tmp_path: Path, form: Form) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    root = new_collection(tmp_path, many_returns(form, inbox, 24))
    process = start("import", inbox, "--collection", root, "--limit", "max_seconds=0")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        recorded = ledger_rows(root, "SELECT COUNT(*) FROM versions")[0][0]
        if recorded >= 3:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = ledger_rows(root, "SELECT COUNT(*) FROM versions")[0][0]
    assert 3 <= partial < 24
    # Consistent after the kill: what the ledger holds, the files hold.
    assert_ledger_matches_files(root, copies=False)
    ran = tianbao("import", inbox, "--collection", root)
    assert ran.exit_code == 0, ran.output
    assert ledger_rows(root, "SELECT COUNT(*), COUNT(DISTINCT unit) FROM versions") == [(24, 24)]
    assert ledger_rows(root, "SELECT COUNT(*) FROM events WHERE kind = 'received'") == [(24,)]
    assert ledger_rows(root, "SELECT COUNT(*) FROM events WHERE kind = 'accepted'") == [(24,)]
    assert_ledger_matches_files(root)


@pytest.mark.slow
def test_two_imports_at_once_into_one_collection(tmp_path: Path, form: Form) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    root = new_collection(tmp_path, many_returns(form, inbox, 12))
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    files = sorted(inbox.iterdir())
    for index, path in enumerate(files):
        shutil.copy(path, (first if index % 2 else second) / path.name)
    shutil.copy(files[0], first / files[0].name)  # one file in both batches
    runs = [start("import", folder, "--collection", root) for folder in (first, second)]
    for run in runs:
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, out + err
        assert "Traceback" not in out + err
    assert ledger_rows(root, "SELECT COUNT(*), COUNT(DISTINCT unit) FROM versions") == [(12, 12)]
    assert ledger_rows(root, "SELECT COUNT(*) FROM events WHERE kind = 'received'") == [(12,)]
    assert_ledger_matches_files(root)


def test_import_and_check_find_a_carried_over_mismatch_at_the_first_round(tmp_path: Path, form: Form) -> None:
    last_year = tmp_path / "2024"
    last_year.mkdir()
    before = sample_report(form, code="A01", name="区甲局", year=2024)
    before.tables["t3"]["carried_forward"]["natural_person"] = 5
    before.tables["t3"]["disclosed"]["natural_person"] = 4
    (last_year / "A01.json").write_text(before.to_json(), encoding="utf-8")
    now = tmp_path / "A01.xlsx"
    now.write_bytes(render(form, sample_report(form, code="A01", name="区甲局", year=2025)))
    ran = tianbao("check", now, "--previous", last_year, "--year", "2025")
    assert ran.exit_code == 1, ran.output
    assert "二、上年结转（2）应等于上年度报告的四、结转下年度继续办理（5）" in ran.stdout
    ran = tianbao("import", now, "-o", tmp_path / "out", "--previous", last_year, "--year", "2025")
    assert ran.exit_code == 1, ran.output
    rows = (tmp_path / "out" / "findings.csv").read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(",")[3] for line in rows[1:]] == ["R6", "R6"]
    assert not list((tmp_path / "out").glob("*.json"))


def test_merge_takes_the_district_text_from_a_workbook(tmp_path: Path, form: Form) -> None:
    unit = tmp_path / "A01.json"
    report = sample_report(form, code="A01", name="区甲局", year=2025)
    unit.write_text(report.to_json(), encoding="utf-8")
    (tmp_path / "roster.csv").write_text("code,name,level\nA01,区甲局,区县政府部门\n", encoding="utf-8")
    text = sample_report(form, code="QX", name="某某区", year=2025)
    text.fields["overview"]["proactive"] = "全区主动公开政府信息 1200 条。"
    (tmp_path / "text.xlsx").write_bytes(render(form, text))
    ran = tianbao("merge", unit, "--roster", tmp_path / "roster.csv", "-o", tmp_path / "out",
                  "--unit-name", "某某区", "--text", tmp_path / "text.xlsx")
    assert ran.exit_code == 0, ran.output
    district = json.loads((tmp_path / "out" / "district.json").read_text(encoding="utf-8"))
    assert district["fields"]["overview"]["proactive"] == "全区主动公开政府信息 1200 条。"
    assert district["tables"]["t2"]["fees"]["amount"] == str(Decimal("12.3456"))


@pytest.mark.parametrize(("count", "amount", "expected"), [
    (0, "0", ["无。"]),
    (2, "380", ["本年度共收取政府信息公开信息处理费2件，金额380元。"]),
])
def test_publish_never_contradicts_a_units_nothing_to_report(
    tmp_path: Path, form: Form, count: int, amount: str, expected: list[str]
) -> None:
    report = sample_report(form, code="A01", name="区甲局", year=2025)
    other = next(s for s in form.field_sections if s.document_sentences)
    text_field = next(f for f in other.fields if f.document_role != "hidden")
    report.fields[other.id][text_field.id] = "无。"
    report.fields[other.id]["fee_count"] = count
    report.fields[other.id]["fee_amount"] = Decimal(amount)
    recompute(form, report.tables)
    (tmp_path / "a.json").write_text(report.to_json(), encoding="utf-8")
    ran = tianbao("publish", tmp_path / "a.json", "-o", tmp_path / "a.md")
    assert ran.exit_code == 0, ran.output
    lines = (tmp_path / "a.md").read_text(encoding="utf-8").splitlines()
    heading = next(i for i, line in enumerate(lines) if other.title in line)
    body = [line for line in lines[heading + 1:] if line.strip()]
    assert body[: len(expected)] == expected
    assert body[len(expected)] != "本年度未收取政府信息公开信息处理费。"


@pytest.mark.slow
def test_an_overridden_error_counts_and_is_shown_as_overridden(tmp_path: Path, form: Form) -> None:
    root = new_collection(tmp_path, "单位代码,单位名称,单位层级\nA01,区甲局,区县政府部门\n")
    wrong = unit_report(form, "A01", "区甲局")
    wrong.tables["t3"]["new"]["natural_person"] = 8
    (root / "收回" / "A01.xlsx").write_bytes(render(form, wrong))
    assert tianbao("import", "收回", cwd=root).exit_code == 1
    refused = tianbao("review", "--unit", "A01", "--check", "R1", "--cell", "表三!D6,D7,D29,D30", "--override",
                      cwd=root)
    assert refused.exit_code == 1
    assert "“确认无误（覆盖错误）”必须写明理由（审核说明）" in refused.stdout
    ran = tianbao("review", "--unit", "A01", "--check", "R1", "--cell", "表三!D6,D7,D29,D30", "--override",
                  "--reason", "申请登记时间跨年，经核实无误", cwd=root)
    assert ran.exit_code == 0, ran.output
    assert versions(root) == [("A01", 1, "rejected", 1, 0)]  # the R1 of the total column is still open
    ran = tianbao("review", "--unit", "A01", "--check", "R1", "--cell", "表三!J6,J7,J29,J30", "--override",
                  "--reason", "同上", cwd=root)
    assert versions(root) == [("A01", 1, "accepted", 0, 0)]
    assert_ledger_matches_files(root)
    assert tianbao("import", "收回", cwd=root).exit_code == 0
    rows = (root / "导入" / "findings.csv").read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(",")[2:4] + line.split(",")[-2:] for line in rows[1:]] == [
        ["错误（已覆盖）", "R1", "确认无误（覆盖错误）", "申请登记时间跨年，经核实无误"],
        ["错误（已覆盖）", "R1", "确认无误（覆盖错误）", "同上"]]
    ran = tianbao("merge", "--unit-name", "某某区", cwd=root)
    assert ran.exit_code == 0, ran.output
    district = load_report(root / "汇总" / "district.json")
    assert [(s.unit_code, s.status, s.summed) for s in district.sources] == [("A01", "有警告", True)]
    # The summary's 报送情况 line and the published footer say so too, not only JSON and findings files.
    status = openpyxl.load_workbook(root / "汇总" / "summary.xlsx")["报送情况"]
    row = next(r for r in status.iter_rows(values_only=True) if r[1] == "A01")
    assert row[3:7] == ("有警告", "是", 0, 2)
    assert row[10] == "有 2 个错误经审核覆盖（理由：申请登记时间跨年，经核实无误；同上）"
    unit_json = root / "导入" / "A01_区甲局_2025.json"
    ran = tianbao("publish", unit_json, "-o", tmp_path / "甲.md", "--footer-hash", cwd=root)
    assert ran.exit_code == 0, ran.output
    footer = (tmp_path / "甲.md").read_text(encoding="utf-8").splitlines()[-1]
    assert footer.endswith("。本报告数据中有 2 处校验错误经审核确认后保留。"), footer
