"""The hostile-input corpus: broken, strange and malicious files, built into a folder.

    python tests/corpus.py FOLDER

Nothing binary is committed: every file is made here from a generated department workbook
(zip surgery, XML edits, openpyxl, msoffcrypto). Each `Case` states the finding the
importer must give for its file. A file `secret.txt` holds a token that external-entity
files point at; it must never appear in any output.
"""

from __future__ import annotations

import io
import random
import re
import sys
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import docx
import openpyxl
from msoffcrypto.format.ooxml import OOXMLFile

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_reader import edited, input_cell, render, replace_member, sample_report
from tianbao.form import Form, resolve_form
from tianbao.form.query import InputCell
from tianbao.form.spec import TableSection
from tianbao.workbook.package import XlsxPackage

SECRET = "TIANBAO-SECRET-7f3a9c"
SECRET_FILE = "secret.txt"
MB = 1024 * 1024
# Text a clerk could paste: control characters (as OOXML escapes), emoji, bidi and zero-width marks.
ODD_TEXT = "控制_x0001_字符_x001F_ 表情😀🇨🇳 \u202e反向\u202c 零宽\u200b 结束"
ODD_TEXT_READ = "控制\x01字符\x1f 表情😀🇨🇳 \u202e反向\u202c 零宽\u200b 结束"


@dataclass(frozen=True)
class Case:
    """One corpus file and what importing it must give."""

    name: str
    rule: str | None  # None: accepted without errors
    phrase: str = ""  # in the finding's message
    sheet: str | None = None
    cell: str | None = None
    found: str | None = None


# ---------------------------------------------------------------------------------------
# Zip and XML surgery


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def sheet_member(data: bytes, sheet: str) -> str:
    info = next(s for s in XlsxPackage(data).workbook().sheets if s.name == sheet)
    assert info.path is not None
    return info.path


def with_cell(data: bytes, sheet: str, a1: str, inner: str, kind: str | None = None) -> bytes:
    """The workbook with cell `a1` of `sheet` replaced by `inner` (e.g. '<v>1e300</v>'), its style kept."""
    member = sheet_member(data, sheet)
    xml = members(data)[member].decode("utf-8")
    pattern = re.compile(rf'<c r="{a1}"(?P<style> s="\d+")?[^>]*?(/>|>.*?</c>)')
    kind_attr = f' t="{kind}"' if kind else ""
    patched, count = pattern.subn(lambda m: f'<c r="{a1}"{m.group("style") or ""}{kind_attr}>{inner}</c>', xml, 1)
    assert count == 1, (sheet, a1)
    return replace_member(data, member, patched.encode("utf-8"))


def with_doctype(xml: bytes, doctype: str, reference: str | None = None) -> bytes:
    """`xml` with a DTD after its declaration, and `reference` (e.g. '&xxe;') in its first text node."""
    text = xml.decode("utf-8")
    end = text.index("?>") + 2 if text.startswith("<?xml") else 0
    text = text[:end] + doctype + text[end:]
    if reference:
        text = re.sub(r">([^<>]+)<", lambda m: f">{reference}<", text, count=1)
    return text.encode("utf-8")


def streamed_member(data: bytes, name: str, size: int, filler: bytes = b" ") -> bytes:
    """`data` with member `name` replaced by valid sheet XML padded to `size` bytes, written in
    chunks so that building it needs no memory (the zip bomb)."""
    head = b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/' \
           b'spreadsheetml/2006/main"><sheetData>'
    tail = b"</sheetData></worksheet>"
    chunk = filler * MB
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info.filename, source.read(info))
                continue
            with target.open(name, "w", force_zip64=True) as handle:
                handle.write(head)
                for _ in range(size // MB):
                    handle.write(chunk)
                handle.write(tail)
    return out.getvalue()


def lying_size(data: bytes, name: str, declared: int) -> bytes:
    """The central directory claims `name` inflates to `declared` bytes (it is larger)."""
    raw = bytearray(data)
    encoded = name.encode("utf-8")
    at = 0
    while (at := raw.find(b"PK\x01\x02", at)) >= 0:
        length = int.from_bytes(raw[at + 28 : at + 30], "little")
        if raw[at + 46 : at + 46 + length] == encoded:
            raw[at + 24 : at + 28] = declared.to_bytes(4, "little")
            return bytes(raw)
        at += 4
    raise AssertionError(name)


def encrypted(data: bytes) -> bytes:
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(data)).encrypt("secret", out)
    return out.getvalue()


