"""Learn the boilerplate sentences of 政府信息公开工作年度报告 from a corpus of published reports.

    python -m tianbao.stages.precheck.learn [语料文件或文件夹 …] [--hints 提示.yaml] [-o 输出.yaml]

Every narrative sentence of every report (the parts the reuse ratios count) is normalised the
way the precheck compares sentences — spaces and punctuation dropped, the unit's own name
dropped, every run of digits read as one number — and grouped with the first sentence it is
at least `sentence_similarity` similar to (character-set Jaccard). A group that at least
`min_documents` reports, and at least `min_share` of them, have is wording nearly every
report has: it is written to templates/precheck/boilerplate_learned.yaml with where it was
learned from, the thresholds and the date, and the precheck leaves it out of the reuse
ratios. Sentences the form itself prints, or the hand-written statutory sentences of
boilerplate.yaml, are already left out and are not repeated.

Without arguments it learns from the corpus shipped with the tool's tests (tests/corpus, with
its hints file, and tests/fixtures/sample-report-2024.txt) and writes the shipped file; a
district can run it on its own published reports. A test checks that the shipped file is
what this learns from the shipped corpus.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import yaml

from tianbao.document.read import Hints, read_document
from tianbao.errors import UserError
from tianbao.form import Form, resolve_form
from tianbao.io.atomic import write_atomic
from tianbao.precheck_catalogue import data_dir
from tianbao.report import Report
from tianbao.stages.precheck.config import load_config
from tianbao.stages.precheck.similarity import SetIndex
from tianbao.stages.precheck.texts import UNIT_MARK, boilerplate_keys, normalize, split_sentences, text_parts

LEARNED_FILE = "boilerplate_learned.yaml"
MIN_SHARE = 0.5  # of the corpus's reports
MIN_DOCUMENTS = 3  # and never fewer reports than this, however small the corpus


@dataclass
class Group:
    text: str  # the first sentence met, the unit's name written as 〈单位〉
    documents: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Learned:
    sentences: list[tuple[str, int]]  # (sentence, reports that have it), most common first
    documents: int
    needed: int  # reports a sentence needed


def learn(form: Form, reports: list[Report], min_share: float = MIN_SHARE,
          min_documents: int = MIN_DOCUMENTS) -> Learned:
    """The sentences at least max(min_documents, ⌈min_share × reports⌉) of the reports share."""
    copying = load_config().copying
    known = SetIndex(copying.sentence_similarity)
    for chars in boilerplate_keys(form, learned=False):
        known.add(chars)
    index = SetIndex(copying.sentence_similarity)
    groups: list[Group] = []
    for number, report in enumerate(reports):
        name = report.unit.name
        for part in text_parts(form, report):
            for piece in split_sentences(part.text):
                key = normalize(piece, name)
                if len(key) < copying.min_sentence_chars:
                    continue
                chars = frozenset(key)
                if known.best(chars) is not None:
                    continue
                match = index.best(chars)
                if match is None:
                    index.add(chars)
                    groups.append(Group(piece.replace(name, UNIT_MARK) if name else piece))
                    match = (len(groups) - 1, 1.0)
                groups[match[0]].documents.add(number)
    needed = max(min_documents, math.ceil(min_share * len(reports) - 1e-9))
    kept = [(g.text, len(g.documents)) for g in groups if len(g.documents) >= needed]
    kept.sort(key=lambda item: -item[1])
    return Learned(kept, len(reports), needed)


def shipped_corpus() -> tuple[list[Path], Path | None]:
    """The tests' corpus of published reports, when the tool runs from its source tree."""
    tests = data_dir().parents[1] / "tests"
    files = [*sorted((tests / "corpus").glob("*.txt")), tests / "fixtures" / "sample-report-2024.txt"]
    hints = tests / "corpus" / "expected.yaml"
    return [f for f in files if f.is_file()], hints if hints.is_file() else None


