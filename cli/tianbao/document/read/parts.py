"""Find the title and the six parts of a published report, and the sub-parts of a part.

Headings are matched to the form's section titles and field labels after normalisation,
with their numbering taken apart first, because reports number them in every style:
"一、" / "（一）" / "(一)" / "一" / "1." / "一是", with or without the brackets.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from tianbao.document.read.extract import Block, Grid, Paragraph
from tianbao.document.read.text import chinese_year, clean_line, normalize, ratio, similarity, split_numbering
from tianbao.form import Form
from tianbao.form.spec import FieldDef, FieldsSection, TableSection

PART_SCORE = 0.6  # numbered like the part: the title may be reworded
PART_SCORE_UNNUMBERED = 0.85
SUBPART_SCORE = 0.75
TITLE_SCORE = 0.85
_TITLE_LENGTH = 100  # longer lines are sentences that mention the title
_HEADING_SLACK = 12  # a heading line is at most this many characters longer than the title
_COLON = re.compile(r"[：:]")
_CLAUSE = re.compile(r"[：:，,。；;]")
_LEADING_PUNCT = "：:，,。.、；; "


@dataclass
class Title:
    unit_name: str
    year: int


_YEAR = r"(?P<year>(?:19|20)\d\d)"
# A unit name is a name: toolbar and navigation fragments of a web page ("】打印", "[关闭]",
# "字号：大 中 小") are not, nor a bare number or punctuation.
_NOT_A_NAME = re.compile(r"[【】\[\]|｜<>《》“”\"]|打印|关闭|字号|分享|收藏|浏览次数|来源|发布时间|^\W*$|^[\d\W]+$")
# Words that end the lead-in of a sentence naming the report ("现将…局2024年…报告予以公布",
# "特编制…办公室2023年…报告"): the unit name starts after the last of them.
_LEAD_IN = re.compile(
    r"^.*(?:现将|现予|现公布|公布|编制|发布|报送|形成|撰写|制作|根据|按照|依据|特向社会|本报告为|以下简称[^)）]*[)）])"
)
# The statistics period of the introduction ("统计期限自2024年1月1日起"): the report year.
_PERIOD = re.compile(r"统计(?:期限|时限|期间|区间|时间)[^。；]{0,12}?" + _YEAR + r"\s*年\s*0?1\s*月\s*0?1\s*日")


def title_regexes(form: Form) -> list[re.Pattern[str]]:
    """The form's `document_title` ({unit_name}, {year} and literal text) as regexes over
    compacted text: as written ("年" may read "年度"), and with the year put first."""
    template = form.spec.document_title
    regexes = [_template_regex(template)]
    year_first = re.fullmatch(r"\{unit_name\}\{year\}(\w)(.+)", template)
    if year_first:
        word, rest = year_first.groups()
        regexes.append(re.compile(rf"{_YEAR}{re.escape(word)}度?(?P<unit_name>.+?){re.escape(_compact(rest))}"))
    return regexes


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _template_regex(template: str) -> re.Pattern[str]:
    pattern = ""
    after_year = False
    for piece in re.split(r"(\{\w+\})", template):
        if piece == "{unit_name}":
            pattern += r"(?P<unit_name>.+?)"
        elif piece == "{year}":
            pattern += _YEAR
        elif piece.startswith("{"):
            pattern += r".*?"
        else:
            literal = _compact(piece)
            if after_year and literal[:1] == "年":  # "2024年度" for "2024年"
                pattern += re.escape(literal[0]) + "度?" + re.escape(literal[1:])
            else:
                pattern += re.escape(literal)
        after_year = piece == "{year}"
    return re.compile(pattern)


def find_title(form: Form, lines: list[str]) -> Title | None:
    """The last line (or two consecutive lines) that reads as the form's document title.

    Callers pass the lines before the first part: on a web page the title comes right
    before the body, after navigation that may link to other years' reports."""
    regexes = title_regexes(form)
    texts = [line for line in lines if line.strip() and len(line.strip()) <= _TITLE_LENGTH]
    candidates = [pair for a, b in itertools.pairwise(texts) for pair in (a, a + b)] + texts[-1:]
    compacts = [_compact(chinese_year(clean_line(text))) for text in candidates]
    for compact in reversed(compacts):
        for regex in regexes:
            match = regex.search(compact)
            if match and _unit(match.group("unit_name")):
                return Title(_unit(match.group("unit_name")), int(match.group("year")))
    for compact in reversed(compacts):
        found = _near_title(form, compact)
        if found:
            return Title(found[0], found[1])
    return None


