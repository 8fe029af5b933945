"""`tianbao precheck` on realistic reports: each fault gives exactly its finding; a clean
report gives none. The CLI is started as `python -m tianbao`; findings are read back from
the 预检报告 workbook it writes."""

from __future__ import annotations

import io
import random
import re
import unicodedata
from pathlib import Path

import openpyxl
import pytest
import yaml

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
from tianbao.document.read.narrative import narrative_findings
from tianbao.form import Form
from tianbao.precheck_catalogue import data_dir, load_catalogue
from tianbao.stages.precheck import Options, render
from tianbao.stages.precheck import precheck as run_precheck
from tianbao.stages.precheck.learn import LEARNED_FILE, learn, read_corpus, shipped_corpus
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


# ---------------------------------------------------------------------------------------
# Percentages, numbers across years, the government item


def test_percentage_in_the_text_is_recomputed_from_table_three(tmp_path: Path, form: Form,
                                                                clean_setup: list[str | Path]) -> None:
    """7 applications, 3 disclosed: 42.86% is right; 50% is not a share of any total."""
    report = read_sample(form, clean_text())
    t3 = report.tables["t3"]
    for row, count in (("new", 7), ("disclosed", 3), ("unavailable_not_held", 4)):
        t3[row]["natural_person"] = count
    sentence = "本年度共收到政府信息公开申请7件，其中予以公开3件，占{}%，其余4件本机关不掌握相关政府信息。"
    report.fields["overview"]["on_request"] = sentence.format("42.86")
    right = write_report(report, tmp_path / "right" / "report.json")
    _, rows = precheck(tmp_path, [right], *clean_setup)
    assert rows == []
    report.fields["overview"]["on_request"] = sentence.format("50")
    wrong = write_report(report, tmp_path / "wrong" / "report.json")
    _, rows = precheck(tmp_path, [wrong], *clean_setup)
    assert checks(rows) == ["text.percentage"]
    assert rows[0]["说明"] == f"文字中写 3 件占 50%，按表三的数字算不出这个比例（3/7）：“{sentence.format('50')}”"
    assert rows[0]["严重程度"] == "警告"


def _with_last_year(tmp_path: Path, form: Form, last: dict[str, int], now: dict[str, int]) -> list[dict[str, str]]:
    """This year's report and last year's, differing from the sample only in the given cells."""
    before, after = previous_report(form), read_sample(form, clean_text())
    for report, values in ((before, last), (after, now)):
        for ref, value in values.items():
            table, row, column = ref.split(".")
            report.tables[table][row][column] = value
    previous = write_report(before, tmp_path / "previous" / "2023.json")
    units = roster(tmp_path / "roster.csv", [("KG01", UNIT, LEVEL)])
    path = write_report(after, tmp_path / "in" / "report.json")
    _, rows = precheck(tmp_path, [path], "--previous", previous, "--roster", units, "--publish-date", ON_TIME)
    return rows


def test_stock_continuity_and_tenfold_swing(tmp_path: Path, form: Form) -> None:
    """现行有效: last year's 20 + 3 issued − 1 repealed = 22, but 25 is stated (a warning);
    行政许可 from 3 to 40 decisions (a note)."""
    rows = _with_last_year(tmp_path, form,
                           {"t2.normative_documents.in_force": 20, "t2.licensing.decisions": 3},
                           {"t2.normative_documents.issued": 3, "t2.normative_documents.repealed": 1,
                            "t2.normative_documents.in_force": 25, "t2.licensing.decisions": 40})
    assert checks(rows) == ["numbers.stock", "numbers.tenfold"]
    stock, tenfold = sorted(rows, key=lambda row: row["检查编号"])
    assert stock["说明"] == ("行政规范性文件：上年现行有效 20 件 + 本年制发 3 件 − 本年废止 1 件 = 22 件，"
                            "本年现行有效填的是 25 件（修订等原因可能造成差异，请核对）。")
    assert (stock["严重程度"], stock["工作表"], stock["单元格"]) == ("警告", "表二", "D6")
    assert tenfold["严重程度"] == "提示"
    assert tenfold["说明"] == "表二「行政许可」：本年 40，上年 3，变化超过 10 倍，请核对。"


