"""`tianbao precheck` on realistic reports: each fault gives exactly its finding; a clean
report gives none. The CLI is started as `python -m tianbao`; findings are read back from
the 预检报告 workbook it writes."""

from __future__ import annotations

import random
import re
import unicodedata
from pathlib import Path

import openpyxl
import pytest

from clirun import tianbao
from precheck_fixtures import (
    FOLLOWUP,
    PROBLEMS_TITLE,
    UNIT,
    clean_text,
    previous_report,
    read_sample,
    roster,
    sample_text,
    without_part,
    write_report,
    write_text,
)
from tianbao.form import Form
from tianbao.stages.precheck.similarity import SetIndex

LEVEL = "区县政府部门"
SUPERSEDED = "本报告根据《中华人民共和国政府信息公开工作年度报告格式（试行）》（国办公开办函〔2019〕60号）要求编制。"
ON_TIME = "2025-01-20"


def precheck(tmp_path: Path, inputs: list[Path], *extra: str | Path) -> tuple[int, list[dict[str, str]]]:
    """Run the command; (exit code, rows of the 问题清单 sheet)."""
    output = tmp_path / "out" / "预检报告.xlsx"
    result = tianbao("precheck", *inputs, "-o", output, *extra)
    assert result.exit_code in (0, 1), result.stderr
    book = openpyxl.load_workbook(output, read_only=True)
    rows = list(book["问题清单"].iter_rows(values_only=True))
    header = rows[0]
    return result.exit_code, [{h: (v or "") for h, v in zip(header, row, strict=True)} for row in rows[1:]]


def checks(rows: list[dict[str, str]]) -> list[str]:
    return sorted(row["检查编号"] for row in rows)


@pytest.fixture
def clean_setup(tmp_path: Path, form: Form) -> list[str | Path]:
    """Last year's report, the unit's level and a publication date: nothing left undecided."""
    write_report(previous_report(form), tmp_path / "previous" / "2023.json")
    units = roster(tmp_path / "roster.csv", [("KG01", UNIT, LEVEL)])
    return ["--previous", tmp_path / "previous", "--roster", units, "--publish-date", ON_TIME]


def test_clean_report_gives_no_finding(tmp_path: Path, clean_setup: list[str | Path]) -> None:
    document = write_text(clean_text(), tmp_path / "in" / "report.txt")
    code, rows = precheck(tmp_path, [document], *clean_setup)
    assert rows == []
    assert code == 0


def test_sample_report_as_published(tmp_path: Path) -> None:
    """The real sample, alone: its 五 never says what became of last year's problems (a P
    warning), and without a level, a date or last year's report two checks stay undecided."""
    document = write_text(sample_text(), tmp_path / "in" / "report.txt")
    code, rows = precheck(tmp_path, [document])
    assert checks(rows) == ["deadline.unknown", "previous.missing", "problems.no_followup"]
    assert {row["严重程度"] for row in rows} == {"警告", "无法判断"}
    assert code == 0


@pytest.mark.parametrize(
    ("change", "expected", "quoted"),
    [
        (("本报告中所列数据的统计期限自2024年1月1日起至2023年12月31日止。", "intro"), "year.period",
         "本报告中所列数据的统计期限自2024年1月1日起至2023年12月31日止。"),
        (("截至2023年底，我局门户网站累计公开政策文件86件。", "proactive"), "year.stale",
         "截至2023年底，我局门户网站累计公开政策文件86件。"),
        ((SUPERSEDED, "intro"), "year.superseded_format", SUPERSEDED),
    ],
)
def test_one_wrong_sentence_gives_its_finding(tmp_path: Path, clean_setup: list[str | Path],
                                              change: tuple[str, str], expected: str, quoted: str) -> None:
    sentence, where = change
    text = clean_text()
    if where == "intro":
        title, rest = text.split("\n", 2)[1], text.split("\n", 2)[2]
        text = f"\n{title}\n\n{sentence}\n{rest}"
    else:
        text = text.replace("同时认真按照《条例》", sentence + "同时认真按照《条例》", 1)
    document = write_text(text, tmp_path / "in" / "report.txt")
    code, rows = precheck(tmp_path, [document], *clean_setup)
    assert checks(rows) == [expected]
    assert rows[0]["原文"] == quoted
    assert code == (1 if rows[0]["严重程度"] == "错误" else 0)