def title_in_sentences(form: Form, lines: list[str]) -> Title | None:
    """The title stated only inside a sentence of the introduction ("现将某某局2024年…年度报告予以公布")."""
    for line in lines:
        compact = _compact(chinese_year(clean_line(line)))
        for regex in title_regexes(form):
            for match in regex.finditer(compact):
                unit = _unit(match.group("unit_name"))
                if unit:
                    return Title(unit, int(match.group("year")))
    return None


def period_year(lines: list[str]) -> int | None:
    """The report year from the statistics period the introduction states."""
    for line in lines:
        match = _PERIOD.search(chinese_year(clean_line(line)))
        if match:
            return int(match.group("year"))
    return None


def _unit(text: str) -> str:
    """The unit name before the year, without a label such as "附件：" in front of it; "" for
    text that is no name."""
    name = _LEAD_IN.sub("", _CLAUSE.split(text)[-1]).strip(_LEADING_PUNCT)
    return "" if _NOT_A_NAME.search(name) or len(name) < 2 else name


def _near_title(form: Form, compact: str) -> tuple[str, int] | None:
    """A title worded slightly differently after the year ("2024年度…" for "2024年…")."""
    template = re.fullmatch(r"\{unit_name\}\{year\}(.+)", form.spec.document_title)
    if not template or len(compact) > 2 * len(form.spec.document_title) + 40:
        return None
    suffix = normalize(template.group(1))
    for year in re.finditer(r"(?:19|20)\d\d", compact):
        unit = _unit(compact[: year.start()])
        if unit and ratio(normalize(compact[year.end():]), suffix) >= TITLE_SCORE:
            return unit, int(year.group(0))
    return None


# ---------------------------------------------------------------------------------------
# Parts


@dataclass
class Parts:
    preamble: list[Block] = field(default_factory=list)
    blocks: dict[str, list[Block]] = field(default_factory=dict)  # section id -> its blocks
    missing: list[str] = field(default_factory=list)  # section ids whose heading was not found
    merged_into: dict[str, str] = field(default_factory=dict)  # missing id -> id of the part before it


def document_sections(form: Form) -> list[FieldsSection | TableSection]:
    return [s for s in form.sections if s.in_document]


def split_parts(form: Form, blocks: list[Block]) -> Parts:
    sections = document_sections(form)
    blocks = list(blocks)
    starts: dict[str, int] = {}
    cursor = 0
    for section in sections:
        found = _find_heading(section.title, blocks, cursor)
        if found is None:
            continue
        index, rest = found
        starts[section.id] = index
        if rest:
            blocks.insert(index + 1, Paragraph(rest))  # the text after "标题：" on the same line
        cursor = index + 1
    parts = Parts()
    order = sorted(starts.items(), key=lambda item: item[1])
    parts.preamble = blocks[: order[0][1]] if order else list(blocks)
    for i, (section_id, start) in enumerate(order):
        end = order[i + 1][1] if i + 1 < len(order) else len(blocks)
        parts.blocks[section_id] = blocks[start + 1 : end]
    previous = None
    for section in sections:
        if section.id in starts:
            previous = section.id
            continue
        parts.missing.append(section.id)
        if previous is not None:
            parts.merged_into[section.id] = previous
    return parts


