"""Read published annual reports (.txt, .html, .docx, .pdf) back into the report model.

    read_document(path, form, hints) -> (Report | None, findings)   never raises for a bad document
    sniff_document(data) -> "txt" | "html" | "docx" | "pdf" | None   by content, not by file name

Stages: extract (bytes -> paragraphs and grids), parts (title, six parts, sub-parts), tables
(rows found by their official labels), legacy (older formats), narrative (R8), read (all).
"""

from tianbao.document.read.extract import sniff_document
from tianbao.document.read.read import Hints, apply_roster, read_document, read_document_bytes

__all__ = ["Hints", "apply_roster", "read_document", "read_document_bytes", "sniff_document"]
