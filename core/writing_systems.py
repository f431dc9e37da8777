"""How text in each writing system splits into words, joins back, runs (left to right or right to left) and counts
toward a narration's length.

Chinese and Japanese are written without spaces between words, so a whitespace token there can be a whole
sentence: `words` makes each of their characters a word of its own (punctuation kept with the character it follows,
or with the one an opening bracket precedes), which is what captions break lines at and what speech times. Every
engine that turns text into timed words uses `words`, and every caption line is put back together with `join`.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.languages import primary

# A character of a script written without spaces counts as this many words toward a narration's length and a
# caption line's words: Mandarin is spoken at about 4-5 characters a second, English at about 2.5 words a second,
# and a caption line of 4 words holds 8 characters (about what fits a portrait frame at the default size).
CHARACTERS_PER_WORD = 2

_NO_SPACE_RANGES = (
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31C0, 0x31FF),  # CJK strokes, Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFFEF),  # halfwidth and fullwidth forms
    (0x20000, 0x3134F),  # CJK extensions B-G
)
_RTL_RANGES = (
    (0x0590, 0x08FF),  # Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan, Mandaic, Arabic extended
    (0xFB1D, 0xFDFF),  # Hebrew and Arabic presentation forms A
    (0xFE70, 0xFEFF),  # Arabic presentation forms B
)
# Kept with the character before them (no line starts with one) / with the character after them (none ends with one).
_CLOSING = frozenset("、。，．・：；？！）」』】〕〉》〙〗〟｝］’”ー…‥,.:;?!)]}%")
_OPENING = frozenset("（「『【〔〈《〘〖〝｛［‘“([{")
# What ends a sentence and what ends a clause, in every script the pipeline writes captions for.
SENTENCE_END = (".", "!", "?", "。", "！", "？", "؟", "۔", "।", "॥", "…")
CLAUSE_END = (*SENTENCE_END, ",", ";", ":", "，", "、", "；", "：", "،", "؛")

# ISO 15924 code of the script each language is written in, where it is not Latin (or Cyrillic or Greek, which
# fonts for Latin cover); Chinese by region: traditional characters in Taiwan, Hong Kong and Macau.
_SCRIPT_OF_LANGUAGE = {
    "zh": "Hans", "ja": "Jpan", "ko": "Kore", "ar": "Arab", "fa": "Arab", "ur": "Arab", "ps": "Arab",
    "he": "Hebr", "yi": "Hebr", "hi": "Deva", "mr": "Deva", "ne": "Deva", "sa": "Deva",
}  # fmt: skip
_TRADITIONAL_REGIONS = frozenset({"TW", "HK", "MO"})


def _in(ranges: Sequence[tuple[int, int]], char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in ranges)


def is_unspaced(char: str) -> bool:
    """Whether `char` belongs to a script written without spaces between words (Chinese, Japanese)."""
    return _in(_NO_SPACE_RANGES, char)


def is_right_to_left(char: str) -> bool:
    return _in(_RTL_RANGES, char)


def has_right_to_left(text: str) -> bool:
    """Whether `text` has a Hebrew or Arabic letter (it then needs bidirectional layout)."""
    return any(is_right_to_left(c) for c in text)


def direction(text: str) -> str:
    """`rtl` when `text`'s first letter is Hebrew or Arabic, else `ltr` (Unicode's rule for a paragraph's
    direction, which libass follows for captions and Pillow must be told for the title)."""
    for char in text:
        if char.isalpha():
            return "rtl" if is_right_to_left(char) else "ltr"
    return "ltr"


def script_of(language: str) -> str:
    """The ISO 15924 script `language` (BCP 47) is written in: `Hans`, `Hant`, `Jpan`, `Kore`, `Arab`, `Hebr`,
    `Deva`, or `Latn` for every language whose letters fonts for Latin cover."""
    script = _SCRIPT_OF_LANGUAGE.get(primary(language), "Latn")
    if script == "Hans" and language.partition("-")[2].upper() in _TRADITIONAL_REGIONS:
        return "Hant"
    return script


def scripts_in(text: str) -> list[str]:
    """The non-Latin scripts `text`'s letters are written in, most used first (Han characters count as Chinese
    unless there is kana, which makes them Japanese)."""
    counts: dict[str, int] = {}
    for char in text:
        script = _script_of_char(char)
        if script is not None:
            counts[script] = counts.get(script, 0) + 1
    if "Kana" in counts:
        counts["Jpan"] = counts.pop("Kana") + counts.pop("Hans", 0)
    return sorted(counts, key=lambda s: -counts[s])


def _script_of_char(char: str) -> str | None:
    code = ord(char)
    if 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9F:
        return "Kana"
    if 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x3134F:
        return "Hans"
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return "Kore"
    if 0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x077F or 0x08A0 <= code <= 0x08FF or 0xFB50 <= code <= 0xFEFF:
        return "Arab"
    if 0x0590 <= code <= 0x05FF or 0xFB1D <= code <= 0xFB4F:
        return "Hebr"
    if 0x0900 <= code <= 0x097F or 0xA8E0 <= code <= 0xA8FF:
        return "Deva"
    return None


def words(text: str) -> list[str]:
    """`text`'s words in reading order: its whitespace tokens, with each character of a script written without
    spaces a word of its own (closing punctuation kept with the character before it, opening brackets with the one
    after). Joining them with `join` gives `text` back, less spaces around characters of such scripts."""
    out: list[str] = []
    for token in text.split():
        if not any(is_unspaced(c) for c in token):
            out.append(token)
            continue
        pieces: list[str] = []
        pending = ""  # opening brackets waiting for the character they open
        for char in token:
            if char in _CLOSING and pieces and not pending:
                pieces[-1] += char
            elif char in _OPENING:
                pending += char
            elif is_unspaced(char) or not pieces or is_unspaced(pieces[-1][-1]) or pending:
                pieces.append(pending + char)
                pending = ""
            else:  # a run of letters or digits inside the token ("AI", "2024") stays one word
                pieces[-1] += char
        if pending:
            if pieces:
                pieces[-1] += pending
            else:
                pieces.append(pending)
        out.extend(pieces)
    return out


def word_spans(text: str) -> list[tuple[int, str]]:
    """(offset in `text`, word) for each of `words(text)`, in order."""
    spans: list[tuple[int, str]] = []
    at = 0
    for word in words(text):
        at = text.index(word, at)
        spans.append((at, word))
        at += len(word)
    return spans


def separator(before: str, after: str) -> str:
    """What goes between two words: a space, or nothing where either side is a character of a script written
    without spaces."""
    if not before or not after or is_unspaced(before[-1]) or is_unspaced(after[0]):
        return ""
    return " "


def join(parts: Sequence[str]) -> str:
    """Words back into text, with `separator` between each two."""
    text = ""
    for part in parts:
        text += separator(text, part) + part
    return text


def word_weight(word: str) -> float:
    """How much `word` counts toward a line's or a narration's words: 1, or 1 / CHARACTERS_PER_WORD for a character
    of a script written without spaces."""
    return 1 / CHARACTERS_PER_WORD if any(is_unspaced(c) for c in word) else 1.0


def spoken_words(text: str) -> float:
    """The narration length of `text` in words, a character of a script written without spaces counting as
    1 / CHARACTERS_PER_WORD."""
    return sum(word_weight(w) for w in words(text))


def counts_characters(language: str) -> bool:
    """Whether `language` is written without spaces, so its length is told in characters."""
    return script_of(language) in ("Hans", "Hant", "Jpan")