def test_stock_that_adds_up_gives_nothing(tmp_path: Path, form: Form) -> None:
    rows = _with_last_year(tmp_path, form, {"t2.normative_documents.in_force": 20},
                           {"t2.normative_documents.issued": 3, "t2.normative_documents.repealed": 1,
                            "t2.normative_documents.in_force": 22})
    assert rows == []


def test_numbers_unchanged_from_last_year(tmp_path: Path, form: Form) -> None:
    """Every non-zero cell as last year's (two here): a warning; one cell changed: none."""
    same = {"t2.licensing.decisions": 12, "t2.penalty.decisions": 5}
    rows = _with_last_year(tmp_path, form, same, same)
    assert checks(rows) == ["numbers.unchanged"]
    assert rows[0]["说明"] == "表格中 2 个不为 0 的数字与上年度报告完全相同，请确认不是照搬上年数字。"
    rows = _with_last_year(tmp_path / "changed", form, same, {**same, "t2.penalty.decisions": 6})
    assert rows == []


GOVERNMENT_ITEM = "本年度将政务公开工作纳入绩效考核，开展了社会评议，未发生责任追究情况。"


@pytest.mark.parametrize(("kind", "sentence", "expected"), [
    ("unit", "", []),  # a department need not report it
    ("district", "", ["parts.government_item"]),
    ("district", GOVERNMENT_ITEM.replace("绩效考核", "工作考核"), []),
])
def test_government_item_only_for_a_government(tmp_path: Path, form: Form, clean_setup: list[str | Path],
                                               kind: str, sentence: str, expected: list[str]) -> None:
    """条例第五十条: 工作考核、社会评议和责任追究 in a government's report (the district's
    merged report), not in a department's. The sample names 社会评议 and 责任追究 only."""
    report = read_sample(form, clean_text())
    report.kind = kind  # type: ignore[assignment]
    report.fields["overview"]["oversight"] += sentence
    path = write_report(report, tmp_path / "in" / "report.json")
    _, rows = precheck(tmp_path, [path], *clean_setup)
    assert checks(rows) == expected
    if expected:
        assert rows[0]["说明"] == ("政府的年度报告还应报告工作考核、社会评议和责任追究结果情况（条例第五十条），"
                                  "报告中没有提到：工作考核。")


# ---------------------------------------------------------------------------------------
# District rule packs

PACK = """\
name: 测试细则
full_score: 10
items:
  - {id: on_time, title: 按时发布, checks: [deadline.late, deadline.local_late], deduct: 2, cap: 2}
  - {id: parts, title: 部分齐全, checks: [parts.missing], deduct: 1, cap: 1.5}
  - {id: problems, title: 存在问题, checks: [problems.no_followup, problems.short], deduct: 1, cap: 1}
  - {id: fees, title: 收费说明, checks: [fee.notice_contradiction], deduct: 1, cap: 1}
  - {id: review, title: 复议纠错, cells: [t4.cases.review_corrected], deduct: 2, cap: 3}
"""


