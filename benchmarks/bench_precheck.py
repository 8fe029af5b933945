"""Time `tianbao precheck` on a district's worth of units with last year's reports.

    python benchmarks/bench_precheck.py [--units 10000] [--goal 60] [--data FOLDER]

Builds N unit report JSON files for this year and N for last year, each with seven narrative
parts of a few sentences generated from the published sample report (a character bigram
chain, with the words of the unit's field mixed in, so units differ the way real reports
do). A third of the units copy last year's text with new numbers, and every 50th pair of
units shares a part, so the copy detection has real work. This year's tables grow from last
year's (a few planted faults); `--tables random` draws them afresh instead, the stress case
of about 25 findings a unit (256,000 for 10,000 units). Then runs the
command as a user would (`python -m tianbao precheck units --previous last -o 预检报告.xlsx`)
and the checks in-process, and prints measured / goal / ratio.

Besides wall time it prints CPU time (this process, and the command as a child process where
the platform reports it): the reference machine is shared, and CPU time moves less with the
load of others. `--data FOLDER` keeps the generated reports there and reuses them on the next
run, so two versions of the tool can be timed on the same input side by side.

Goal: the whole command within 60 s for 10,000 units and their 10,000 last-year reports on
the 2-core reference machine (a district runs it once before publication; a minute keeps
it interactive).
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from factories import satisfy_rules
from tianbao.form import Form, resolve_form
from tianbao.report import Report, Unit, empty_report
from tianbao.rules.check import recompute
from tianbao.stages.precheck import Options, precheck

YEAR = 2025
SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "sample-report-2024.txt"
# What departments write about: each unit's text mixes in the words of its field.
FIELDS = (
    "招生入学 学区划分 校外培训 教师招聘 学生资助", "养老服务 低保救助 殡葬管理 社会组织 婚姻登记",
    "河道管理 防汛抗旱 水资源 农田水利 水土保持", "道路建设 公交线路 出租汽车 交通执法 桥梁养护",
    "医疗机构 疫苗接种 卫生监督 家庭医生 爱国卫生", "就业创业 社会保险 劳动仲裁 人才引进 技能培训",
    "预算决算 政府采购 国库集中支付 债务管理 会计监督", "市场主体登记 食品安全 特种设备 价格监管 知识产权",
    "城乡规划 房屋征收 保障性住房 物业管理 建筑市场", "生态环境 大气污染 排污许可 环评审批 固体废物",
    "农业补贴 动物防疫 农产品质量 高标准农田 乡村振兴", "文物保护 公共文化 旅游市场 体育赛事 非遗传承",
    "应急管理 安全生产 森林防火 危险化学品 救灾物资", "统计调查 经济普查 统计执法 数据发布 人口抽样",
    "审计监督 经济责任 专项资金 整改落实 审计公告", "退役军人 优抚安置 双拥共建 烈士纪念 就业扶持",
)


class TextSource:
    """Sentences that read like report text: a character bigram chain trained on the
    published sample report, with the words of a unit's field mixed in."""

    def __init__(self) -> None:
        text = re.sub(r"[\s\d]+", "", SAMPLE.read_text(encoding="utf-8").split("二、主动公开政府信息情况")[0])
        self.chain: dict[str, list[str]] = defaultdict(list)
        for first, second in itertools.pairwise(text):
            self.chain[first].append(second)
        self.starts = [ch for ch in self.chain if "\u4e00" <= ch <= "\u9fff"]

    def sentence(self, rng: random.Random, field: list[str]) -> str:
        length = rng.randint(25, 60)
        out = [rng.choice(self.starts)]
        while len(out) < length:
            if rng.random() < 0.08:
                out.append(rng.choice(field))
            follow = self.chain.get(out[-1][-1]) or self.starts
            out.append(rng.choice(follow))
        text = "".join(out).replace("。", "，")
        return text + f"{rng.randint(1, 500)}件。"

    def paragraph(self, rng: random.Random, field: list[str]) -> str:
        return "".join(self.sentence(rng, field) for _ in range(rng.randint(2, 5)))


