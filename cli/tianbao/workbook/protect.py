"""Workbook structure protection, which XlsxWriter cannot write itself.

`protect_structure` adds <workbookProtection lockStructure="1"> to xl/workbook.xml with the
legacy 16-bit password hash that Excel, WPS and LibreOffice all accept.
"""

from __future__ import annotations

import io
import re
import zipfile


def legacy_password_hash(password: str) -> str:
    """The 16-bit hash Excel, WPS and LibreOffice all accept (ECMA-376 Part 4, 14.7.1)."""
    digest = 0
    for char in password[::-1]:
        digest = ((digest >> 14) & 0x01) | ((digest << 1) & 0x7FFF)
        digest ^= ord(char)
    digest = ((digest >> 14) & 0x01) | ((digest << 1) & 0x7FFF)
    digest ^= len(password) ^ 0xCE4B
    return f"{digest:X}"


def protect_structure(xlsx: bytes, password: str) -> bytes:
    """Insert <workbookProtection lockStructure="1"> where the schema wants it: after
    <workbookPr> (and <fileVersion>, <fileSharing>), before <bookViews>."""
    element = f'<workbookProtection workbookPassword="{legacy_password_hash(password)}" lockStructure="1"/>'
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/workbook.xml":
                text = data.decode("utf-8")
                text, count = re.subn(r"<bookViews>", element + "<bookViews>", text, count=1)
                if count != 1:
                    raise RuntimeError("xl/workbook.xml has no <bookViews>; cannot protect structure")
                data = text.encode("utf-8")
            target.writestr(info, data)
    return out.getvalue()
