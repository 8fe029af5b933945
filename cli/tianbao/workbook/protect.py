"""Workbook structure protection, which XlsxWriter's public API cannot write.

`ProtectedWorkbook` writes <workbookProtection lockStructure="1"> into xl/workbook.xml where
the schema wants it (after <workbookPr>, before <bookViews>), with the legacy 16-bit password
hash that Excel, WPS and LibreOffice all accept. It hooks XlsxWriter's `_write_book_views`
(pinned by tests/test_writer.py's schema-order test) rather than unzipping and re-zipping the
finished package, which cost a tenth of every generated workbook.
"""

from __future__ import annotations

from xlsxwriter.workbook import Workbook


def legacy_password_hash(password: str) -> str:
    """The 16-bit hash Excel, WPS and LibreOffice all accept (ECMA-376 Part 4, 14.7.1)."""
    digest = 0
    for char in password[::-1]:
        digest = ((digest >> 14) & 0x01) | ((digest << 1) & 0x7FFF)
        digest ^= ord(char)
    digest = ((digest >> 14) & 0x01) | ((digest << 1) & 0x7FFF)
    digest ^= len(password) ^ 0xCE4B
    return f"{digest:X}"


class ProtectedWorkbook(Workbook):
    """An XlsxWriter workbook whose structure (sheets: add, delete, rename, unhide) is locked."""

    def __init__(self, target: object, options: dict[str, object], password: str) -> None:
        super().__init__(target, options)
        self.structure_password_hash = legacy_password_hash(password)

    def _write_book_views(self) -> None:
        # <workbookProtection> comes right before <bookViews> in CT_Workbook's sequence.
        self._xml_empty_tag("workbookProtection", [("workbookPassword", self.structure_password_hash),
                                                   ("lockStructure", "1")])
        super()._write_book_views()