PARTS = ("proactive", "on_request", "management", "platform", "oversight")
APPLICANTS = ("natural_person", "business", "research", "public_interest", "legal_service", "other")


def base_report(form: Form, seed: int) -> Report:
    rng = random.Random(seed)
    report = empty_report(form, Unit(name="", level="区县政府部门"), YEAR)
    for cell in form.input_cells:
        if len(cell.key) == 2 and cell.type != "decimal":
            report.tables[cell.section][cell.key[0]][cell.key[1]] = rng.randint(0, 20)
    report.tables["t2"]["regulations"] = dict.fromkeys(report.tables["t2"]["regulations"], 0)  # a department
    satisfy_rules(form, report)
    return report


def plausible_tables(form: Form, last: Report, rng: random.Random, index: int) -> dict:
    """This year's tables grown from last year's the way a unit's do: counts move a little,
    上年结转 is last year's 结转下年度, 现行有效 carries on (制发 − 废止), the rules hold.
    Planted: every 20th unit copies last year's numbers (numbers.unchanged), every 50th has a
    现行有效 that does not carry on (numbers.stock) and another a tenfold swing (numbers.tenfold)."""
    tables = last.model_copy(deep=True).tables
    if index % 20 == 5:
        return tables
    t2, t3 = tables["t2"], tables["t3"]
    for row in ("normative_documents", "licensing", "penalty", "enforcement"):
        for column in t2[row]:
            if column != "in_force":
                t2[row][column] = max(0, t2[row][column] + rng.randint(-3, 3))
    documents = t2["normative_documents"]
    documents["in_force"] = max(0, last.tables["t2"]["normative_documents"]["in_force"] + documents["issued"]
                                - documents["repealed"])
    if index % 50 == 7:
        documents["in_force"] += 3
    if index % 50 == 9:
        t2["licensing"]["decisions"] = t2["licensing"]["decisions"] * 12 + 10
    for column in APPLICANTS:
        t3["new"][column] = max(0, t3["new"][column] + rng.randint(-3, 3))
        t3["carried_over"][column] = last.tables["t3"]["carried_forward"][column]
    recompute(form, tables)
    for column in APPLICANTS:
        left = t3["new"][column] + t3["carried_over"][column]
        forward = left - t3["results_total"][column]
        if forward < 0:
            t3["new"][column] -= forward
            forward = 0
        t3["carried_forward"][column] = forward
    recompute(form, tables)
    return tables


def renumber(text: str, rng: random.Random) -> str:
    """Last year's text with new numbers, as a copied report is updated."""
    return re.sub(r"\d+件", lambda _: f"{rng.randint(1, 500)}件", text)


def build(form: Form, folder: Path, count: int, tables: str = "plausible") -> tuple[Path, Path]:
    bases = [base_report(form, seed) for seed in range(7)]
    now_dir, last_dir = folder / "units", folder / "last"
    now_dir.mkdir(exist_ok=True)
    last_dir.mkdir(exist_ok=True)
    rng = random.Random(18)
    source = TextSource()
    for index in range(count):
        field = FIELDS[index % len(FIELDS)].split()

        def paragraph(rng: random.Random, field: list[str] = field) -> str:
            return source.paragraph(rng, field)

        def sentence(rng: random.Random, field: list[str] = field) -> str:
            return source.sentence(rng, field)

        code, name = f"U{index:05d}", f"单位{index}"
        last = bases[index % 7].model_copy(deep=True)
        last.year = YEAR - 1
        last.unit = Unit(code=code, name=name, level="区县政府部门")
        for part in PARTS:
            last.fields["overview"][part] = paragraph(rng)
        last.fields["problems"]["text"] = paragraph(rng)
        last.fields["other"]["text"] = sentence(rng)
        now = last.model_copy(deep=True)
        now.year = YEAR
        if tables == "random":
            now.tables = bases[(index + 1) % 7].model_copy(deep=True).tables
        else:
            now.tables = plausible_tables(form, last, rng, index)
        copied = index % 3 == 0
        for part in PARTS:
            before = last.fields["overview"][part] or ""
            now.fields["overview"][part] = renumber(before, rng) if copied else paragraph(rng)
        now.fields["problems"]["text"] = paragraph(rng)
        if index % 50 == 0:
            shared = source.paragraph(rng, field)
        if index % 50 in (0, 1):
            now.fields["overview"]["management"] = shared
        (last_dir / f"{code}.json").write_text(last.to_json(), encoding="utf-8")
        (now_dir / f"{code}.json").write_text(now.to_json(), encoding="utf-8")
    return now_dir, last_dir