@pytest.mark.parametrize(("mode", "shown"), [("保守", "5.5（保守）"), ("严格", "2.5（严格）")])
def test_rule_pack_deducts_with_caps_and_never_for_the_undecided(tmp_path: Path, form: Form,
                                                                  mode: str, shown: str) -> None:
    """Two parts missing at 1 point each, capped at 1.5; two 复议纠错 at 2 each, capped at 3;
    no publication date: 按时发布 is 无法判断 (0 certain, 2 possible); 五 without last
    year's follow-up is only a warning: 疑似 (0 certain, 1 possible). Conservative counts
    the certain deductions, strict the possible ones too."""
    report = read_sample(form)
    for field in report.fields["overview"]:
        report.fields["overview"][field] = None
    for field in report.fields["other"]:
        report.fields["other"][field] = None
    report.tables["t4"]["cases"]["review_corrected"] = 2
    path = write_report(report, tmp_path / "in" / "report.json")
    pack = write_text(PACK, tmp_path / "细则.yaml")
    units = roster(tmp_path / "roster.csv", [("KG01", UNIT, LEVEL)])
    output = tmp_path / "out" / "预检报告.xlsx"
    result = tianbao("precheck", path, "-o", output, "--pack", pack, "--mode", mode, "--roster", units)
    assert result.exit_code == 1, result.stderr
    book = openpyxl.load_workbook(output, read_only=True)
    rows = [row[2:] for row in book["评分预览（测试细则）"].iter_rows(min_row=2, values_only=True)]
    assert rows == [
        ("按时发布", "无法判断", "0", "2",
         "无法判断是否按时发布：没有发布日期。请用 --publish-date 给出，或预检已发布的年报文档（取文末落款日期）。"),
        ("部分齐全", "扣分", "1.5", "0", "缺少“一、总体情况”部分（或这一部分没有内容）。年度报告的六个部分不能遗漏。"),
        ("存在问题", "疑似", "0", "1",
         "“五、存在的主要问题及改进情况”没有提到上年度问题的整改情况（例如“上年、上一年、去年”）。"),
        ("收费说明", "通过", "0", "0", None),
        ("复议纠错", "扣分", "3", "0", "表格中为 2 件"),
        ("预估得分", shown, "保守 5.5", "严格 2.5", "满分 10"),
    ]
    assert f"预估得分（{mode}）：{shown.split('（')[0]}" in result.stdout


def test_rule_pack_naming_an_unknown_check_is_refused(tmp_path: Path) -> None:
    document = write_text(clean_text(), tmp_path / "in" / "report.txt")
    pack = write_text(PACK.replace("deadline.local_late", "deadline.lately"), tmp_path / "细则.yaml")
    result = tianbao("precheck", document, "--pack", pack)
    assert result.exit_code == 2
    assert result.stderr.strip() == "错误：评分细则 细则.yaml 的项目 on_time 引用了不存在的检查：deadline.lately"


# ---------------------------------------------------------------------------------------
# The form's R9 and R10, which the precheck replaces by its year checks

# Sentences of a 2024 report that the form's R9/R10 flag, and what the precheck says instead.
REPLACED_CASES = [
    ("R9", SUPERSEDED, "year.superseded_format"),
    ("R10", "截至2023年底，我局门户网站累计公开政策文件86件。", "year.stale"),
    ("R10", "截至2022年12月31日，我局门户网站累计公开政策文件86件。", "year.stale"),
    ("R10", "截止2025年底，我局将完成全部栏目的改版。", "year.stale"),
    ("R10", "本报告中所列数据的统计期限自2023年1月1日起至2023年12月31日止。", "year.period"),
    ("R10", "本报告所列数据的统计期限为2023年1月1日起的一年。", "year.period_start"),
]


@pytest.mark.parametrize(("rule", "sentence", "replacement"), REPLACED_CASES)
def test_replaced_form_rules_are_stated_by_the_precheck(tmp_path: Path, form: Form, clean_setup: list[str | Path],
                                                        rule: str, sentence: str, replacement: str) -> None:
    """The catalogue drops the reader's R9/R10 findings: each case of theirs gives one of the
    checks that replace them, and the catalogue says which."""
    report = read_sample(form, clean_text())
    assert [f.rule for f in narrative_findings(form, report, [sentence])] == [rule]
    replaced = {r.id: r.by for r in load_catalogue().replaced}
    assert replacement in replaced[rule]
    text = clean_text().replace("同时认真按照《条例》", sentence + "同时认真按照《条例》", 1)
    document = write_text(text, tmp_path / "in" / "report.txt")
    _, rows = precheck(tmp_path, [document], *clean_setup)
    assert checks(rows) == [replacement]
    assert rows[0]["原文"] == sentence


