"""Speech synthesis with real libespeak-ng: audio format, timing accuracy, errors and cancellation."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from engines.speech import SpeechSynthesisError, SpeechTimeline, synthesize_espeak
from engines.speech.espeak import build_timeline

SEGMENTS = [
    "Deep beneath the ocean surface lies a hidden world of strange creatures. Many of them glow in "
    "the dark, using light to hunt, hide, and find partners in the night.",
    "Scientists call this light bioluminescence. It comes from a chemical reaction inside special cells, "
    "and it produces almost no heat, which makes it very efficient for these small animals.",
    "The anglerfish is the most famous example. A glowing lure hangs above its wide mouth, and curious "
    "small fish swim closer and closer until the sharp jaws snap shut around them.",
    "Other animals use light as a clever disguise. Some squid match the faint glow coming from above, "
    "so hungry predators looking up from below cannot see their dark shapes at all.",
    "Researchers still discover new glowing species almost every single year. The deep sea remains the "
    "largest unexplored place on our planet, full of strange surprises quietly waiting for us.",
]
SPEECH_END_TOLERANCE = 0.5


@dataclass(frozen=True)
class Synthesis:
    timeline: SpeechTimeline
    wav: Path


def words_of(text: str) -> list[str]:
    return text.split()


def silences(wav: Path, noise_db: int = -50, min_duration: float = 0.15) -> list[tuple[float, float]]:
    """(start, end) of each silence ffmpeg's silencedetect finds."""
    result = subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostdin",
            "-i",
            str(wav),
            "-af",
            f"silencedetect=noise={noise_db}dB:d={min_duration}",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    starts = [float(x) for x in re.findall(r"silence_start: ([0-9.]+)", result.stderr)]
    ends = [float(x) for x in re.findall(r"silence_end: ([0-9.]+)", result.stderr)]
    return list(zip(starts, ends, strict=True))


def wav_facts(wav: Path) -> tuple[int, int, int, float]:
    with wave.open(str(wav), "rb") as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes() / w.getframerate()


