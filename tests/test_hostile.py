"""The hostile-input corpus (tests/corpus.py): each file gives its finding, no traceback, and
stays within bounded time and memory; limits are configurable; a file that hangs or kills
its worker is cut off while the batch goes on; no local file leaks through an entity.

Time bounds here only guard against hangs (generous, 30 s per file); speed is measured by
the scripts in benchmarks/.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from clirun import tianbao
from corpus import (
    ODD_TEXT_READ,
    SECRET,
    Case,
    build,
    members,
    replace_member,
    streamed_member,
    with_cell,
    with_doctype,
    word_document,
)
from test_reader import render, sample_report
from tianbao.errors import InputFileError, UserError
from tianbao.form import Form
from tianbao.stages import batch as importer
from tianbao.stages.batch import FINDINGS_CSV, FINDINGS_XLSX, import_batch
from tianbao.stages.intake import import_file
from tianbao.stages.pool import START_METHOD_VARIABLE
from tianbao.workbook.limits import Limits, limits_from
from tianbao.workbook.package import XlsxPackage

HANG_GUARD = 30.0  # seconds per file, only so that a hang fails instead of blocking CI
MEMORY_BOUND_MB = 256  # Python allocations while reading one file (the zip bomb inflates to 320 MB)
CATCH_ALL = "文件无法读取（"  # the importer's last resort for an exception nobody expected

# Reads every corpus file in a fresh interpreter: time and peak traced memory per file,
# the process's peak RSS at the end, one JSON line each.
PROBE = textwrap.dedent("""
    import json, resource, sys, time, tracemalloc
    from pathlib import Path
    from tianbao.form import resolve_form
    from tianbao.stages.intake import import_file
    form = resolve_form(None)
    tracemalloc.start()
    for name in sys.argv[1:]:
        tracemalloc.reset_peak()
        started = time.monotonic()
        outcome = import_file(Path(name), form)
        seconds = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        findings = [f.model_dump() for f in outcome.findings]
        report = outcome.report.to_json() if outcome.report is not None else None
        print(json.dumps({"name": Path(name).name, "seconds": seconds, "peak_mb": peak, "findings": findings,
                          "report": report}, ensure_ascii=False), flush=True)
    print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, form: Form) -> tuple[Path, list[Case]]:
    folder = tmp_path_factory.mktemp("corpus")
    return folder, build(folder, form)


@pytest.fixture(scope="module")
def probed(corpus: tuple[Path, list[Case]]) -> dict[str, dict]:
    folder, cases = corpus
    files = [str(folder / case.name) for case in cases]
    done = subprocess.run([sys.executable, "-c", PROBE, *files], capture_output=True, text=True,
                          timeout=HANG_GUARD * len(files), check=False)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[-1]["rss_mb"] < 2 * MEMORY_BOUND_MB + 200, lines[-1]
    return {line["name"]: line for line in lines[:-1]}


@pytest.mark.slow
def test_every_corpus_file_gives_its_finding(corpus: tuple[Path, list[Case]], probed: dict[str, dict]) -> None:
    _folder, cases = corpus
    assert len(cases) >= 30
    for case in cases:
        got = probed[case.name]
        findings = got["findings"]
        shown = [f"{f['rule']} {f['sheet']}!{f['cell']} {f['message'][:60]}" for f in findings]
        if case.rule is None:
            assert got["report"] is not None and not any(f["severity"] == "error" for f in findings), (case, shown)
            continue
        matching = [f for f in findings if f["rule"] == case.rule and f["severity"] == "error"
                    and case.phrase in f["message"]
                    and (case.sheet is None or f["sheet"] == case.sheet)
                    and (case.cell is None or f["cell"] == case.cell)
                    and (case.found is None or f["found"] == case.found)]
        assert matching, (case, shown)


@pytest.mark.slow
def test_every_corpus_file_stays_within_memory(probed: dict[str, dict]) -> None:
    # Time is bounded by the tool's own limit (max_seconds, see the pool tests), never by
    # timing the test; memory is measured by the probe.
    for name, got in probed.items():
        assert got["peak_mb"] < MEMORY_BOUND_MB, (name, got["peak_mb"])


@pytest.mark.slow
def test_unknown_exceptions_never_reach_the_catch_all(probed: dict[str, dict]) -> None:
    # The importer turns an unexpected exception into "文件无法读取（KeyError），可能已损坏":
    # no corpus file may need that fallback.
    for name, got in probed.items():
        for finding in got["findings"]:
            assert not (finding["message"].startswith(CATCH_ALL) and "），可能已损坏" in finding["message"]), name


@pytest.mark.slow
def test_document_properties_with_an_entity_are_refused_when_read(corpus: tuple[Path, list[Case]]) -> None:
    folder, _cases = corpus
    package = XlsxPackage((folder / "xxe_docProps_custom_xml.xlsx").read_bytes())
    with pytest.raises(InputFileError, match="不安全的 XML"):
        package.custom_properties()