def child_cpu() -> float | None:
    """CPU seconds of finished child processes, where the platform reports them."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--goal", type=float, default=60.0, help="seconds allowed for the whole command")
    parser.add_argument("--data", type=Path, help="folder to keep the generated reports in (reused when present)")
    parser.add_argument("--tables", choices=("plausible", "random"), default="plausible",
                        help="this year's tables grown from last year's (default), or drawn afresh: nearly every "
                             "cell then swings or breaks 上年结转, about 25 findings a unit (a stress case)")
    args = parser.parse_args()
    form = resolve_form(None)
    console = Console()
    with tempfile.TemporaryDirectory(prefix="tianbao-bench-precheck-") as tmp:
        folder = args.data or Path(tmp)
        now_dir, last_dir = folder / "units", folder / "last"
        if not (now_dir.is_dir() and len(os.listdir(now_dir)) == args.units):
            folder.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            now_dir, last_dir = build(form, folder, args.units, args.tables)
            console.print(f"built {args.units} + {args.units} unit reports in {time.perf_counter() - started:.1f} s")

        start, cpu = time.perf_counter(), time.process_time()
        result = precheck(form, sorted(now_dir.glob("*.json")), Options(previous=sorted(last_dir.glob("*.json"))))
        in_process, in_process_cpu = time.perf_counter() - start, time.process_time() - cpu
        copied = sum(1 for u in result.units if any(f.check == "copy.previous_year_whole" for f in u.findings))
        clustered = sum(1 for u in result.units if any(f.check == "copy.across_units" for f in u.findings))
        findings = len(result.all_findings())
        del result

        output = Path(tmp) / "out" / "预检报告.xlsx"
        start, cpu_before = time.perf_counter(), child_cpu()
        run = subprocess.run([sys.executable, "-m", "tianbao", "precheck", str(now_dir), "--previous", str(last_dir),
                              "-o", str(output)], capture_output=True, text=True, encoding="utf-8")
        command = time.perf_counter() - start
        cpu_after = child_cpu()
        command_cpu = cpu_after - cpu_before if cpu_after is not None and cpu_before is not None else None
        if run.returncode not in (0, 1):
            console.print(run.stderr)
            return 1

        table = Table(title=f"tianbao precheck, {args.units} units with last year's reports")
        table.add_column("step")
        table.add_column("measured (s)", justify="right")
        table.add_column("CPU (s)", justify="right")
        table.add_column("goal (s)", justify="right")
        table.add_column("ratio", justify="right")
        table.add_column("per unit (ms)", justify="right")
        for label, seconds, cpu_seconds in (
                ("checks in process (read JSON, all checks, D1, D2)", in_process, in_process_cpu),
                ("whole command (+ start-up, 预检报告 .xlsx/.html)", command, command_cpu)):
            table.add_row(label, f"{seconds:.1f}", "—" if cpu_seconds is None else f"{cpu_seconds:.1f}",
                          f"{args.goal:.0f}", f"{seconds / args.goal:.2f}", f"{seconds / args.units * 1000:.2f}")
        console.print(table)
        console.print(f"findings: {findings}; units flagged as copied from last year: {copied} "
                      f"(built: {len(range(0, args.units, 3))}); units in clusters sharing a part: {clustered} "
                      f"(built: {sum(1 for i in range(args.units) if i % 50 in (0, 1))})")
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in sorted(output.parent.iterdir()))
        console.print(f"outputs: {sizes}")
        console.print(f"goal <= {args.goal:.0f} s for the whole command: "
                      f"{'met' if command <= args.goal else 'NOT met'} ({command / args.goal:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
