"""Text normalisation and fuzzy label matching shared by the document reader.

Published reports spell the official labels loosely: half-width brackets, extra spaces,
"、" for "，", lost quotes, typos. Labels are compared only after `normalize`, and with a
similarity score that tolerates a few wrong or missing characters.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

# Punctuation that separates numbering or clauses; all of it compares as one character.
_SEPARATORS = "、,，.．:：;；"
_OPEN = "(（[【〔［"
_CLOSE = ")）]】〕］"
_DROPPED = "“”\"'‘’「」『』《》〈〉<>。!！?？·•"
_TRANSLATE = str.maketrans(
    {**dict.fromkeys(_SEPARATORS, ","), **dict.fromkeys(_OPEN, "("), **dict.fromkeys(_CLOSE, ")"),
     **dict.fromkeys(_DROPPED, None)}
)
_SPACE = re.compile(r"\s+")

CHINESE_DIGITS = "〇一二三四五六七八九"
_ALT_ZERO = "零○Ｏ"


def normalize(text: str) -> str:
    """Comparable form of a label: NFKC, no spaces, one kind of bracket and separator."""
    text = unicodedata.normalize("NFKC", text)
    text = _SPACE.sub("", text).translate(_TRANSLATE)
    return text.lower()


def clean_line(text: str) -> str:
    """A line as a reader shows it: non-breaking and ideographic spaces folded, ends trimmed."""
    return text.replace("\u3000", " ").replace("\xa0", " ").replace("\u200b", "").strip()


def similarity(label: str, text: str) -> float:
    """How well `label` (normalised) appears in `text` (normalised), 0..1.

    The label is aligned with the stretch of `text` it matches best, so a text that carries
    extra words around the label (a group label in front, a note behind) still scores high.
    """
    if not label or not text:
        return 0.0
    if label in text:
        return 1.0
    matcher = SequenceMatcher(None, label, text, autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size]
    if not blocks:
        return 0.0
    # Ignore stray single characters far from the main match: they would stretch the span.
    main = max(blocks, key=lambda b: b.size)
    kept = [b for b in blocks if b.size > 1 or abs(b.b - main.b) <= len(label)]
    matched = sum(b.size for b in kept)
    span = kept[-1].b + kept[-1].size - kept[0].b
    return 2 * matched / (len(label) + max(span, matched))


def ratio(a: str, b: str) -> float:
    """Plain difflib ratio of two normalised strings."""
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


# ---------------------------------------------------------------------------------------
# Numbering ("一、", "（一）", "(1)", "1.", "一是")

_NUMERAL = r"[一二三四五六七八九十]+|\d{1,2}"
NUMBERING = re.compile(
    rf"^\s*(?:第?(?P<a>{_NUMERAL})(?:是|[、,，.．:：\s]+)|[(（](?P<b>{_NUMERAL})[)）][、,，.．:：\s]*"
    rf"|(?P<c>[一二三四五六七八九十]+)(?=[^\d\s、,，.．:：一二三四五六七八九十]))"
)


def chinese_number(value: int) -> str:
    """1 -> 一, 10 -> 十, 12 -> 十二 (enough for part and sub-part numbers)."""
    if value < 10:
        return CHINESE_DIGITS[value]
    tens, ones = divmod(value, 10)
    return ("" if tens == 1 else CHINESE_DIGITS[tens]) + "十" + (CHINESE_DIGITS[ones] if ones else "")


def numeral_value(numeral: str) -> int | None:
    if numeral.isdigit():
        return int(numeral)
    for value in range(1, 100):
        if chinese_number(value) == numeral:
            return value
    return None


def split_numbering(text: str) -> tuple[int | None, str]:
    """("三、Title") -> (3, "Title"); text without numbering -> (None, text)."""
    match = NUMBERING.match(text)
    if not match:
        return None, text.strip()
    numeral = match.group("a") or match.group("b") or match.group("c")
    return numeral_value(numeral), text[match.end():].strip()


def chinese_year(text: str) -> str:
    """二〇二四 -> 2024 (years in titles are sometimes written in Chinese digits)."""
    table = {ch: str(i) for i, ch in enumerate(CHINESE_DIGITS)}
    table.update(dict.fromkeys(_ALT_ZERO, "0"))
    return re.sub(
        rf"[{CHINESE_DIGITS}{_ALT_ZERO}]{{4}}(?=\s*年)", lambda m: "".join(table[c] for c in m.group(0)), text
    )