@pytest.mark.slow
def test_odd_text_survives_exactly(probed: dict[str, dict]) -> None:
    report = json.loads(probed["odd_text.xlsx"]["report"])
    assert report["fields"]["overview"]["proactive"] == ODD_TEXT_READ


@pytest.mark.slow
def test_corpus_batch_from_the_command_line(corpus: tuple[Path, list[Case]], tmp_path: Path) -> None:
    """The whole corpus through `tianbao import --jobs 2`: one JSON or one listed rejection per
    file, no traceback, and the local file behind the external entities appears nowhere."""
    folder, cases = corpus
    out = tmp_path / "out"
    files = [str(folder / case.name) for case in cases]
    done = tianbao("import", *files, "-o", out, "--jobs", "2")
    assert done.exit_code == 1, done.stderr
    # Every acceptable corpus file is the same unit's report: all are listed as duplicates
    # (which one is final is the clerk's choice), so no JSON is written.
    accepted = [case.name for case in cases if case.rule is None]
    assert len(accepted) > 1 and list(out.glob("*.json")) == []
    listed = (out / FINDINGS_CSV).read_text(encoding="utf-8-sig")
    for case in cases:
        assert case.name in listed
    for name in accepted:
        assert listed.count(f"{name},退回,错误,identity.duplicate") == 1, name
    texts = [done.stdout, done.stderr, listed, *(p.read_text(encoding="utf-8") for p in out.glob("*.json"))]
    texts += [payload.decode("utf-8", "replace") for payload in members((out / FINDINGS_XLSX).read_bytes()).values()]
    assert not any(SECRET in text for text in texts)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


# ---------------------------------------------------------------------------------------
# Documents: python-docx only sees packages that passed the same checks


def test_word_files_with_a_dtd_or_a_bomb_are_refused_before_python_docx(tmp_path: Path, form: Form) -> None:
    document = word_document()
    xml = members(document)["word/document.xml"]
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    cases = {
        "entity.docx": (with_doctype(xml, f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]>', "&xxe;"),
                        "不安全的 XML"),
        "laughs.docx": (with_doctype(xml, '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>', "&b;"),
                        "不安全的 XML"),
    }
    for name, (payload, phrase) in cases.items():
        path = tmp_path / name
        path.write_bytes(replace_member(document, "word/document.xml", payload))
        outcome = import_file(path, form)
        assert outcome.report is None and phrase in outcome.findings[0].message, outcome.findings
        assert SECRET not in outcome.findings[0].message
    bomb = tmp_path / "bomb.docx"
    bomb.write_bytes(streamed_member(document, "word/document.xml", 80 * 2**20))
    outcome = import_file(bomb, form)
    assert outcome.report is None and "压缩炸弹" in outcome.findings[0].message


# ---------------------------------------------------------------------------------------
# Limits


def test_limits_are_configurable_from_the_api(tmp_path: Path, form: Form) -> None:
    path = tmp_path / "a.xlsx"
    path.write_bytes(render(form, sample_report(form)))
    assert not import_file(path, form).rejected
    outcome = import_file(path, form, limits=Limits(max_cells_per_sheet=5))
    [finding] = outcome.findings
    assert outcome.report is None and "max_cells_per_sheet" in (finding.expected or "")
    total = import_file(path, form, limits=Limits(max_cells_total=20))
    assert total.report is None and "max_cells_total" in (total.findings[0].expected or "")
    tree = import_file(path, form, limits=Limits(max_tree_bytes=1000))
    assert tree.report is None and "max_tree_bytes" in (tree.findings[0].expected or "")
    small = import_file(path, form, limits=Limits(max_file_bytes=1000))
    assert "文件过大" in small.findings[0].message and "max_file_bytes" in (small.findings[0].expected or "")
    short = import_file(path, form, limits=Limits(max_text_chars=5))
    assert short.findings[0].cell and "max_text_chars" in (short.findings[0].expected or "")


def test_limit_settings_are_parsed_and_checked() -> None:
    limits = limits_from(["max_file_bytes=10MB", "max-seconds=2.5", "max_cells_per_sheet=1000"])
    assert (limits.max_file_bytes, limits.max_seconds, limits.max_cells_per_sheet) == (10 * 2**20, 2.5, 1000)
    assert limits.max_members == Limits().max_members
    for bad in ("max_file_bytes", "nonsense=1", "max_ratio=-3", "max_ratio=lots"):
        with pytest.raises(UserError):
            limits_from([bad])


def test_limits_are_configurable_from_the_command_line(tmp_path: Path, form: Form) -> None:
    path = tmp_path / "a.xlsx"
    path.write_bytes(render(form, sample_report(form)))
    result = tianbao("import", str(path), "-o", str(tmp_path / "out"), "--limit", "max_text_chars=5")
    assert result.exit_code == 1, result.output
    listed = (tmp_path / "out" / FINDINGS_CSV).read_text(encoding="utf-8-sig")
    assert "max_text_chars" in listed and "个字符" in listed
    result = tianbao("check", str(path), "--limit", "max_seconds=soon")
    assert result.exit_code == 2 and "数值无效" in result.output and "Traceback" not in result.output


