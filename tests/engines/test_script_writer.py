"""The template script writer: deterministic, sized to the duration, shaped like the spec asks."""

from __future__ import annotations

import re

import pytest

from core import cost_policy
from engines.script.templates import BY_LANGUAGE, Templates
from engines.script.visual_terms import search_text, visual_terms
from engines.script.writer import Script, ScriptError, write_script
from engines.speech.piper import PIPER_WORDS_PER_SECOND
from engines.speech.silence_timing import sentences_of

LANGUAGES = list(BY_LANGUAGE)
TOPICS = ["octopus hearts", "black holes", "the history of coffee", "Oktopusherzen", "why cats purr"]


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
    """'octopus hearts is stranger…': a topic may be singular or plural, so no verb follows it directly and no
    pronoun stands for it."""
    from engines.script.templates import ENGLISH

    agreeing = {"is", "was", "has", "does", "works", "keeps", "seems", "looks", "becomes", "matters"}
    pronouns = {"it", "its", "itself", "they", "them", "their", "themselves"}
    for sentence in ENGLISH.sentences():
        for after in sentence.split("{topic}")[1:]:
            assert not after.split() or after.split()[0].strip(",.?:") not in agreeing, sentence
        assert not pronouns & {w.strip(",.?:").lower() for w in sentence.split()}, sentence