def test_a_year_compared_with_is_no_stale_year(tmp_path: Path, clean_setup: list[str | Path]) -> None:
    sentence = "本年累计公开政策文件96件，较截至2023年底的86件增加10件。"
    text = clean_text().replace("同时认真按照《条例》", sentence + "同时认真按照《条例》", 1)
    document = write_text(text, tmp_path / "in" / "report.txt")
    _, rows = precheck(tmp_path, [document], *clean_setup)
    assert rows == []


# ---------------------------------------------------------------------------------------
# Boilerplate learned from the corpus of published reports


def test_shipped_learned_boilerplate_is_what_the_corpus_teaches(form: Form) -> None:
    """templates/precheck/boilerplate_learned.yaml is exactly what the learner finds in the
    shipped corpus with the thresholds it records (only the date may differ)."""
    shipped = yaml.safe_load((data_dir() / LEARNED_FILE).read_text(encoding="utf-8"))
    paths, hints = shipped_corpus()
    reports, skipped = read_corpus(form, paths, hints)
    assert skipped == []
    provenance = shipped["provenance"]
    root = data_dir().parents[1]
    assert provenance["corpus"] == [p.relative_to(root).as_posix() for p in paths]
    learned = learn(form, reports, provenance["min_share"], provenance["min_documents"])
    assert (provenance["reports"], provenance["needed_reports"]) == (len(reports), learned.needed) == (8, 4)
    assert [(s["text"], s["documents"]) for s in shipped["sentences"]] == learned.sentences


def test_learner_keeps_what_most_reports_share(form: Form) -> None:
    """Three reports of different units share one sentence (numbers and the unit's name
    differing); the form's own sentences and a sentence of one report are not learned."""
    reports = []
    for number, (unit, (own, _, _)) in enumerate(UNIT_TEXTS.items()):
        report = read_sample(form, clean_text())
        report.unit.name = unit
        opening = f"{unit}在门户网站开设政府信息公开专栏{number + 3}个，并按季度更新。"
        report.fields["overview"]["platform"] = opening + own
        reports.append(report)
    learned = learn(form, reports, min_share=0.9, min_documents=3)
    texts = [text for text, _ in learned.sentences]
    assert "〈单位〉在门户网站开设政府信息公开专栏3个，并按季度更新。" in texts
    assert not any(own in texts for own, _, _ in UNIT_TEXTS.values())
    assert not any(title in text for text in texts for title in ("总体情况", "主动公开政府信息情况"))
    assert all(count == 3 for _, count in learned.sentences)


# ---------------------------------------------------------------------------------------
# The corpus of published reports: every finding the precheck gives them, explained in
# docs/precheck.md ("On real reports"). Their narratives are abbreviated reconstructions, which
# is why 五 is short and sub-parts of 一 are missing.

CORPUS = Path(__file__).resolve().parent / "corpus"
# Reports whose page states no title are saved under their title, as the refusal message asks.
CORPUS_TITLES = {"changchun-2023.txt": "长春市某局2023年政府信息公开工作年度报告.txt",
                 "longgang-2024.txt": "龙岗区某部门2024年政府信息公开工作年度报告.txt"}
SUBPARTS = ["parts.subpart_missing"] * 3
CORPUS_FINDINGS = {
    "长春市某局": ["R8", *SUBPARTS, "problems.no_followup", "problems.short"],
    "高平市人民政府办公室": ["parts.subpart_missing"] * 2 + ["problems.no_followup", "problems.short"],
    "龙岗区某部门": ["document.subparts", *SUBPARTS, "problems.no_followup", "problems.short"],
    "上海市": ["R8", "parts.title", *SUBPARTS, "problems.no_followup", "problems.short", "table.note"],
    "区统计局": ["fee.statement_missing", *SUBPARTS, "problems.no_followup", "problems.short", *["value.blank"] * 15],
    "威海市文登区信访局": ["document.subparts", "parts.title", "parts.title", *SUBPARTS, "problems.no_followup",
                          "problems.short"],
    "湛江市人民政府地方志办公室": ["document.subparts", "fee.statement_missing", "parts.title", *SUBPARTS,
                                  "problems.no_followup", "problems.short"],
    "中站区科技和工业信息化局": ["problems.no_followup"],
}


