"""Realistic inputs for the precheck tests, built from the published sample report.

The sample (tests/fixtures/sample-report-2024.txt, a real district bureau's 2024 report) is
read with the document reader; variants change one thing each, the way reports go wrong:
a wrong statistics period, a stale year, the superseded format cited, a fee statement that
contradicts table 三, a part left out, a report copied from last year with new numbers,
units sharing a part.
"""

from __future__ import annotations

from pathlib import Path

from tianbao.document.read import read_document_bytes
from tianbao.form import Form
from tianbao.io.atomic import write_atomic
from tianbao.report import Report

SAMPLE = Path(__file__).parent / "fixtures" / "sample-report-2024.txt"
UNIT = "中站区科技和工业信息化局"
PROBLEMS_TITLE = "五、存在的主要问题及改进情况"
# The sample's 五 does not say what became of last year's problems; a clean report does.
FOLLOWUP = "上年度报告提出的政务公开栏目更新不及时问题，已通过建立周更新台账完成整改。"

# The bureau's 2023 report, worded differently from its 2024 report.
PREVIOUS_TEXT = {
    "proactive": "2023 年，我局围绕工业稳增长和科技创新工作，通过区政府门户网站及时发布部门预算、政策文件和"
                 "项目申报通知。"
                 "重点公开了企业技术改造补助和科技型中小企业评价的办理流程，方便企业查询办理。",
    "on_request": "2023 年度我局未收到依申请公开事项。",
    "management": "我局修订了政府信息发布审核制度，明确信息公开前须经科室负责人和分管领导两级审核。"
                  "全年对已公开的规范性文件进行了一次集中清理，对失效文件及时标注。",
    "platform": "我局依托区政府门户网站政府信息公开专栏开展公开工作，对栏目设置进行了梳理和调整。"
                "同时利用企业服务微信群推送惠企政策，扩大政策知晓面。",
    "oversight": "我局将政府信息公开工作纳入年度重点工作，安排专人负责日常维护和内容审核。"
                 "全年组织政务公开业务学习两次，2023 年度未发生因政府信息公开引起的责任追究。",
    "problems": "一是部分栏目信息更新频率不高；二是政策解读形式较为单一。"
                "下一步我局将建立栏目更新提醒机制，并尝试采用图文方式开展政策解读。",
    "other": "本年度未收取政府信息公开信息处理费。",
}


def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")


def clean_text() -> str:
    """The sample with its 五 stating last year's problems as fixed."""
    text = sample_text()
    anchor = "我们将在认真分析总结前阶段工作的基础上"
    return text.replace(anchor, FOLLOWUP + anchor, 1)


def read_sample(form: Form, text: str | None = None, name: str = "sample.txt") -> Report:
    """The report a document reads as (the sample unless another text is given)."""
    data = (text if text is not None else sample_text()).encode("utf-8")
    report, findings = read_document_bytes(data, name, form)
    if report is None:
        raise ValueError(findings)
    report.findings = []
    return report


def previous_report(form: Form) -> Report:
    """The bureau's 2023 report: same numbers (all zero), its own wording."""
    report = read_sample(form)
    report.year = 2023
    report.fields["overview"] = {k: PREVIOUS_TEXT[k] for k in report.fields["overview"]}
    report.fields["problems"]["text"] = PREVIOUS_TEXT["problems"]
    report.fields["other"]["text"] = PREVIOUS_TEXT["other"]
    return report


def write_report(report: Report, path: Path) -> Path:
    write_atomic(path, report.to_json())
    return path


def write_text(text: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def roster(path: Path, units: list[tuple[str, str, str]]) -> Path:
    lines = ["code,name,level", *(",".join(unit) for unit in units)]
    return write_text("\n".join(lines) + "\n", path)


def without_part(text: str, title: str, next_title: str) -> str:
    """The document with one part (heading and body) left out."""
    start, end = text.index(title), text.index(next_title)
    return text[:start] + text[end:]
