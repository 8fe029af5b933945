"""What a submitted file is, by content (never by its name): xlsx, xls, ods, docx, pdf, …"""

from __future__ import annotations

import io
import zipfile
import zlib

from tianbao.workbook.limits import DEFAULT_LIMITS

# What reading a damaged or hostile zip member can raise. NotImplementedError is zipfile's own
# answer to a compression method it cannot read (not a placeholder); RuntimeError its answer
# to an encrypted member.
ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError, NotImplementedError)

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def sniff(data: bytes) -> str:
    """What a file is, by content: xlsx, xlsb, numbers, ods, fods, odt, docx, pptx, zip,
    oversized, encrypted, xls, xls_encrypted, doc, ole2, pdf, empty, truncated, html,
    report_json, csv, text or unknown."""
    if not data.strip():
        return "empty"
    if data.startswith(b"PK"):
        return _sniff_zip(data)
    if data.startswith(OLE2_MAGIC):
        return _sniff_ole2(data)
    if data.startswith(b"%PDF"):
        return "pdf"
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "html"
    if head.startswith((b"<?xml", b"<office:document")) and b"office:document" in head:
        return "fods" if b"opendocument.spreadsheet" in data[:8192] else "unknown"
    if head.startswith(b"{") and b'"schema_version"' in head and b'"form"' in head:
        return "report_json"
    try:
        text = data[:4096].decode("utf-8")
        utf8 = True
    except UnicodeDecodeError:
        # Chinese Windows saves text (and CSV) as GB18030/GBK; the head may end mid-character.
        text = data[:4096].decode("gb18030", errors="replace")
        utf8 = False
        if "\ufffd" in text[:-2]:
            return "unknown"
    if _looks_like_csv(text):
        return "csv"
    return "text" if utf8 else "unknown"


def _looks_like_csv(text: str) -> bool:
    """Several lines with the same number (at least one) of commas or tabs, e.g. a sheet saved as CSV."""
    lines = [line for line in text.splitlines()[:-1] if line.strip()][:10]
    if len(lines) < 2:
        return False
    return any(len({line.count(mark) for line in lines}) == 1 and lines[0].count(mark) >= 1 for mark in ",\t")


def declared_members(data: bytes) -> int | None:
    """The member count a zip's end record declares (None when there is no end record).

    Read before zipfile builds an object per member, so a hostile archive declaring millions
    of members is refused cheaply. ZIP64 archives declare 0xFFFF here and count as too many."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or end + 22 > len(data):
        return None
    return int.from_bytes(data[end + 10 : end + 12], "little")


def _sniff_zip(data: bytes) -> str:
    members = declared_members(data)
    if members is not None and members > DEFAULT_LIMITS.max_members:
        return "oversized"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                info = archive.getinfo("mimetype")
                if info.file_size < 200:
                    mimetype = archive.read("mimetype")
                    if b"spreadsheet" in mimetype:
                        return "ods"
                    if b"text" in mimetype:
                        return "odt"
    except ZIP_READ_ERRORS:
        return "truncated"
    if "xl/workbook.xml" in names or any(n.startswith("xl/") and n.endswith("workbook.xml") for n in names):
        return "xlsx"
    if "xl/workbook.bin" in names:
        return "xlsb"
    if any(n.endswith(".iwa") for n in names):  # Apple Numbers keeps its tables in .iwa parts
        return "numbers"
    if "word/document.xml" in names:
        return "docx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    return "zip"


def _sniff_ole2(data: bytes) -> str:
    # Directory entries store stream names in UTF-16LE; looking for the few names that tell
    # the formats apart is enough to choose the right message without a full CFB parser.
    def has(name: str) -> bool:
        return name.encode("utf-16-le") in data

    if has("EncryptionInfo") and has("EncryptedPackage"):
        return "encrypted"
    if has("WordDocument"):
        return "doc"
    if has("Workbook") or has("Book"):
        return "xls_encrypted" if _biff_has_password(data) else "xls"
    return "ole2"


# The BOF record opening a BIFF8 (Excel 97-2003) or BIFF5 workbook globals substream.
_BIFF_BOF = ((b"\x09\x08\x10\x00\x00\x06\x05\x00", 20), (b"\x09\x08\x08\x00\x00\x05\x05\x00", 12))
_FILEPASS = b"\x2f\x00"


def _biff_has_password(data: bytes) -> bool:
    """A FILEPASS record right after the globals' BOF: the workbook needs a password to open."""
    for bof, length in _BIFF_BOF:
        start = data.find(bof)
        if start >= 0:
            return data[start + length : start + length + 2] == _FILEPASS
    return False
