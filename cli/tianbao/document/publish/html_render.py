"""HTML: one self-contained page that also survives being pasted into a website CMS.

CMS editors of government sites commonly drop <style> blocks, classes and scripts, so every
visual rule that matters is an inline style (plus border/cellspacing attributes for editors
that strip styles too); the <style> block only adds print rules for A4. All report text is
escaped: department text can never become markup.
"""

from __future__ import annotations

from html import escape

from tianbao import __version__
from tianbao.document.publish.document import Document, Heading, Paragraph, TableBlock
from tianbao.document.publish.grid import Grid, GridCell

TITLE_FONT = "'方正小标宋简体','FZXiaoBiaoSong-B05S','华文中宋','STZhongsong','宋体','SimSun','Noto Serif CJK SC',serif"
HEADING_FONT = "'黑体','SimHei','Heiti SC','Noto Sans CJK SC',sans-serif"
BODY_FONT = "'仿宋_GB2312','仿宋','FangSong','STFangsong','Noto Serif CJK SC',serif"
BORDER = "border:1px solid #000"

# 公文 page: A4 with margins top 37mm, bottom 35mm, left 28mm, right 26mm; body text at 三号 (16pt).
PRINT_CSS = """
@page { size: A4; margin: 37mm 26mm 35mm 28mm; }
@page tb-landscape { size: A4 landscape; margin: 37mm 26mm 35mm 28mm; }
@media print {
  body { background: #fff; }
  .tb-report { max-width: none !important; padding: 0 !important; font-size: 16pt !important; }
  .tb-report h1 { font-size: 22pt !important; }
  .tb-report h2, .tb-report h3, .tb-report caption { font-size: 16pt !important; page-break-after: avoid; }
  .tb-report table { font-size: 10.5pt !important; page-break-inside: auto; }
  .tb-report tr { page-break-inside: avoid; }
  .tb-report thead { display: table-header-group; }
  .tb-landscape { page: tb-landscape; }
}
"""


def render_html(doc: Document) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="tianbao {escape(__version__)}">',
        f"<title>{escape(doc.title)}</title>",
        f"<style>{PRINT_CSS}</style>",
        "</head>",
        '<body style="margin:0;background:#fff;color:#000">',
        '<div class="tb-report" style="max-width:900px;margin:0 auto;padding:24px 32px;'
        f'font-family:{BODY_FONT};font-size:16px;line-height:1.8;color:#000">',
        f'<h1 style="margin:0.5em 0 1em;text-align:center;font-family:{TITLE_FONT};font-size:26px;'
        f'font-weight:normal;line-height:1.5">{escape(doc.title)}</h1>',
    ]
    for block in doc.blocks:
        if isinstance(block, Heading):
            parts.append(_heading(block))
        elif isinstance(block, Paragraph):
            parts.append(f'<p style="margin:0 0 0.5em;text-indent:2em">{escape(block.text)}</p>')
        elif isinstance(block, TableBlock):
            parts.append(_table(block.grid))
    parts.append('<p style="margin:3em 2em 0 0;text-align:right">'
                 + "<br>".join(escape(line) for line in doc.signature) + "</p>")
    if doc.trace:
        parts.append('<p style="margin:3em 0 0;font-size:12px;line-height:1.5;color:#555;word-break:break-all">'
                     f"{escape(doc.trace)}</p>")
    parts += ["</div>", "</body>", "</html>", ""]
    return "\n".join(parts)


def _heading(block: Heading) -> str:
    if block.level == 1:
        return (f'<h2 style="margin:1em 0 0.5em;font-family:{HEADING_FONT};font-size:18px;font-weight:normal">'
                f"{escape(block.text)}</h2>")
    return (f'<h3 style="margin:0.5em 0 0.25em;text-indent:2em;font-family:{HEADING_FONT};font-size:16px;'
            f'font-weight:normal">{escape(block.text)}</h3>')


def _table(grid: Grid) -> str:
    total = sum(grid.widths)
    css_class = ' class="tb-landscape"' if grid.landscape else ""
    lines = [
        f'<table{css_class} border="1" cellspacing="0" cellpadding="4" '
        f'style="width:100%;border-collapse:collapse;{BORDER};margin:0 0 1.5em;font-size:14px;line-height:1.4">',
        f'<caption style="caption-side:top;margin:1em 0 0.5em;text-align:left;font-family:{HEADING_FONT};'
        f'font-size:18px">{escape(grid.title)}</caption>',
        "<colgroup>"
        + "".join(f'<col style="width:{width * 100 / total:.1f}%">' for width in grid.widths)
        + "</colgroup>",
    ]
    rows = grid.rows()
    if grid.head_rows:
        lines.append("<thead>")
        lines += [_row(cells) for cells in rows[: grid.head_rows]]
        lines.append("</thead>")
    lines.append("<tbody>")
    lines += [_row(cells) for cells in rows[grid.head_rows :]]
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines)


def _row(cells: list[GridCell]) -> str:
    return "<tr>" + "".join(_cell(cell) for cell in cells) + "</tr>"


def _cell(cell: GridCell) -> str:
    attrs = ""
    if cell.rowspan > 1:
        attrs += f' rowspan="{cell.rowspan}"'
    if cell.colspan > 1:
        attrs += f' colspan="{cell.colspan}"'
    # Labels beside the values read left-aligned like the official form; headers and numbers centred.
    align = "left" if cell.scope == "row" else "center"
    style = f'{BORDER};padding:4px 6px;text-align:{align};vertical-align:middle'
    if cell.header:
        scope = f' scope="{cell.scope}"' if cell.scope else ""
        return f'<th{scope}{attrs} style="{style};font-weight:normal">{escape(cell.text)}</th>'
    return f'<td{attrs} style="{style}">{escape(cell.text)}</td>'