@pytest_asyncio.fixture(scope="module")
async def narration(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    wav = tmp_path_factory.mktemp("speech") / "narration.wav"
    return Synthesis(timeline=await synthesize_espeak(SEGMENTS, wav), wav=wav)


def test_text_is_150_words_in_5_segments() -> None:
    assert len(SEGMENTS) == 5
    assert sum(len(words_of(s)) for s in SEGMENTS) == 150


async def test_150_words_give_about_a_minute(narration: Synthesis) -> None:
    assert 50 <= narration.timeline.duration <= 65  # speed: bench/local_stages_bench.py


async def test_one_timing_per_word_in_order(narration: Synthesis) -> None:
    timeline = narration.timeline
    assert [w.text for w in timeline.words] == [w for s in SEGMENTS for w in words_of(s)]
    for index, segment in enumerate(SEGMENTS):
        assert [w.text for w in timeline.segment_words(index)] == words_of(segment)


async def test_timings_are_monotonic(narration: Synthesis) -> None:
    words = narration.timeline.words
    assert words[0].start >= 0
    for word in words:
        assert word.start < word.end
    for prev, word in zip(words, words[1:], strict=False):
        assert prev.end <= word.start
        if prev.segment == word.segment:
            assert prev.end == word.start
    assert words[-1].end <= narration.timeline.duration


async def test_segments_are_contiguous_and_hold_their_words(narration: Synthesis) -> None:
    timeline = narration.timeline
    segments = timeline.segments
    assert [s.index for s in segments] == list(range(5))
    assert [s.text for s in segments] == SEGMENTS
    assert segments[0].start == 0
    for prev, seg in zip(segments, segments[1:], strict=False):
        assert prev.end == seg.start
    assert segments[-1].end == timeline.duration
    for word in timeline.words:
        seg = segments[word.segment]
        assert seg.start <= word.start and word.end <= seg.end


async def test_wav_is_48k_mono_s16_and_matches_timeline(narration: Synthesis) -> None:
    rate, channels, width, duration = wav_facts(narration.wav)
    assert (rate, channels, width) == (48000, 1, 2)
    assert abs(duration - narration.timeline.duration) < 0.05
    assert not [p for p in narration.wav.parent.iterdir() if p.name.startswith(".speech-")]


async def test_last_word_ends_where_speech_ends(narration: Synthesis) -> None:
    found = silences(narration.wav)
    last_start, last_end = found[-1]
    assert abs(last_end - narration.timeline.duration) < 0.05, "expected trailing silence"
    drift = abs(narration.timeline.words[-1].end - last_start)
    assert drift < SPEECH_END_TOLERANCE, f"last word ends {drift:.3f} s away from the speech end"


async def test_words_start_where_pauses_end(narration: Synthesis) -> None:
    """Sync all through the file: after every clear pause, the next word starts as the sound resumes."""
    words = narration.timeline.words
    inner = [(s, e) for s, e in silences(narration.wav, min_duration=0.15) if e < narration.timeline.duration - 0.05]
    assert len(inner) >= 10, "sentence and clause pauses expected"
    for silence_start, silence_end in inner:
        after = next(w for w in words if w.start >= silence_start - 0.05)
        assert abs(after.start - silence_end) < 0.1, (silence_start, silence_end, after)


async def test_segment_pause_lands_where_the_timeline_says(tmp_path: Path) -> None:
    segments = ["The first part ends here.", "Then a second part follows.", "And the third part closes."]
    wav = tmp_path / "paused.wav"
    timeline = await synthesize_espeak(segments, wav, segment_pause=1.5)
    gaps = silences(wav, min_duration=1.0)
    gaps = [g for g in gaps if g[1] < timeline.duration - 0.05]
    assert len(gaps) == 2
    for index, (gap_start, gap_end) in enumerate(gaps):
        last_word = timeline.segment_words(index)[-1]
        first_word = timeline.segment_words(index + 1)[0]
        assert abs(last_word.end - gap_start) < 0.1
        assert abs(first_word.start - gap_end) < 0.1
        assert timeline.segments[index].end <= first_word.start
    assert gaps[1][1] - gaps[1][0] >= 1.5


async def test_numbers_and_symbols_stay_one_word_per_token(tmp_path: Path) -> None:
    text = "The café sold 1234 cakes \u2014 really!"
    timeline = await synthesize_espeak([text, "  Spaced\n out\ttext  "], tmp_path / "mixed.wav")
    assert " ".join(w.text for w in timeline.segment_words(0)) == text
    assert "1234" in [w.text for w in timeline.words]
    assert [w.text for w in timeline.segment_words(1)] == ["Spaced", "out", "text"]
    assert timeline.segments[1].text == "Spaced out text"


def test_build_timeline_maps_events_to_tokens() -> None:
    raw = {
        "sample_rate": 1000,
        "samples": 6000,
        "segments": [
            # Positions are 1-based characters. "1234" gets three events, the dash none, and espeak's
            # stray zero-length event (length 0) is ignored.
            {
                "start": 0,
                "speech_end": 2500,
                "end": 3000,
                "events": [[1, 2, 100], [4, 4, 400], [5, 4, 900], [3, 0, 1100], [5, 4, 1200], [12, 3, 2000]],
            },
            # "Many of" is one dictionary phrase with a single event: "of" is interpolated by letters.
            {"start": 3000, "speech_end": 5800, "end": 6000, "events": [[3, 4, 0], [11, 4, 600]]},
        ],
    }
    timeline = build_timeline(["Hi 1234 \u2014 end", "- Many of them"], raw, duration=6.0)
    assert [(w.text, w.start, w.end, w.segment) for w in timeline.words] == [
        ("Hi", 0.1, 0.4, 0),
        ("1234 \u2014", 0.4, 2.0, 0),
        ("end", 2.0, 2.5, 0),
        ("- Many", 3.0, 3.4, 1),
        ("of", 3.4, 3.6, 1),
        ("them", 3.6, 5.8, 1),
    ]
    assert [(s.start, s.end) for s in timeline.segments] == [(0.0, 3.0), (3.0, 6.0)]


def test_timeline_json_round_trip() -> None:
    raw = {
        "sample_rate": 1000,
        "samples": 1000,
        "segments": [{"start": 0, "speech_end": 900, "end": 1000, "events": [[1, 5, 10], [7, 5, 400]]}],
    }
    timeline = build_timeline(["Hello world"], raw, duration=1.0)
    assert SpeechTimeline.from_json(timeline.to_json()) == timeline


async def test_missing_library_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YTEMPIRE_ESPEAK_LIB", str(tmp_path / "no-such-libespeak-ng.so.1"))
    with pytest.raises(SpeechSynthesisError, match="apt-get install espeak-ng"):
        await synthesize_espeak(["Hello."], tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


async def test_unknown_voice_reports_child_stderr(tmp_path: Path) -> None:
    with pytest.raises(SpeechSynthesisError, match="zz-nonexistent"):
        await synthesize_espeak(["Hello."], tmp_path / "x.wav", voice="zz-nonexistent")


async def test_no_speech_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SpeechSynthesisError, match="no audio"):
        await synthesize_espeak(["   "], tmp_path / "x.wav")
    with pytest.raises(ValueError):
        await synthesize_espeak([], tmp_path / "x.wav")


def child_processes() -> dict[int, str]:
    """This process's children: pid -> command line (empty for one that has exited, not yet reaped)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            found[int(stat.parent.name)] = cmdline
    return found


def _children() -> list[str]:
    return list(child_processes().values())


async def test_cancellation_kills_the_child_and_leaves_nothing(tmp_path: Path) -> None:
    wav = tmp_path / "long.wav"
    task = asyncio.create_task(synthesize_espeak(SEGMENTS * 40, wav))
    await asyncio.sleep(0.3)
    assert any("_espeak_child" in c for c in _children()), "child should still be running"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not [c for c in _children() if "_espeak_child" in c or "ffmpeg" in c]
    assert not os.listdir(tmp_path)