@pytest.mark.slow
def test_corpus_of_real_reports(tmp_path: Path) -> None:
    """The eight published reports in one batch, each with its level and a date in time:
    no text shared between units, and exactly the findings docs/precheck.md explains."""
    folder = tmp_path / "in"
    folder.mkdir()
    for path in [*sorted(CORPUS.glob("*.txt")), Path(__file__).parent / "fixtures" / "sample-report-2024.txt"]:
        (folder / CORPUS_TITLES.get(path.name, path.name)).write_bytes(path.read_bytes())
    city = "设区的市级以上机关"
    levels = {"上海市": city, "长春市某局": city, "湛江市人民政府地方志办公室": city,
              "高平市人民政府办公室": "区县政府办公室"}
    units = roster(tmp_path / "roster.csv", [(f"C{n}", name, levels.get(name, LEVEL))
                                             for n, name in enumerate(CORPUS_FINDINGS)])
    output = tmp_path / "out" / "预检报告.xlsx"
    # Reports of several years: each year is prechecked on its own.
    found: dict[str, list[str]] = {}
    for year in (2022, 2023, 2024):
        result = tianbao("precheck", folder, "--year", year, "--roster", units, "--publish-date", f"{year + 1}-01-20",
                         "-o", output)
        assert result.exit_code in (0, 1), result.stderr
        book = openpyxl.load_workbook(output, read_only=True)
        for row in book["问题清单"].iter_rows(min_row=2, values_only=True):
            unit, check = row[1], row[3]
            if check not in ("input.year", "roster.missing", "previous.missing"):  # of the batch, not a report
                found.setdefault(unit, []).append(check)
    assert {unit: sorted(checks) for unit, checks in found.items()} == {
        unit: sorted(checks) for unit, checks in CORPUS_FINDINGS.items()}


def test_html_lists_are_cut_and_the_workbook_keeps_everything(tmp_path: Path, form: Form,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Above HTML_ROWS findings the page lists the most serious first and says where the rest
    is; the workbook lists them all; the counts per check cover the whole batch."""
    document = write_text(without_part(clean_text(), PROBLEMS_TITLE, "六、其他需要报告的事项"),
                          tmp_path / "in" / "report.txt")
    result = run_precheck(form, [document], Options())
    assert checks([{"检查编号": f.check} for f in result.all_findings()]) == [
        "deadline.unknown", "parts.missing", "previous.missing"]
    monkeypatch.setattr(render, "HTML_ROWS", 1)
    page = render.render_html(result)
    assert page.count('<td class="error">错误</td>') == 1  # the error comes first
    assert page.count('<td class="undetermined">') == 0
    assert "<p>以上列出前 1 项（按严重程度排列），共 3 项；全部内容见同名 .xlsx 文件的“问题清单”工作表。</p>" in page
    assert ("<tr><td>parts.missing</td><td>B1 六个部分齐全、顺序和标题规范</td><td>错误</td><td>1</td><td>1</td></tr>"
            in page)
    book = openpyxl.load_workbook(io.BytesIO(render.render_xlsx(result)), read_only=True)
    assert [row[3] for row in book["问题清单"].iter_rows(min_row=2, values_only=True)] == [
        "parts.missing", "deadline.unknown", "previous.missing"]
    assert [row[0] for row in book["按检查汇总"].iter_rows(min_row=2, values_only=True)] == [
        "parts.missing", "deadline.unknown", "previous.missing"]
