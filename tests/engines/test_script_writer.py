"""The template script writer: deterministic, sized to the duration, shaped like the spec asks."""

from __future__ import annotations

import pytest

from engines.script.writer import ScriptError, write_script


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
