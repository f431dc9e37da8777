"""Word times read from the audio's pauses (engines/speech/silence_timing.py): sentence splitting, the choice of
pauses, the proportional spread, and ffmpeg's decoding and silence log on real audio."""

from __future__ import annotations

from pathlib import Path

import pytest

from engines.speech.espeak import SpeechSynthesisError
from engines.speech.silence_timing import (
    decode_argv,
    decode_with_silences,
    nearest_in_order,
    parse_silences,
    sentences_of,
    spread,
    time_sentences,
)
from tests.fakes.openai_api import LEAD_SECONDS, render_speech, speech_pieces


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi there. How are you? Fine!", ["Hi there.", "How are you?", "Fine!"]),
        ('He said "stop." Then he left.', ['He said "stop."', "Then he left."]),
        ("It costs 3.5 dollars, or so", ["It costs 3.5 dollars, or so"]),
        ("Wait… what? 終わり。", ["Wait…", "what?", "終わり。"]),
    ],
)
def test_sentences_are_split_after_their_end_and_join_back(text: str, expected: list[str]) -> None:
    assert sentences_of(text) == expected
    assert " ".join(sentences_of(text)) == text


def test_the_words_share_the_span_by_characters_spaces_included() -> None:
    assert spread(["a", "bb"], 0.0, 4.0) == [(0.0, 1.0), (2.0, 4.0)]
    assert spread(["word"], 1.0, 2.0) == [(1.0, 2.0)]
    assert spread([], 0.0, 1.0) == []


def test_the_nearest_candidates_are_chosen_in_order() -> None:
    assert nearest_in_order([1.0, 2.0, 3.0, 10.0], [2.2, 9.0]) == [1, 3]
    # Both targets nearest the same candidate: they still get one each, in order.
    assert nearest_in_order([4.0, 5.0, 20.0], [5.0, 5.2]) == [0, 1]
    assert nearest_in_order([1.0], []) == []
    with pytest.raises(ValueError):
        nearest_in_order([1.0], [1.0, 2.0])


SENTENCES = ["One two three.", "Four five, six seven.", "Eight."]


def test_as_many_pauses_as_breaks_split_the_sentences() -> None:
    silences = [(0.0, 0.3), (2.0, 2.5), (4.0, 4.4), (6.0, 6.5)]  # leading, two breaks, trailing
    timed = time_sentences(SENTENCES, silences, 6.5)
    assert timed.method == "silences"
    assert [(words[0][0], words[-1][1]) for words in timed.words] == [(0.3, 2.0), (2.5, 4.0), (4.4, 6.0)]
    assert [len(w) for w in timed.words] == [3, 4, 1]


def test_more_pauses_than_breaks_keep_those_where_the_sentences_end() -> None:
    # A comma pause inside the second sentence (3.0-3.2) and a short hesitation in the first (0.9-1.1).
    silences = [(0.0, 0.3), (0.9, 1.1), (2.0, 2.5), (3.0, 3.2), (4.0, 4.4), (6.0, 6.5)]
    timed = time_sentences(SENTENCES, silences, 6.5)
    assert timed.method == "silences"
    assert [(words[0][0], words[-1][1]) for words in timed.words] == [(0.3, 2.0), (2.5, 4.0), (4.4, 6.0)]


def test_fewer_pauses_than_breaks_spread_every_word_over_the_speech() -> None:
    timed = time_sentences(SENTENCES, [(0.0, 0.3), (2.0, 2.5), (6.0, 6.5)], 6.5)
    assert timed.method == "proportional"
    flat = [span for words in timed.words for span in words]
    assert flat[0][0] == 0.3 and flat[-1][1] == 6.0  # still inside the sound
    assert all(a <= b <= c for (a, b), (c, _) in zip(flat, flat[1:], strict=False))


def test_audio_with_no_sound_found_spreads_over_all_of_it() -> None:
    timed = time_sentences(["Hello there."], [(0.0, 2.0)], 2.0)
    assert timed.words == [[(0.0, pytest.approx(2.0 * 5 / 12)), (pytest.approx(2.0 * 6 / 12), 2.0)]]


def test_silencedetects_log_is_read_and_an_open_silence_ends_with_the_audio() -> None:
    log = (
        "[silencedetect @ 0x1] silence_start: -0.01\n[silencedetect @ 0x1] silence_end: 0.25 | silence_duration: 0.26\n"
        "size=  3kB time=00:00:03.40\n[silencedetect @ 0x1] silence_start: 3.1\n"
    )
    assert parse_silences(log, 3.4) == [(0.0, 0.25), (3.1, 3.4)]


def test_one_ffmpeg_pass_decodes_and_lists_the_pauses() -> None:
    argv = decode_argv(Path("in.mp3"), Path("out.wav"), 48000)
    assert argv[:7] == ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info", "-y", "-i"]
    assert argv[argv.index("-af") + 1] == "silencedetect=noise=-40dB:d=0.2"
    assert argv[-9:] == ["-ac", "1", "-ar", "48000", "-c:a", "pcm_s16le", "-f", "wav", "out.wav"]


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
async def test_real_audio_is_decoded_and_its_sentences_found(tmp_path: Path, fmt: str) -> None:
    text = "A first sentence here. And a second one, a bit longer than the first."
    pieces, truth = speech_pieces(text, sentence_pause=0.5)
    source = tmp_path / f"speech.{fmt}"
    source.write_bytes(render_speech(pieces, fmt))
    log = await decode_with_silences(source, tmp_path / "decoded.wav", 48000)
    duration = sum(seconds for _, seconds in pieces)
    timed = time_sentences(sentences_of(text), parse_silences(log, duration), duration)
    assert timed.method == "silences"
    tolerance = 0.02 if fmt == "wav" else 0.06  # MP3 smears the edges of a tone a little
    for words, (start, end) in zip(timed.words, truth, strict=True):
        assert words[-1][1] == pytest.approx(end, abs=tolerance)
        if start > LEAD_SECONDS:  # the 0.05 s lead is shorter than a pause: the first sentence starts at 0
            assert words[0][0] == pytest.approx(start, abs=tolerance)


async def test_audio_that_does_not_decode_is_an_error(tmp_path: Path) -> None:
    source = tmp_path / "answer.src"
    source.write_bytes(b"<html>not audio</html>")
    with pytest.raises(SpeechSynthesisError, match="could not decode"):
        await decode_with_silences(source, tmp_path / "answer.wav", 48000)