# ---------------------------------------------------------------------------------------
# Time per file: a file that hangs (or kills its worker) is cut off, the batch goes on


def _pathological_import(path: Path, form: Form, **options: object) -> importer.ImportOutcome:
    if path.name.startswith("hang"):
        time.sleep(3600)
    if path.name.startswith("crash"):
        os._exit(9)  # as the kernel's OOM killer would end it
    return _real_import_file(path, form, **options)  # type: ignore[arg-type]


_real_import_file = importer.import_file


@pytest.mark.slow
def test_a_file_past_its_time_limit_is_cut_off_and_the_batch_goes_on(
    tmp_path: Path, form: Form, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Forked workers run this patched reader (the pool itself is tested under spawn too, in test_pool).
    monkeypatch.setenv(START_METHOD_VARIABLE, "fork")
    monkeypatch.setattr(importer, "import_file", _pathological_import)
    inbox = tmp_path / "in"
    inbox.mkdir()
    names = ["a.xlsx", "hang.xlsx", "b.xlsx", "crash.xlsx", "c.xlsx"]
    for index, name in enumerate(names):
        (inbox / name).write_bytes(render(form, sample_report(form, code=f"D{index}", name=f"单位{index}")))
    result = import_batch([inbox / n for n in names], form, tmp_path / "out", jobs=2, limits=Limits(max_seconds=3))
    by_name = {o.source.name: o for o in result.outcomes}
    assert [o.source.name for o in result.outcomes] == names
    hang = by_name["hang.xlsx"].findings[0]
    assert hang.rule == "file.timeout" and "3 秒" in hang.message and "max_seconds" in (hang.expected or "")
    assert "意外退出" in by_name["crash.xlsx"].findings[0].message
    assert {o.source.name for o in result.accepted} == {"a.xlsx", "b.xlsx", "c.xlsx"}
    assert len(list((tmp_path / "out").glob("*.json"))) == 3
    assert len(by_name["hang.xlsx"].sha256) == 64


def test_unsafe_xml_never_reaches_a_parser_that_expands_it() -> None:
    # Every XML part goes through workbook.package.parse_xml or the streamed sheet parser; both refuse
    # any DTD. This guards against a new module parsing workbook XML on its own.
    sources = Path(__file__).resolve().parents[1] / "cli" / "tianbao"
    offenders = []
    for path in sources.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for needle in ("fromstring(", "iterparse(", "XMLParser", "etree.parse(", "minidom", "xml.sax", "expat"):
            if needle in text and path.relative_to(sources).as_posix() != "workbook/package.py":
                offenders.append(f"{path.name}: {needle}")
    assert offenders == []


# ---------------------------------------------------------------------------------------
# What the fuzzer found (benchmarks/fuzz_reader.py), and a short fuzz run for CI


@pytest.mark.parametrize("stored", ["NaN", "Infinity", "-Infinity", "1E+999999999", "-1E+999999999", "1E-999999999"])
def test_numbers_beyond_any_spreadsheet_in_every_kind_of_cell(tmp_path: Path, form: Form, stored: str) -> None:
    # NaN made comparisons raise; int(Decimal("1E+999999999")) ran for ever; normalize() overflowed.
    good = render(form, sample_report(form))
    kinds = {c.type: c for c in form.input_cells}
    total = next(iter(form.computed_cells.values()))
    for sheet, a1 in [(c.sheet, c.a1) for c in kinds.values()] + [(total.sheet, total.a1)]:
        path = tmp_path / "n.xlsx"
        path.write_bytes(with_cell(good, sheet, a1, f"<v>{stored}</v>"))
        outcome = import_file(path, form)
        assert outcome.report is not None, (sheet, a1, outcome.findings)
        assert not any(f.message.startswith(CATCH_ALL) for f in outcome.findings)


def test_an_encrypted_zip_member_is_a_clear_rejection(tmp_path: Path, form: Form) -> None:
    # zipfile raises RuntimeError for a member flagged as encrypted (zip password, not Office's).
    data = bytearray(render(form, sample_report(form)))
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        data[at + 8] |= 0x01  # general purpose flag bit 0: encrypted
        at = data.find(b"PK\x01\x02", at + 4)
    path = tmp_path / "zipcrypto.xlsx"
    path.write_bytes(bytes(data))
    outcome = import_file(path, form)
    assert outcome.report is None and "已损坏" in outcome.findings[0].message


@pytest.mark.slow
def test_a_short_fuzz_run_finds_no_uncaught_exception_or_hang(form: Form) -> None:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "fuzz_reader.py"
    spec = importlib.util.spec_from_file_location("fuzz_reader", path)
    assert spec is not None and spec.loader is not None
    fuzzer = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = fuzzer  # its dataclasses look their module up there
    spec.loader.exec_module(fuzzer)
    stats = fuzzer.fuzz(20, seed=6, timeout=HANG_GUARD, form=form)
    assert stats.cases > 50 and stats.read and stats.refused
    assert stats.failures == 0, fuzzer.distinct(stats)
