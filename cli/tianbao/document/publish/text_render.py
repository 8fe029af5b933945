"""Markdown and plain text: a quick look at a report, and stable lines for diffing two years.

Merged cells cannot be drawn in a pipe table, so each table is flattened: the row-label
columns become one column whose text joins the labels covering that row (outer first), and
when the table has a single head the column headers join the header labels above them.
Every value appears once, in the first column of its span.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tianbao.document.publish.document import Document, Heading, Paragraph, TableBlock
from tianbao.document.publish.grid import Grid, GridCell

JOIN = " / "
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def flatten(grid: Grid) -> tuple[list[str] | None, list[list[str]]]:
    """(column headers or None, body rows) of a grid, one text per output column."""
    labels = grid.label_columns
    data_columns = [c for c in range(grid.n_cols) if c not in labels]
    covering = grid.covering

    def line(row: int) -> list[str]:
        texts = [_joined(covering[row][c] for c in labels)] if labels else []
        for col in data_columns:
            cell = covering[row][col]
            texts.append(cell.text if (cell.row, cell.col) == (row, col) else "")
        return texts

    header = None
    if grid.head_rows:
        head = range(grid.head_rows)
        header = [_joined(covering[r][c] for r in head for c in labels)] if labels else []
        header += [_joined(covering[r][c] for r in head) for c in data_columns]
    return header, [line(row) for row in range(grid.head_rows, grid.n_rows)]


def _joined(cells: Iterable[GridCell]) -> str:
    """Distinct non-empty texts of cells, in order."""
    seen: list[GridCell] = []
    for cell in cells:
        if cell.text and cell not in seen:
            seen.append(cell)
    return JOIN.join(cell.text for cell in seen)


def render_markdown(doc: Document) -> str:
    out = [f"# {_md(doc.title)}", ""]
    for block in doc.blocks:
        if isinstance(block, Heading):
            out += [f"{'#' * (block.level + 1)} {_md(block.text)}", ""]
        elif isinstance(block, Paragraph):
            out += [_md(block.text), ""]
        elif isinstance(block, TableBlock):
            out += [f"## {_md(block.grid.title)}", ""]
            header, rows = flatten(block.grid)
            width = len(rows[0]) if rows else len(header or [])
            out.append(_pipe_row(header or [""] * width))
            out.append("|" + " --- |" * width)
            out += [_pipe_row(row) for row in rows]
            out.append("")
    # Two trailing spaces: a hard line break, so name and date stay on their own lines.
    out += [_md(line) + "  " for line in doc.signature]
    if doc.trace:
        out += ["", "---", "", _md(doc.trace)]
    return "\n".join(out).rstrip() + "\n"


def render_text(doc: Document) -> str:
    out = [doc.title, ""]
    for block in doc.blocks:
        if isinstance(block, Heading | Paragraph):
            out += [block.text, ""]
        elif isinstance(block, TableBlock):
            out += [block.grid.title, ""]
            header, rows = flatten(block.grid)
            out += ["\t".join(row) for row in ([header] if header else []) + rows]
            out.append("")
    out += list(doc.signature)
    if doc.trace:
        out += ["", doc.trace]
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    """Department text stays text: escape what Markdown would read as markup or HTML."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _pipe_row(cells: list[str]) -> str:
    return "| " + " | ".join(_md(cell) for cell in cells) + " |"