def test_fee_notice_contradicting_table_three(tmp_path: Path, form: Form, clean_setup: list[str | Path]) -> None:
    """One application closed because the fee notice went unpaid, while 六 says no notice was sent."""
    report = read_sample(form, clean_text())
    t3 = report.tables["t3"]
    t3["new"]["natural_person"] += 1
    t3["other_fee_unpaid"]["natural_person"] += 1
    report.fields["overview"]["on_request"] = ("2024 年度我局收到政府信息公开申请1件，"
                                               "申请人逾期未缴纳信息处理费，未再处理。")
    report.fields["other"]["text"] = "本年度未向申请人发出收费通知，未收取信息处理费。"
    path = write_report(report, tmp_path / "in" / "report.json")
    code, rows = precheck(tmp_path, [path], *clean_setup)
    assert checks(rows) == ["fee.notice_contradiction"]
    assert rows[0]["原文"] == "本年度未向申请人发出收费通知，未收取信息处理费。"
    assert code == 1


def test_fee_amount_not_a_multiple_of_ten(tmp_path: Path, form: Form, clean_setup: list[str | Path]) -> None:
    report = read_sample(form, clean_text())
    report.fields["other"].update(text="本年度共收取信息处理费2件，合计收取385元。", fee_count=2, fee_amount=385)
    path = write_report(report, tmp_path / "in" / "report.json")
    _, rows = precheck(tmp_path, [path], *clean_setup)
    assert checks(rows) == ["fee.amount_not_multiple"]
    assert "385 元" in rows[0]["说明"]


def test_missing_part(tmp_path: Path, clean_setup: list[str | Path]) -> None:
    text = without_part(clean_text(), PROBLEMS_TITLE, "六、其他需要报告的事项")
    document = write_text(text, tmp_path / "in" / "report.txt")
    code, rows = precheck(tmp_path, [document], *clean_setup)
    assert checks(rows) == ["parts.missing"]
    assert rows[0]["部分"] == PROBLEMS_TITLE
    assert code == 1


def test_part_out_of_order(tmp_path: Path, clean_setup: list[str | Path]) -> None:
    text = clean_text()
    five = text[text.index(PROBLEMS_TITLE):text.index("六、其他需要报告的事项")]
    text = text.replace(five, "").replace("二、主动公开政府信息情况", five + "二、主动公开政府信息情况", 1)
    document = write_text(text, tmp_path / "in" / "report.txt")
    _, rows = precheck(tmp_path, [document], *clean_setup)
    assert checks(rows) == ["parts.order"]
    assert rows[0]["说明"] == (f"“{PROBLEMS_TITLE}”的位置不对：它出现在“二、主动公开政府信息情况”之前。"
                              "六个部分应按一至六的顺序排列。")


def test_published_late_for_a_department(tmp_path: Path, clean_setup: list[str | Path]) -> None:
    document = write_text(clean_text(), tmp_path / "in" / "report.txt")
    options = [*clean_setup[:-1], "2025-02-10"]
    code, rows = precheck(tmp_path, [document], *options)
    assert checks(rows) == ["deadline.late"]
    assert rows[0]["说明"] == ("发布日期 2025年2月10日 晚于法定期限 2025年1月31日"
                              "（政府部门，《政府信息公开条例》第四十九条）。")
    assert code == 1


def _weight(sentence: str) -> int:
    """Characters a sentence counts with: no spaces or punctuation, no unit name, a number as one."""
    text = unicodedata.normalize("NFKC", sentence).replace(UNIT, "")
    return len(re.sub(r"\d+", "0", re.sub(r"[\W_]+", "", text)))


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。！？])", text)
            if _weight(s) >= 8 and not any(b in s for b in SAMPLE_BOILERPLATE)]


# Sentences of the sample that are boilerplate (templates/precheck/boilerplate.yaml): they
# count neither as reused nor in the total.
SAMPLE_BOILERPLATE = ("社会评议方面结果良好", "未收到依申请公开事项", "本年度没有产生信息公开处理费")


