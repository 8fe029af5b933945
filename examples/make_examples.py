"""Regenerate the example district from examples/roster.csv.

Writes, next to this script:
  workbooks/  blank workbooks per unit (`tianbao distribute`)
  filled/     the same workbooks as the units return them, with plausible values
  imported/   their report JSON and findings (`tianbao import`)
  district/   the district summary (`tianbao merge`)
  published/  the district report and one unit report as HTML, DOCX and Markdown

One unit (西城街道, JD12) does not report, so the summary shows a 催报 entry, and the
township reports a 规章 count, which the R7 warning catches. Values are random but consistent
(R1 holds in every column) and fixed by a seed, so reruns give the same files.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

from tianbao.form import Form, resolve_form
from tianbao.io.roster import load_roster
from tianbao.report import Report, Unit, empty_report
from tianbao.rules.check import recompute
from tianbao.workbook.write import WriteOptions, identity_locks, write_workbook

HERE = Path(__file__).resolve().parent
YEAR = 2025
MISSING_UNIT = "JD12"
SAMPLE_TEXT = {
    "proactive": "本年度通过门户网站主动公开政府信息{n}条，及时发布政策文件、工作动态和通知公告。",
    "on_request": "本年度共收到政府信息公开申请{n}件，均在法定期限内答复。",
    "management": "严格落实公开前保密审查和动态更新机制，定期清理过时信息。",
    "platform": "持续完善政府信息公开专栏，优化栏目设置，提升检索和浏览体验。",
    "oversight": "将政务公开纳入年度考核，组织专题培训，未发生责任追究情况。",
}


def filled_report(form: Form, unit: Unit, rng: random.Random, rule_maker: bool) -> Report:
    """Plausible values: applications received are split over outcomes; the rest carries on."""
    report = empty_report(form, unit, YEAR)
    t3 = form.table("t3")
    leaves = next(c for c in t3.computed if c.target_row).sum_of_rows or []
    applicant_columns = [c.id for c in t3.columns if not form.is_computed("t3", "new", c.id)]
    values = report.tables["t3"]
    for column in applicant_columns:
        received = rng.choice([0, 0, 1, 2, 3, 5, 8, 13]) if column != "natural_person" else rng.randrange(0, 40)
        carried = rng.choice([0, 0, 1, 2])
        values["new"][column], values["carried_over"][column] = received, carried
        pending = received + carried
        for _ in range(pending):
            if rng.random() < 0.1:
                continue  # stays open and carries forward
            row = rng.choice(leaves[:4] if rng.random() < 0.7 else leaves)
            values[row][column] += 1
        values["carried_forward"][column] = pending - sum(values[row][column] for row in leaves)
    t2 = report.tables["t2"]
    t2["normative_documents"].update(issued=rng.randrange(0, 6), repealed=rng.randrange(0, 3),
                                     in_force=rng.randrange(5, 40))
    t2["licensing"]["decisions"] = rng.randrange(0, 500)
    t2["penalty"]["decisions"] = rng.randrange(0, 80)
    t2["enforcement"]["decisions"] = rng.randrange(0, 10)
    if rule_maker:
        t2["regulations"]["issued"] = 1
    t4 = report.tables["t4"]["cases"]
    t4["review_upheld"] = rng.choice([0, 0, 1, 2])
    t4["direct_upheld"] = rng.choice([0, 0, 1])
    received_total = sum(values["new"][c] for c in applicant_columns)
    for field, text in SAMPLE_TEXT.items():
        count = received_total if field == "on_request" else 100 + received_total
        report.fields["overview"][field] = text.format(n=count)
    report.fields["problems"]["text"] = "主动公开的深度和广度仍需拓展。下一步将加强培训，提升公开质量。"
    report.fields["other"]["text"] = "无其他需要报告的事项。"
    report.fields["other"]["fee_count"] = 0
    report.fields["other"]["fee_amount"] = 0
    report.fields["basic"].update(preparer="张三", phone="0000-12345678", reviewer="李四",
                                  fill_date=f"{YEAR + 1}-01-15")
    recompute(form, report.tables)
    return report


def tianbao(*args: str) -> None:
    print("$ tianbao", " ".join(args))
    subprocess.run([sys.executable, "-m", "tianbao", *args], check=False, cwd=HERE)


def main() -> None:
    form = resolve_form(None)
    roster = load_roster(HERE / "roster.csv")
    for folder in ("workbooks", "filled", "imported", "district", "published"):
        shutil.rmtree(HERE / folder, ignore_errors=True)
    tianbao("distribute", "roster.csv", "--year", str(YEAR), "-o", "workbooks", "--password", "example")
    rng = random.Random(2025)
    (HERE / "filled").mkdir()
    for unit in roster.units:
        if unit.code == MISSING_UNIT:
            continue
        report = filled_report(form, Unit(code=unit.code, name=unit.name, level=unit.level), rng,
                               rule_maker=unit.level == "乡镇")
        path = HERE / "filled" / f"{unit.code}_{unit.name}_{YEAR}.xlsx"
        write_workbook(path, form, report, WriteOptions(password="example", locked=identity_locks(form)))
    tianbao("import", "filled", "-o", "imported", "--roster", "roster.csv", "--year", str(YEAR))
    tianbao("merge", "imported", "--roster", "roster.csv", "-o", "district", "--year", str(YEAR),
            "--unit-name", "某某区")
    (HERE / "published").mkdir()
    first_unit = sorted((HERE / "imported").glob("*.json"))[0]
    district = sorted((HERE / "district").glob("*.json"))[0]
    for extension in ("html", "docx", "md"):
        tianbao("publish", str(district.relative_to(HERE)), "-o", f"published/district.{extension}")
        tianbao("publish", str(first_unit.relative_to(HERE)), "-o", f"published/unit.{extension}")


if __name__ == "__main__":
    main()