def word_document() -> bytes:
    document = docx.Document()
    document.add_paragraph("会议纪要：本周工作安排。")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def foreign_workbook() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sheet"
    sheet.append(["甲", "乙"])
    sheet.append(["丙", 12])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def stray_rows(data: bytes, sheet: str, rows: int, filled: bool) -> bytes:
    """`rows` extra rows far below the form: each with a value in column AZ, or empty styled rows."""
    member = sheet_member(data, sheet)
    xml = members(data)[member].decode("utf-8")
    first = 1000
    if filled:
        extra = "".join(f'<row r="{r}"><c r="AZ{r}"><v>{r}</v></c></row>' for r in range(first, first + rows))
    else:
        extra = "".join(f'<row r="{r}" ht="15" customHeight="1"/>' for r in range(first, first + rows))
    xml = xml.replace("</sheetData>", extra + "</sheetData>", 1)
    xml = re.sub(r'<dimension ref="[^"]*"/>', "", xml)
    return replace_member(data, member, xml.encode("utf-8"))


# ---------------------------------------------------------------------------------------
# The corpus


def build(folder: Path, form: Form | None = None) -> list[Case]:
    """Write every corpus file into `folder`; the cases say what each must give."""
    form = form or resolve_form(None)
    folder.mkdir(parents=True, exist_ok=True)
    secret = folder / SECRET_FILE
    secret.write_text(SECRET + "\n", encoding="utf-8")
    good = render(form, sample_report(form))
    parts = members(good)
    count = input_cell(form, "t3", "new", "natural_person")
    counts = [c for c in form.input_cells if c.section == count.section and c.type == "int"]
    amount = next(c for c in form.input_cells
                  if c.type == "decimal" and isinstance(form.section(c.section), TableSection))
    text = input_cell(form, "overview", "proactive")
    name_cell: InputCell = input_cell(form, "t3", "disclosed", "natural_person")
    workbook_xml = parts["xl/workbook.xml"].decode("utf-8")
    first_sheet = sheet_member(good, count.sheet)
    xxe = f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret.resolve()}">]>'
    laughs = ('<!DOCTYPE x [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
              '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
              '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">'
              '<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">'
              '<!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">]>')
    rng = random.Random(6)
    unsafe = "不安全的 XML"
    files: dict[str, tuple[bytes, Case]] = {}

    def add(name: str, data: bytes, rule: str | None, phrase: str = "", sheet: str | None = None,
            cell: str | None = None, found: str | None = None) -> None:
        files[name] = (data, Case(name, rule, phrase, sheet, cell, found))

    add("good.xlsx", good, None)
    add("encrypted.xlsx", encrypted(good), "file.unreadable", "打开密码")
    add("billion_laughs.xlsx", replace_member(good, "xl/sharedStrings.xml",
                                              with_doctype(parts["xl/sharedStrings.xml"], laughs, "&i;")),
        "file.unreadable", unsafe)
    for part in ("xl/sharedStrings.xml", "xl/workbook.xml", "xl/styles.xml", "docProps/custom.xml",
                 "xl/_rels/workbook.xml.rels", first_sheet):
        stem = part.replace("/", "_").replace(".", "_")
        # The document properties are read too: they state the identity the others must agree with.
        add(f"xxe_{stem}.xlsx", replace_member(good, part, with_doctype(parts[part], xxe, "&xxe;")), "file.unreadable",
            unsafe)
    utf16 = with_doctype(parts["xl/sharedStrings.xml"], xxe, "&xxe;").decode("utf-8")
    utf16 = utf16.replace('encoding="UTF-8"', 'encoding="UTF-16"')
    add("xxe_utf16.xlsx", replace_member(good, "xl/sharedStrings.xml", utf16.encode("utf-16")),
        "file.unreadable", unsafe)
    add("zip_bomb.xlsx", streamed_member(good, first_sheet, 320 * MB), "file.unreadable", "压缩炸弹")
    add("zip_bomb_member.xlsx", streamed_member(good, first_sheet, 80 * MB), "file.unreadable", "压缩炸弹")
    add("zip_bomb_ratio.xlsx", streamed_member(good, first_sheet, 8 * MB), "file.unreadable", "压缩炸弹")
    add("zip_lying_size.xlsx", lying_size(good, first_sheet, 100), "file.unreadable", "已损坏")
    add("truncated.xlsx", good[: len(good) // 2], "file.unreadable", "不完整")
    add("random.xlsx", rng.randbytes(64 * 1024), "file.unreadable", "无法识别")
    add("malformed_sheet.xlsx", replace_member(good, first_sheet, b'<worksheet><sheetData><row><c r="A1"><v>1</v>'
                                               b"</row></sheetData>"), "file.unreadable", "无法解析")
    add("docx_renamed.xlsx", word_document(), "file.unreadable", "Word 文档")
    add("foreign.xlsx", foreign_workbook(), "identity.form", "不是用 tianbao 生成的")
    add("stray_rows.xlsx", stray_rows(good, count.sheet, 300_000, filled=True), "file.unreadable",
        "单元格超过", sheet=count.sheet)
    flood = "".join(f"<si><t>{rng.randrange(10**6):06d}</t></si>" for _ in range(250_000))
    shared = parts["xl/sharedStrings.xml"].decode("utf-8").replace("</sst>", flood + "</sst>")
    add("shared_strings_flood.xlsx", replace_member(good, "xl/sharedStrings.xml", shared.encode("utf-8")),
        "file.unreadable", "文字条目超过")
    add("empty_rows.xlsx", stray_rows(good, count.sheet, 300_000, filled=False), None)
    # XML surgery, not openpyxl: openpyxl cuts text at Excel's 32,767 characters when saving.
    # Varied characters: a repeated one would compress like a zip bomb and be refused as one.
    pasted = "".join(rng.choices([chr(c) for c in range(0x4E00, 0x5E00)], k=5 * MB // 3))
    add("huge_text.xlsx", with_cell(good, text.sheet, text.a1, f"<is><t>{pasted}</t></is>", "inlineStr"),
        "file.unreadable", "个字符", sheet=text.sheet, cell=text.a1)
    add("odd_text.xlsx", with_cell(good, text.sheet, text.a1, f"<is><t>{ODD_TEXT}</t></is>", "inlineStr"), None)
    add("count_1e300.xlsx", with_cell(good, count.sheet, count.a1, "<v>1e300</v>"), "value.magnitude",
        sheet=count.sheet, cell=count.a1)
    add("count_huge_exponent.xlsx", with_cell(good, count.sheet, count.a1, "<v>1E+999999999</v>"),
        "value.magnitude", sheet=count.sheet, cell=count.a1)
    add("amount_1e300.xlsx", with_cell(good, amount.sheet, amount.a1, "<v>1e300</v>"), "value.magnitude",
        sheet=amount.sheet, cell=amount.a1)
    for index, (word, inner, kind) in enumerate([("nan_text", "<is><t>NaN</t></is>", "inlineStr"),
                                                  ("infinity_text", "<is><t>Infinity</t></is>", "inlineStr"),
                                                  ("nan_number", "<v>NaN</v>", None)]):
        cell = counts[index]
        add(f"count_{word}.xlsx", with_cell(good, cell.sheet, cell.a1, inner, kind), "value.text",
            sheet=cell.sheet, cell=cell.a1)
    add("count_date.xlsx", edited(good, lambda book: book[count.sheet].__setitem__(count.a1, datetime(2025, 3, 1))),
        "value.date_in_number", sheet=count.sheet, cell=count.a1, found="2025-03-01")
    add("count_date_text.xlsx", edited(good, lambda book: book[count.sheet].__setitem__(count.a1, "2025-03-01")),
        "value.text", sheet=count.sheet, cell=count.a1)
    add("names_removed.xlsx", replace_member(good, "xl/workbook.xml", re.sub(
        r"<definedNames>.*</definedNames>", "", workbook_xml).encode("utf-8")), None)
    target = rf"(<definedName name=\"{name_cell.defined_name}\">)[^<]*"
    moved = re.sub(target, lambda m: f"{m.group(1)}'{name_cell.sheet}'!$Z$99", workbook_xml)
    add("name_elsewhere.xlsx", replace_member(good, "xl/workbook.xml", moved.encode("utf-8")), "tamper.input",
        sheet=name_cell.sheet, cell=name_cell.a1)
    broken = re.sub(target, r"\1#REF!", workbook_xml)
    add("name_ref_error.xlsx", replace_member(good, "xl/workbook.xml", broken.encode("utf-8")), "tamper.input",
        "已被删除", sheet=name_cell.sheet, cell=name_cell.a1)
    for name, (data, _case) in files.items():
        (folder / name).write_bytes(data)
    return [case for _data, case in files.values()]


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus")
    for case in build(target):
        print(f"{case.name}\t{case.rule or '接收'}\t{case.phrase}")