def test_report_copied_from_last_year_with_new_numbers(tmp_path: Path, form: Form) -> None:
    """2025's report keeps three sub-parts and 六 of 2024 (only the years changed), rewrites
    平台建设 and 五: each kept part is 100% reused (六 is boilerplate), the whole at the share
    of its characters."""
    last = read_sample(form, clean_text())
    write_report(last, tmp_path / "previous" / "2024.json")
    now = last.model_copy(deep=True)
    now.year = 2025
    for field, value in now.fields["overview"].items():
        now.fields["overview"][field] = value.replace("2024", "2025")
    now.fields["overview"]["platform"] = ("今年我局对门户网站信息公开专栏进行了改版，新增惠企政策专题，"
                                          "集中发布技术改造、专精特新等政策文件及解读材料。")
    now.fields["problems"]["text"] = ("上年度指出的栏目更新不及时问题已整改到位。当前仍存在政策解读数量偏少、"
                                      "解读形式单一的问题，下一步将增加图解和视频解读。")
    now.tables["t2"]["licensing"]["decisions"] = 12
    path = write_report(now, tmp_path / "in" / "2025.json")
    _, rows = precheck(tmp_path, [path], "--previous", tmp_path / "previous")
    copied = [row for row in rows if row["检查编号"].startswith("copy.")]
    kept = ["proactive", "management", "oversight"]
    labels = {f.id: f.label for f in form.section("overview").fields}  # type: ignore[union-attr]
    expected_parts = [f"一、总体情况{labels[k]}" for k in kept]
    assert [row["部分"] for row in copied if row["检查编号"] == "copy.previous_year"] == expected_parts
    assert all("有 100% 的文字与上年度报告相同" in row["说明"] for row in copied[:-1])
    texts = [now.fields["overview"][k] for k in kept]
    fresh = [now.fields["overview"]["platform"], now.fields["problems"]["text"]]
    reused = sum(_weight(s) for text in texts for s in _sentences(text))
    total = reused + sum(_weight(s) for text in fresh for s in _sentences(text))
    assert 0.5 < reused / total < 1
    whole = copied[-1]
    assert whole["检查编号"] == "copy.previous_year_whole"
    assert whole["说明"].startswith(f"全文有 {reused / total:.0%} 的文字与上年度报告相同（阈值 50%）")
    assert "2025 年" in whole["本报告段落"] and "2024 年" in whole["对照段落"]


SHARED = "我局建立了信息公开前审查机制，对拟公开的信息逐条进行保密审查。"
UNIT_TEXTS = {
    "示例区教育局": ("全年通过门户网站公开招生入学政策、学区划分和教育收费标准等信息。", SHARED,
                     "上年度提出的招生信息发布不及时问题已整改。目前校外培训机构监管信息公开不够全面。"),
    "示例区民政局": ("全年主动公开养老服务补贴、低保标准调整和社会组织登记等信息。", SHARED,
                     "上年度指出的救助政策解读不足已补充图解。社区养老服务设施信息仍需进一步细化。"),
    "示例区水利局": ("全年公开河道管理范围划定、防汛责任人名单和水利工程建设项目信息。",
                     "我局每季度对已公开信息开展一次自查，及时更正过时和错误的内容，并登记在册。",
                     "去年汛期信息发布渠道单一的问题已通过短信平台解决。水质监测数据的公开频次还需提高。"),
}


def test_units_sharing_a_part_are_clustered(tmp_path: Path, form: Form) -> None:
    paths = []
    for number, (unit, (proactive, management, problems)) in enumerate(UNIT_TEXTS.items()):
        report = read_sample(form, clean_text())
        report.unit.name = unit
        report.fields["overview"]["proactive"] = proactive
        report.fields["overview"]["management"] = management
        for field in ("on_request", "platform", "oversight"):
            report.fields["overview"][field] = None
        report.fields["problems"]["text"] = problems
        paths.append(write_report(report, tmp_path / "in" / f"{number}.json"))
    _, rows = precheck(tmp_path, paths)
    shared = [row for row in rows if row["检查编号"].startswith("copy.")]
    assert [(row["单位"], row["检查编号"], row["部分"], row["对照来源"]) for row in shared] == [
        ("示例区教育局", "copy.across_units", "一、总体情况（三）政府信息管理", "示例区民政局"),
        ("示例区民政局", "copy.across_units", "一、总体情况（三）政府信息管理", "示例区教育局"),
    ]
    assert shared[0]["说明"] == ("“一、总体情况（三）政府信息管理”与 示例区民政局 的同一部分基本相同（重合 100%），"
                                "这 2 个单位的文字像是互相照抄。")


