"""The template script writer: deterministic, sized to the duration, shaped like the spec asks."""

from __future__ import annotations

import pytest

from engines.script.visual_terms import search_text, visual_terms
from engines.script.writer import Script, ScriptError, write_script


@pytest.mark.parametrize("duration", [30, 45, 60, 90, 120, 180])
def test_script_shape_and_length(duration: int) -> None:
    script = write_script("octopus hearts", duration)
    assert 4 <= len(script.segments) <= 6
    assert script.hook and script.call_to_action and script.title and script.description
    assert all(segment.strip() for segment in script.segments)
    assert script.narration() == [script.hook, *script.segments, script.call_to_action]
    assert "octopus hearts" in script.tags and len(script.tags) <= 15
    assert len(script.title) <= 100
    if duration >= 60:  # ~2.5 words per second; short videos are floored by 4 segments of whole sentences
        assert abs(script.word_count() - duration * 2.5) <= duration * 2.5 * 0.15


def test_sixty_seconds_is_about_150_words() -> None:
    assert 130 <= write_script("the history of coffee", 60).word_count() <= 170


def test_same_topic_same_script_and_other_topic_differs() -> None:
    assert write_script("black holes", 60) == write_script("black holes", 60)
    assert write_script("black holes", 60).narration() != write_script("why cats purr", 60).narration()


def test_topic_whitespace_is_normalised_and_tiny_topics_rejected() -> None:
    assert write_script("  octopus   hearts. ", 60) == write_script("octopus hearts", 60)
    with pytest.raises(ScriptError, match="at least 3 characters"):
        write_script(" a ", 60)


def test_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from engines.script.writer import Script

    script = write_script("octopus hearts", 60)
    script.save(tmp_path / "script.json")
    assert Script.from_json(json.loads((tmp_path / "script.json").read_text())) == script


def test_visual_terms_are_the_longest_words_that_are_not_stopwords_in_spoken_order() -> None:
    text = "When the octopus's arms reach into a jar, something clever happens to the lid."
    assert visual_terms(text) == ["octopus", "clever", "happens"]
    assert visual_terms(text, limit=1) == ["octopus"]
    assert visual_terms("It is what it is, and that is all.") == []
    # Another language's function words; an elided article stays off the noun.
    assert visual_terms("Los científicos estudiaron l'histoire del café", "es-MX") == [
        "científicos",
        "estudiaron",
        "histoire",
    ]
    assert search_text(["coral", "reef  fish"]) == "coral reef fish"


@pytest.mark.parametrize("language", ["en", "es", "pt", "fr", "de"])
def test_every_narration_entry_carries_its_own_search_terms(language: str) -> None:
    script = write_script("octopus intelligence", 60, language)
    assert len(script.visual_terms) == len(script.narration())
    for text, terms in zip(script.narration(), script.visual_terms, strict=True):
        assert 1 <= len(terms) <= 3
        # The topic, then words of that entry: nothing invented.
        assert terms[:2] == ["octopus", "intelligence"] and all(term in text.lower() for term in terms[2:])
    segment_terms = script.visual_terms[1:-1]
    # Beyond the topic, each segment adds a word of its own: the segments do not all search the same thing.
    assert len({tuple(terms) for terms in segment_terms}) > 1


def test_scripts_saved_without_terms_still_load_and_derive_them() -> None:
    script = write_script("octopus intelligence", 60)
    old = {k: v for k, v in script.to_json().items() if k != "visual_terms"}
    loaded = Script.from_json(old)
    assert loaded.visual_terms == []
    assert loaded.terms_for(1) == visual_terms(script.segments[0])
    assert script.terms_for(1) == script.visual_terms[1]


def test_english_sentences_never_make_a_verb_agree_with_the_topic() -> None:
    """'octopus hearts is stranger…': a topic may be singular or plural, so no verb follows it directly."""
    from engines.script.templates import ENGLISH

    agreeing = {"is", "was", "has", "does", "works", "keeps", "seems", "looks"}  # what a plural topic refuses
    for sentence in (*ENGLISH.hooks, *ENGLISH.sentences, *ENGLISH.ctas):
        after = sentence.split("{topic}", 1)[1].split()
        assert not after or after[0].strip(",.") not in agreeing, sentence
