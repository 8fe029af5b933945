"""Fuzz the workbook reader: mutated workbooks must never crash, hang or blow up memory.

    python benchmarks/fuzz_reader.py --seconds 3600 [--seed 1] [--timeout 20] [--save DIR]

Seeds are generated department workbooks and one published report (Word, HTML, text). Each case mutates
one seed at one of four levels -- raw bytes, zip members, XML nodes, cell values -- and runs
`tianbao.stages.intake.import_file` on it in a worker process with a per-case timeout and a memory
cap. Outcomes:
  * read / refused: the file was imported, or refused with a finding (both are fine);
  * uncaught: the importer fell back to its catch-all ("文件无法读取（KeyError）"): a bug;
  * hang: no answer within the timeout; crash: the worker died (e.g. out of memory).
Failing inputs are saved with --save for a regression test. Prints a table at the end.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import random
import re
import resource
import time
import traceback
import warnings
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from xml.etree import ElementTree

from rich.console import Console
from rich.table import Table

from tianbao.form import Form, resolve_form
from tianbao.report import Report, Unit, empty_report
from tianbao.workbook.write import WriteOptions, render_workbook

# The importer's last-resort message for an exception nobody expected (see importer._import).
_CATCH_ALL = re.compile(r"^文件无法读取（([A-Za-z_][A-Za-z0-9_]*)），可能已损坏")
MEMORY_CAP = 2 * 1024**3
INTERESTING = [
    "", " ", "0", "-1", "1e300", "-1e300", "1e-300", "NaN", "nan", "inf", "-inf", "Infinity", "1E+309",
    "9" * 400, "0x10", "1_000", "１２", "12 ", "1,234", "2.5", "=1+1", "=HYPERLINK(\"http://x\")",
    "+cmd|' /C calc'!A0", "@SUM(A1)", "\x00\x01\x1f", "_x0000_", "_xD800_", "😀" * 50, "\ufeff", "\u202e",
    "2025-01-32", "1e999999999", "-1E+99999999", "45000", "-45000", "99999999999999999999999", "true", "#REF!",
    "A" * 70000,
]


@dataclass
class Stats:
    cases: int = 0
    read: int = 0
    refused: int = 0
    uncaught: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    slowest: float = 0.0
    by_level: dict[str, int] = field(default_factory=dict)

    @property
    def failures(self) -> int:
        return len(self.uncaught) + len(self.hangs) + len(self.crashes)


# ---------------------------------------------------------------------------------------
# Seeds


def seed_report(form: Form, rng: random.Random) -> Report:
    levels = form.identity_section_choices("unit_level") or [""]
    report = empty_report(form, Unit(code="F001", name="模糊测试单位", level=levels[-1]), 2025)
    for cell in form.input_cells:
        if cell.section in report.tables and rng.random() < 0.5:
            value: int | Decimal = (Decimal(rng.randint(0, 10**5)).scaleb(-cell.places) if cell.type == "decimal"
                                    else rng.randint(0, 30))
            report.tables[cell.section][cell.key[0]][cell.key[1]] = value
    return report


def seeds(form: Form) -> list[tuple[str, bytes]]:
    rng = random.Random(0)
    found = []
    for index in range(3):
        report = seed_report(form, rng)
        found.append(("xlsx", render_workbook(form, report, WriteOptions(password=f"p{index}"))))
    try:
        from tianbao.document.publish import render as render_document
        from tianbao.document.publish.document import build_document

        document = build_document(form, seed_report(form, rng))
        found += [(kind, render_document(document, kind)) for kind in ("docx", "html", "txt")]
    except (ImportError, TypeError):  # the publisher's API is optional for fuzzing the reader
        pass
    return found


# ---------------------------------------------------------------------------------------
# Mutations


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    level = rng.choice(["bytes", "member", "xml", "xml", "cell", "cell"])
    try:
        if level == "bytes":
            return level, _mutate_bytes(data, rng)
        if level == "member":
            return level, _mutate_members(data, rng)
        return level, _mutate_xml(data, rng, cells_only=level == "cell")
    except Exception:  # an already broken input: fall back to byte mutations
        return "bytes", _mutate_bytes(data, rng)


def _mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if not buffer:
            break
        at = rng.randrange(len(buffer))
        choice = rng.random()
        if choice < 0.5:
            buffer[at] = rng.randrange(256)
        elif choice < 0.7:
            del buffer[at : at + rng.randint(1, 64)]
        elif choice < 0.85:
            buffer[at:at] = rng.randbytes(rng.randint(1, 64))
        else:
            del buffer[at:]  # truncation
    return bytes(buffer)


def _members(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info, archive.read(info)) for info in archive.infolist()]


def _pack(members: list[tuple[zipfile.ZipInfo | str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as target:
        for info, payload in members:
            name = info if isinstance(info, str) else info.filename
            target.writestr(name, payload)
    return out.getvalue()


def _mutate_members(data: bytes, rng: random.Random) -> bytes:
    members: list[tuple[zipfile.ZipInfo | str, bytes]] = list(_members(data))
    index = rng.randrange(len(members))
    info, payload = members[index]
    choice = rng.random()
    if choice < 0.25:
        del members[index]
    elif choice < 0.4:
        members.append((info, payload))  # a duplicated member name
    elif choice < 0.6:
        members[index] = (info, payload[: rng.randrange(len(payload) + 1)])
    elif choice < 0.75:
        members[index] = (info, rng.randbytes(rng.randint(0, 2048)))
    elif choice < 0.9:
        other = members[rng.randrange(len(members))][1]
        members[index] = (info, other)  # one part's content under another's name
    else:
        members[index] = (info, payload * rng.randint(2, 50))
    return _pack(members, rng.choice([zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED]))


def _mutate_xml(data: bytes, rng: random.Random, cells_only: bool) -> bytes:
    members = _members(data)
    xml = [i for i, (info, _) in enumerate(members) if info.filename.endswith((".xml", ".rels"))]
    if cells_only:
        xml = [i for i in xml if "worksheets/" in members[i][0].filename or "sharedStrings" in members[i][0].filename]
    index = rng.choice(xml)
    info, payload = members[index]
    root = ElementTree.fromstring(payload)
    elements = list(root.iter())
    for _ in range(rng.randint(1, 5)):
        if cells_only:
            _mutate_value(elements, rng)
        else:
            _mutate_node(root, elements, rng)
    text = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    if not cells_only and rng.random() < 0.1:
        text = _with_doctype(text, rng)
    changed: list[tuple[zipfile.ZipInfo | str, bytes]] = list(members)
    changed[index] = (info, text)
    return _pack(changed)


def _mutate_value(elements: list[ElementTree.Element], rng: random.Random) -> None:
    values = [e for e in elements if e.tag.endswith(("}v", "}t", "}f"))]
    cells = [e for e in elements if e.tag.endswith("}c")]
    if values and rng.random() < 0.7:
        rng.choice(values).text = rng.choice(INTERESTING)
    elif cells:
        cell = rng.choice(cells)
        attribute = rng.choice(["t", "r", "s"])
        cell.set(attribute, rng.choice(["s", "n", "str", "inlineStr", "b", "e", "d", "x", "", "A0", "XFD1048577",
                                         "ZZZZ1", "B-1", "999999999", "-1"]))


def _mutate_node(root: ElementTree.Element, elements: list[ElementTree.Element], rng: random.Random) -> None:
    parents = {child: parent for parent in root.iter() for child in parent}
    target = rng.choice(elements)
    choice = rng.random()
    if choice < 0.3 and target in parents:
        parents[target].remove(target)
    elif choice < 0.5 and target in parents:
        parents[target].append(target)  # the same node twice
    elif choice < 0.7 and target.attrib:
        key = rng.choice(list(target.attrib))
        target.set(key, rng.choice([*INTERESTING[:20], "rId999", "../../../etc/passwd", "/xl/worksheets/x.xml"]))
    elif choice < 0.85:
        target.text = rng.choice(INTERESTING)
    else:
        target.tag = rng.choice([target.tag + "x", "{urn:other}" + target.tag.split("}")[-1]])


def _with_doctype(text: bytes, rng: random.Random) -> bytes:
    doctype = rng.choice([
        b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/hostname">]>',
        b'<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd">',
    ])
    end = text.find(b"?>") + 2
    return text[:end] + doctype + text[end:]


# ---------------------------------------------------------------------------------------
# The worker


def _worker(connection: Connection, form_source: str) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    from tianbao.errors import InputFileError
    from tianbao.stages.intake import import_file, read_bytes
    from tianbao.workbook.limits import DEFAULT_LIMITS
    from tianbao.workbook.read import ReadOptions

    form = resolve_form(form_source)
    folder = Path(connection.recv())
    while True:
        try:
            name, data = connection.recv()
        except EOFError:
            return
        path = folder / name
        path.write_bytes(data)
        outcome = import_file(path, form)
        detail = ""
        if outcome.report is not None:
            outcome.report.to_json()
        for finding in outcome.findings:
            match = _CATCH_ALL.match(finding.message)
            if match:
                try:  # again, to get the traceback the importer swallowed
                    read_bytes(data, name, form, ReadOptions(), False, DEFAULT_LIMITS)
                except InputFileError:
                    detail = f"{match.group(1)} (not reproduced)"
                except Exception:  # this is what the fuzzer is looking for
                    detail = traceback.format_exc(limit=-4)
                break
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        connection.send(("uncaught" if detail else ("read" if outcome.report else "refused"), detail, rss))


class Runner:
    """One worker process, replaced after a hang or crash."""

    def __init__(self, form: Form, folder: Path) -> None:
        self.form_source = form.source
        self.folder = folder
        self.context = multiprocessing.get_context("fork")
        self._start()

    def _start(self) -> None:
        self.parent, child = self.context.Pipe()
        self.process = self.context.Process(target=_worker, args=(child, self.form_source), daemon=True)
        self.process.start()
        child.close()
        self.parent.send(str(self.folder))

    def run(self, name: str, data: bytes, timeout: float) -> tuple[str, str, float]:
        try:
            self.parent.send((name, data))
            if self.parent.poll(timeout):
                return self.parent.recv()  # type: ignore[no-any-return]
            kind = "hang"
        except (EOFError, BrokenPipeError, ConnectionResetError):
            kind = "crash"
        self.process.kill()
        self.process.join()
        code = self.process.exitcode
        self._start()
        return kind, f"exit code {code}", 0.0

    def close(self) -> None:
        self.parent.close()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()


def fuzz(seconds: float, seed: int, timeout: float = 20.0, save: Path | None = None,
         form: Form | None = None) -> Stats:
    import tempfile

    warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we make on purpose
    form = form or resolve_form(None)
    rng = random.Random(seed)
    corpus = seeds(form)
    stats = Stats()
    end = time.monotonic() + seconds
    with tempfile.TemporaryDirectory(prefix="tianbao-fuzz-") as folder:
        runner = Runner(form, Path(folder))
        try:
            while time.monotonic() < end:
                kind, base = rng.choice(corpus)
                level, data = mutate(base, rng)
                for _ in range(rng.choice([0, 0, 1, 2])):  # stack a few mutations sometimes
                    level, data = mutate(data, rng)
                stats.cases += 1
                stats.by_level[level] = stats.by_level.get(level, 0) + 1
                started = time.monotonic()
                result, detail, rss = runner.run(f"case{stats.cases}.{kind}", data, timeout)
                stats.slowest = max(stats.slowest, time.monotonic() - started)
                stats.peak_rss_mb = max(stats.peak_rss_mb, rss)
                if result in ("read", "refused"):
                    setattr(stats, result, getattr(stats, result) + 1)
                    continue
                {"uncaught": stats.uncaught, "hang": stats.hangs, "crash": stats.crashes}[result].append(
                    f"case {stats.cases} ({level}): {detail}")
                if save is not None:
                    save.mkdir(parents=True, exist_ok=True)
                    (save / f"{result}-{seed}-{stats.cases}.{kind}").write_bytes(data)
        finally:
            runner.close()
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=20, help="seconds before a case counts as a hang")
    parser.add_argument("--save", type=Path, help="folder for failing inputs")
    args = parser.parse_args()
    started = time.monotonic()
    stats = fuzz(args.seconds, args.seed, args.timeout, args.save)
    elapsed = time.monotonic() - started
    table = Table(title=f"fuzz_reader: seed {args.seed}, {elapsed:.0f} s")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for label, value in (
        ("cases", stats.cases), ("cases/s", f"{stats.cases / elapsed:.1f}"),
        ("imported (report built)", stats.read), ("refused with a finding", stats.refused),
        ("uncaught exceptions", len(stats.uncaught)), ("hangs", len(stats.hangs)), ("crashes", len(stats.crashes)),
        ("slowest case (s)", f"{stats.slowest:.2f}"), ("peak worker RSS (MB)", f"{stats.peak_rss_mb:.0f}"),
        *((f"mutations: {level}", count) for level, count in sorted(stats.by_level.items())),
    ):
        table.add_row(label, str(value))
    console = Console()
    console.print(table)
    for line, count in distinct(stats).items():
        console.print(f"{count:6d} x {line}", highlight=False, markup=False)


def distinct(stats: Stats) -> dict[str, int]:
    """Failures grouped by kind, innermost frame and exception line."""
    groups: dict[str, int] = {}
    for kind, items in (("uncaught", stats.uncaught), ("hang", stats.hangs), ("crash", stats.crashes)):
        for item in items:
            lines = [line.strip() for line in item.splitlines() if line.strip()]
            frames = [line for line in lines if line.startswith("File ")]
            key = " | ".join([kind, *frames[-1:], lines[-1]])
            groups[key] = groups.get(key, 0) + 1
    return groups


if __name__ == "__main__":
    main()
