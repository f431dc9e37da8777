"""Words, joins, directions and lengths per writing system: the rules every caption and timing engine shares."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import writing_systems as ws

CHINESE = "章鱼有三颗心脏，两颗负责把血液送到鳃里。"
JAPANESE = "タコには心臓が三つあり、「えら」に血液を送ります。"


def test_chinese_is_a_word_per_character_with_punctuation_kept_on_the_character_before() -> None:
    words = ws.words(CHINESE)
    assert words[:7] == ["章", "鱼", "有", "三", "颗", "心", "脏，"]
    assert words[-1] == "里。"
    assert ws.join(words) == CHINESE


def test_an_opening_bracket_stays_with_the_character_it_opens() -> None:
    words = ws.words(JAPANESE)
    assert "「え" in words and "ら」" in words
    assert not any(w[0] in "、。」" for w in words)  # no word (so no caption line) starts with closing punctuation
    assert ws.join(words) == JAPANESE


def test_latin_letters_and_digits_inside_chinese_stay_whole() -> None:
    words = ws.words("我们用AI技术做2024年的视频！")
    assert words == ["我", "们", "用", "AI", "技", "术", "做", "2024", "年", "的", "视", "频！"]


@pytest.mark.parametrize(
    "text",
    [
        "Octopus hearts, three of them.",
        "للأخطبوط ثلاثة قلوب، اثنان منها.",
        "לתמנון יש שלושה לבבות.",
        "ऑक्टोपस के तीन दिल होते हैं।",
        "문어는 심장이 세 개 있습니다.",
    ],
)
def test_spaced_scripts_keep_their_whitespace_words(text: str) -> None:
    assert ws.words(text) == text.split()
    assert ws.join(ws.words(text)) == text


@given(st.text(alphabet=st.sampled_from("ab 章鱼，。「」AI1 ،ש"), max_size=40))
def test_words_and_spans_agree_and_join_loses_only_spaces(text: str) -> None:
    words = ws.words(text)
    assert [w for _, w in ws.word_spans(text)] == words
    assert all(text[at : at + len(w)] == w for at, w in ws.word_spans(text))
    assert ws.join(words).replace(" ", "") == "".join(text.split())


def test_length_counts_characters_where_there_are_no_spaces() -> None:
    assert ws.spoken_words("three short words") == 3
    assert ws.spoken_words(CHINESE) == len(ws.words(CHINESE)) / ws.CHARACTERS_PER_WORD
    assert ws.counts_characters("zh") and ws.counts_characters("ja") and ws.counts_characters("zh-TW")
    assert not ws.counts_characters("ko") and not ws.counts_characters("ar") and not ws.counts_characters("en")


def test_direction_follows_the_first_letter() -> None:
    assert ws.direction("לתמנון יש") == "rtl"
    assert ws.direction("«للأخطبوط»") == "rtl"
    assert ws.direction("3 hearts") == "ltr"
    assert ws.has_right_to_left("Octopus אחד") and not ws.has_right_to_left("Octopus")


def test_scripts_by_language_and_by_letters() -> None:
    assert [ws.script_of(lang) for lang in ("zh", "zh-TW", "ja", "ko", "ar", "fa", "he", "hi", "en", "ru")] == [
        "Hans", "Hant", "Jpan", "Kore", "Arab", "Arab", "Hebr", "Deva", "Latn", "Latn",
    ]  # fmt: skip
    assert ws.scripts_in(JAPANESE) == ["Jpan"]
    assert ws.scripts_in(CHINESE) == ["Hans"]
    assert ws.scripts_in("Octopus") == []