# What sits right before {topic} must not decline or contract with it: an article, or a preposition that fuses with
# the article a topic may bring ("de" + "el café" is "del café", "à" + "le" is "au", "em" + "o" is "no").
_BEFORE_TOPIC_REFUSED = {
    "en": {"a", "an", "the"},
    "es": {"el", "la", "los", "las", "un", "una", "de", "a", "del", "al"},
    "pt": {"o", "a", "os", "as", "um", "uma", "de", "em", "por", "do", "da", "no", "na", "ao", "pelo", "pela"},
    "fr": {"le", "la", "les", "un", "une", "de", "à", "du", "au", "aux", "des"},
    "de": {"der", "die", "das", "dem", "den", "des", "ein", "eine", "zum", "zur", "im", "am", "vom", "beim"},
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_nothing_next_to_the_topic_agrees_with_it(language: str) -> None:
    templates = BY_LANGUAGE[language]
    for sentence in templates.sentences():
        for before in sentence.split("{topic}")[:-1]:
            word = before.split()[-1].lower() if before.split() else ""
            assert word not in _BEFORE_TOPIC_REFUSED[language] and not word.endswith("'"), sentence
            if language == "de":  # German names the topic after "Thema", so case and gender follow that noun
                assert word == "thema", sentence


# Sentences that claim what the template writer cannot know: findings, studies, experts, numbers, history, what most
# people think. The old templates said all of these ("When scientists first studied {topic}, they expected…").
FACT_CLAIMS = {
    "en": r"\bscientists?\b|\bexperts\b|\bresearch|\bstudied\b|\bstudies\b|\ba study\b|\bhistory\b|\bnumbers?\b"
    r"|\bmost (people|of us)\b|\bdiscover|\bfound that\b|\bturns out\b|\bproven\b|\bin fact\b|bigger than"
    r"|every day say|\b(experts|scientists|people) (say|agree|believe)\b|\bnever really stop",
    "es": r"científic|\bexpert[oa]s\b|investigaci|estudiaron|\bestudios?\b|\bhistoria\b|\bnúmeros?\b|la mayoría"
    r"|descubr|\bde hecho\b|más grandes? de lo",
    "pt": r"cientistas?|especialistas|pesquisas?\b|estudaram|\bestudos?\b|\bhistória\b|\bnúmeros?\b|a maioria"
    r"|descobr|\bna verdade\b|maiores do que",
    "fr": r"scientifiques?|\bexperts\b|\brecherches?\b|ont étudié|\bétudes?\b|\bhistoire\b|\bchiffres?\b"
    r"|la plupart|découv|\ben fait\b|plus grands? que",
    "de": r"forscher|experten|forschung|untersucht|geschichte|\bzahlen\b|die meisten|entdeck|\btatsächlich\b"
    r"|größer, als",
}


def test_the_fact_patterns_catch_the_sentences_they_were_written_for() -> None:
    old = {
        "en": "When scientists first studied octopus hearts, they expected something simple and found the opposite.",
        "es": "Los números detrás de Oktopusherzen son mucho más grandes de lo que casi nadie imagina.",
        "pt": "A história está cheia de gente que subestimou Oktopusherzen e pagou caro por isso.",
        "fr": "Les experts débattent encore sur Oktopusherzen, et ce débat fait la moitié du plaisir.",
        "de": "Die Zahlen hinter dem Thema Oktopusherzen sind größer, als fast jeder vermuten würde.",
    }
    for language, sentence in old.items():
        assert re.search(FACT_CLAIMS[language], sentence, re.IGNORECASE), sentence


def narration_sentences(script: Script) -> list[str]:
    return [sentence for part in script.narration() for sentence in sentences_of(" ".join(part.split()))]


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_sentence_claims_a_fact(language: str) -> None:
    sentences = BY_LANGUAGE[language].sentences()
    for topic in TOPICS:  # the topic is the user's words ("the history of coffee"), not a claim
        for duration in (30, 60, 180):
            script = write_script(topic, duration, language)
            sentences += [s.replace(topic, "{topic}") for s in narration_sentences(script)]
    claims = [s for s in sentences if re.search(FACT_CLAIMS[language], s, re.IGNORECASE)]
    assert claims == []


def openers_of(templates: Templates) -> list[str]:
    """Each opener's text before the question, in the order the angles are asked."""
    return [opener.split("{}")[0] for opener in (templates.first, *templates.openers, templates.last)]


def opener_at_start(text: str, templates: Templates) -> str | None:
    return next((o for o in sorted(openers_of(templates), key=len, reverse=True) if text.startswith(o)), None)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("duration", [15, 30, 60, 120, 180])
def test_segments_are_whole_sentences_in_a_fixed_order_that_follow_from_each_other(
    language: str, duration: int
) -> None:
    templates = BY_LANGUAGE[language]
    for topic in TOPICS:
        script = write_script(topic, duration, language)
        for part in script.narration():
            assert part.endswith((".", "?", "!")), part
            # No lone punctuation mark (French spacing would leave one as a caption word).
            assert all(re.search(r"\w", token) for token in part.split()), part
        for index, segment in enumerate(script.segments):
            # An angle's connective opens a segment, or (the first) the framing, which names the topic; the
            # sentences after it follow from it.
            first = sentences_of(segment)[0]
            assert opener_at_start(first, templates) or (index == 0 and topic in first), segment
        # Angles, and nothing else, open with a connective: "First", the ones between in their order, "Finally".
        used = [o for s in narration_sentences(script) if (o := opener_at_start(s, templates))]
        openers = openers_of(templates)
        assert len(used) >= 2 and used == [openers[0], *openers[1:-1][: len(used) - 2], openers[-1]], used


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_script_of_every_angle_opens_each_with_its_own_connective(language: str) -> None:
    templates = BY_LANGUAGE[language]
    assert len(templates.openers) >= len(templates.angles) - 2
    script = write_script("octopus hearts", 3600, language)
    used = [o for s in narration_sentences(script) if (o := opener_at_start(s, templates))]
    assert len(used) == len(templates.angles) == len(set(used))


@pytest.mark.parametrize("pace", [cost_policy.WORDS_PER_SECOND, PIPER_WORDS_PER_SECOND])
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_word_budget_is_met_from_30_to_180_seconds(language: str, pace: float) -> None:
    for duration in (30, 45, 60, 90, 120, 150, 180):
        target = round(duration * pace)
        for topic in TOPICS:
            script = write_script(topic, duration, language, pace)
            words = script.word_count()
            assert 4 <= len(script.segments) <= 6
            # Four questions, each naming the topic, are the floor: at 30 s a long topic may run past the target,
            # never past what the cost model allows (and a cloud voice accepts: NarrationTooLong otherwise).
            # Every angle with all its sentences is the ceiling, and it lies past 180 s at Piper's pace (576 words)
            # even with a one-word topic: the budget is met within whole sentences, not cut short by the templates.
            assert words < _longest(topic, language, pace), (topic, duration, words)
            floor = 0.9
            assert floor * target <= words <= cost_policy.max_narration_words(target), (topic, duration, words)
            # Piper's pace is the faster: its scripts are the longer, still within what a cloud voice is sent.
            assert len(" ".join(script.narration())) <= cost_policy.max_narration_chars(duration)
            if duration >= 60:
                assert abs(words - target) <= (1 - floor) * target, (topic, duration, words)


def _longest(topic: str, language: str, pace: float) -> int:
    """The words of the longest script the templates hold for `topic`."""
    return write_script(topic, 3600, language, pace).word_count()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_video_under_30_seconds_gets_two_questions_not_four(language: str) -> None:
    """Below the API's 30 s minimum the floor is a hook, two questions and a call to action, each naming the topic:
    about 1.5 times a 15 s target with a four-word topic (four questions would be twice it)."""
    for topic in TOPICS:
        script = write_script(topic, 15, language)
        assert len(script.segments) == 2
        assert script.word_count() <= 1.6 * cost_policy.target_words(15), (topic, script.word_count())


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("duration", [60, 180])
def test_no_sentence_is_said_twice(language: str, duration: int) -> None:
    for topic in TOPICS:
        sentences = narration_sentences(write_script(topic, duration, language, PIPER_WORDS_PER_SECOND))
        assert len(sentences) == len(set(sentences)), topic