def test_score_preview_never_deducts_for_what_it_cannot_decide(tmp_path: Path, form: Form) -> None:
    """No publication date: 按时发布 is 无法判断 — no deduction in conservative mode, the
    worst case in strict mode; the 复议纠错 item deducts per case from table 四."""
    report = read_sample(form, clean_text())
    report.tables["t4"]["cases"]["review_corrected"] = 1
    report.tables["t4"]["cases"]["review_total"] = 1
    path = write_report(report, tmp_path / "in" / "report.json")
    output = tmp_path / "out" / "预检报告.xlsx"
    result = tianbao("precheck", path, "-o", output, "--pack", "generic", "--mode", "strict")
    assert result.exit_code == 0, result.stderr
    book = openpyxl.load_workbook(output, read_only=True)
    sheet = next(name for name in book.sheetnames if name.startswith("评分预览"))
    rows = {row[2]: row for row in book[sheet].iter_rows(min_row=2, values_only=True)}
    assert rows["按时发布年度报告"][3:6] == ("无法判断", "0", "2")
    assert rows["政府信息公开行政复议被纠错"][3:6] == ("扣分", "2", "0")
    # Deducted: 复议纠错 2. Possible: on time 2 (no level), 数字/文字 vs last year (no
    # previous), 存在问题 (no follow-up is only a warning) and the local content rules.
    possible = sum(float(row[5]) for name, row in rows.items() if name != "预估得分")
    assert rows["预估得分"][4:7] == ("保守 18", f"严格 {18 - possible:g}", "满分 20")


def test_bad_input_is_listed_not_fatal(tmp_path: Path, clean_setup: list[str | Path]) -> None:
    good = write_text(clean_text(), tmp_path / "in" / "report.txt")
    bad = write_text("这不是一份年度报告。", tmp_path / "in" / "notes.txt")
    code, rows = precheck(tmp_path, [good, bad], *clean_setup)
    assert checks(rows) == ["input.unreadable"]
    assert rows[0]["单位"] == "notes.txt"
    assert code == 1


def test_unknown_pack_is_a_chinese_error(tmp_path: Path) -> None:
    document = write_text(clean_text(), tmp_path / "in" / "report.txt")
    result = tianbao("precheck", document, "--pack", tmp_path / "none.yaml")
    assert result.exit_code == 2
    assert result.stderr.startswith("错误：找不到评分细则")


def test_html_report_lists_the_same_findings(tmp_path: Path, clean_setup: list[str | Path]) -> None:
    text = without_part(clean_text(), PROBLEMS_TITLE, "六、其他需要报告的事项")
    document = write_text(text.replace(FOLLOWUP, ""), tmp_path / "in" / "report.txt")
    precheck(tmp_path, [document], *clean_setup)
    page = (tmp_path / "out" / "预检报告.html").read_text(encoding="utf-8")
    assert page.count('<td class="error">错误</td>') == 1
    assert "parts.missing" in page and "人工核对清单" in page


def test_sentence_index_finds_exactly_the_pairs_brute_force_finds() -> None:
    """The partition index misses no pair at or above the threshold and reports no other,
    on sentences sharing most of a small alphabet (the hard case for a character index)."""
    rng = random.Random(18)
    alphabet = "政府信息公开工作年度报告依申请主动办理件数规范性文件平台建设监督保障收费情况问题改进"
    sets: list[frozenset[str]] = []
    for _ in range(250):
        base = set(rng.sample(alphabet, rng.randint(8, 40)))
        sets.append(frozenset(base))
        changed = set(base)
        for _ in range(rng.randint(0, 4)):
            changed.symmetric_difference_update({rng.choice(alphabet)})
        sets.append(frozenset(changed))
    threshold = 0.88
    index = SetIndex(threshold)
    for chars in sets:
        index.add(chars)
    for chars in sets:
        expected = [(other, len(chars & found) / len(chars | found)) for other, found in enumerate(sets)
                    if len(chars & found) / len(chars | found) >= threshold]
        assert list(index.similar(chars)) == expected
        assert index.best(chars) == (sets.index(chars), 1.0)