def _find_heading(title: str, blocks: list[Block], start: int) -> tuple[int, str] | None:
    number, body = split_numbering(title)
    wanted = normalize(body)
    for index in range(start, len(blocks)):
        block = blocks[index]
        if not isinstance(block, Paragraph):
            continue
        line = clean_line(block.text)
        rest = ""
        colon = _COLON.search(line)
        if colon and len(normalize(line[: colon.start()])) <= len(wanted) + _HEADING_SLACK:
            line, rest = line[: colon.start()], line[colon.end():].strip()
        if not line or len(normalize(line)) > len(normalize(title)) + _HEADING_SLACK:
            continue
        if line.lstrip()[:1] in "(（" and title.lstrip()[:1] not in "(（":
            continue  # "（一）主动公开政府信息情况" is a sub-heading of a part, not part 二
        got_number, got_body = split_numbering(line)
        score = ratio(normalize(got_body), wanted)
        if (got_number == number and number is not None and score >= PART_SCORE) or score >= PART_SCORE_UNNUMBERED:
            return index, rest
    return None


# ---------------------------------------------------------------------------------------
# Narrative text of a part


def part_lines(blocks: list[Block]) -> list[str]:
    """The non-empty lines of a part; a table inside a narrative part is read row by row."""
    lines = []
    for block in blocks:
        if isinstance(block, Grid):
            lines += [" ".join(c for c in row if c) for row in block.rows]
        else:
            lines.append(clean_line(block.text))
    return [line for line in lines if line]


def split_subparts(fields: list[FieldDef], lines: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Lines -> field id -> lines under that sub-heading; plus lines before the first one."""
    bodies = [normalize(split_numbering(f.label)[1]) for f in fields]
    found: dict[str, list[str]] = {}
    before: list[str] = []
    current: list[str] = before
    next_field = 0
    for line in lines:
        heading = _subheading(line, bodies, next_field)
        if heading is None:
            current.append(line)
            continue
        index, content = heading
        current = found.setdefault(fields[index].id, [])
        next_field = index + 1
        if content:
            current.append(content)
    return found, before


def _subheading(line: str, bodies: list[str], start: int) -> tuple[int, str] | None:
    """(field index, inline content) when the line opens one of the remaining sub-parts."""
    number, rest = split_numbering(line)
    text = normalize(rest)
    if number is None:
        # Unnumbered, a line is a sub-heading only when it is nothing but the label.
        found = [i for i in range(start, len(bodies)) if bodies[i] and ratio(text, bodies[i]) >= PART_SCORE_UNNUMBERED]
        return (found[0], "") if found else None
    for index in range(start, len(bodies)):
        body = bodies[index]
        if not body or similarity(body, text[: len(body) + 2]) < SUBPART_SCORE:
            continue
        remainder = text[len(body):]
        # "（一）<sub-part label>情况。" or a short unpunctuated line ("（一）主动公开政府信息情况") is a
        # heading; a longer line is a heading plus its first sentence.
        heading_only = len(remainder) <= 4 or (len(remainder) <= 8 and not re.search(r"[。；;，,]", line))
        return index, ("" if heading_only else line)
    return None


_DAY = r"[\d一二三四五六七八九十]{1,3}"
_DATE_LINE = re.compile(rf"^(?:\d{{4}}|[〇零○一二三四五六七八九]{{4}})\s*年\s*{_DAY}\s*月\s*{_DAY}\s*日$")


def strip_signature(lines: list[str], unit_name: str) -> list[str]:
    """Drop the closing signature (unit name, date) after the last part, and whatever a web
    page prints below it (footer, copyright): a line that is only a date ends the report."""
    lines = list(lines)
    dates = [i for i, line in enumerate(lines) if _DATE_LINE.match(line.strip())]
    if dates:
        del lines[dates[-1]:]
    name = normalize(unit_name)
    while lines and (normalize(lines[-1]) == name or _DATE_LINE.match(lines[-1].strip())):
        lines.pop()
    return lines