def read_corpus(form: Form, paths: list[Path], hints_file: Path | None) -> tuple[list[Report], list[str]]:
    """The reports of the corpus files, and why each unreadable one was left out."""
    hints: dict[str, dict] = {}
    if hints_file is not None:
        try:
            raw = yaml.safe_load(hints_file.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            reason = "文件不存在或无法打开" if isinstance(exc, OSError) else "不是 UTF-8 编码的 YAML"
            raise UserError(f"无法读取提示文件 {hints_file.name}：{reason}") from exc
        hints = {str(name): entry.get("hints", {}) for name, entry in raw.items() if isinstance(entry, dict)}
    reports, skipped = [], []
    for path in paths:
        report, findings = read_document(path, form, Hints(**hints.get(path.name, {})))
        if report is None:
            skipped.append(f"{path.name}：{findings[0].message if findings else '不是年度报告'}")
        else:
            reports.append(report)
    return reports, skipped


def learned_yaml(learned: Learned, corpus: list[str], min_share: float, min_documents: int,
                 day: dt.date) -> str:
    header = (
        "# Sentences nearly every 政府信息公开工作年度报告 has, learned from a corpus of published\n"
        "# reports by `python -m tianbao.stages.precheck.learn` (do not edit by hand: run it again).\n"
        "# They take no part in the reuse ratios of `tianbao precheck`, like the hand-written\n"
        "# statutory sentences of boilerplate.yaml and the form's own titles and sentences.\n"
        "# documents: how many reports of the corpus have the sentence (after normalisation).\n"
    )
    body = {
        "provenance": {
            "corpus": corpus,
            "reports": learned.documents,
            "min_share": min_share,
            "min_documents": min_documents,
            "needed_reports": learned.needed,
            "sentence_similarity": load_config().copying.sentence_similarity,
            "learned_on": day.isoformat(),
        },
        "sentences": [{"text": text, "documents": count} for text, count in learned.sentences],
    }
    return header + yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=200)


class _ChineseParser(argparse.ArgumentParser):
    """argparse speaks English in its headings and errors; a clerk may run this tool too."""

    def format_help(self) -> str:
        text = super().format_help()
        for english, chinese in (("usage:", "用法："), ("positional arguments:", "参数："), ("options:", "选项：")):
            text = text.replace(english, chinese)
        return text

    def error(self, message: str) -> NoReturn:
        self.exit(2, "错误：命令行参数不对，请用 -h 查看用法。\n")


def main(argv: list[str] | None = None) -> int:
    parser = _ChineseParser(
        prog="python -m tianbao.stages.precheck.learn", add_help=False,
        description="从已发布的年度报告中学习几乎每份报告都有的套话句子，写入预检使用的套话文件。")
    parser.add_argument("corpus", nargs="*", type=Path, metavar="语料",
                        help="已发布的年报文件或文件夹（默认：工具自带的语料）")
    parser.add_argument("--hints", type=Path, metavar="提示文件",
                        help="文件名到单位名称、年度的提示（YAML，格式同 tests/corpus/expected.yaml）")
    parser.add_argument("-o", "--output", type=Path, metavar="输出文件",
                        help=f"输出文件（默认：templates/precheck/{LEARNED_FILE}）")
    parser.add_argument("--min-share", type=float, default=MIN_SHARE, metavar="比例",
                        help="至少多大比例的报告有这句话")
    parser.add_argument("--min-documents", type=int, default=MIN_DOCUMENTS, metavar="份数",
                        help="至少多少份报告有这句话")
    parser.add_argument("-h", "--help", action="help", help="显示帮助")
    args = parser.parse_args(argv)
    form = resolve_form(None)
    if args.corpus:
        paths = [p for given in args.corpus for p in (sorted(given.iterdir()) if given.is_dir() else [given])
                 if p.is_file() and p.suffix.lower() in {".txt", ".html", ".htm", ".docx", ".pdf"}]
        hints_file = args.hints
    else:
        paths, hints_file = shipped_corpus()
        hints_file = args.hints or hints_file
    try:
        reports, skipped = read_corpus(form, paths, hints_file)
    except UserError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    for reason in skipped:
        print(f"已跳过 {reason}", file=sys.stderr)
    if not reports:
        print("错误：语料中没有可以读取的年度报告", file=sys.stderr)
        return 2
    learned = learn(form, reports, args.min_share, args.min_documents)
    root = data_dir().parents[1]
    names = [p.resolve().relative_to(root).as_posix() if p.resolve().is_relative_to(root) else p.name
             for p in paths]
    output = args.output or data_dir() / LEARNED_FILE
    write_atomic(output, learned_yaml(learned, names, args.min_share, args.min_documents, dt.date.today()))
    print(f"从 {len(reports)} 份报告中学到 {len(learned.sentences)} 句套话（至少 {learned.needed} 份报告都有），"
          f"已写入 {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
