"""Speech synthesis with the real Piper voice (en_US-joe-medium): audio format, word timing accuracy, the
spread fallback, errors, cancellation and how many children run at once. Speed: bench/local_stages_bench.py."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from pathlib import Path

import pytest
import pytest_asyncio

from engines.speech import PiperSlots, PiperSpeech, PiperVoice, PiperVoiceError, SpeechTimeline, synthesize_piper
from engines.speech.piper import build_timeline, bundled_voice, read_voice
from tests.engines.test_speech import (
    SEGMENTS,
    SPEECH_END_TOLERANCE,
    _children,
    child_processes,
    silences,
    wav_facts,
    words_of,
)


def speech_end(wav: Path, duration: float) -> float:
    """Where the sound stops: the start of a silence (below -40 dB) that runs to the end of the file."""
    last_start, last_end = silences(wav, noise_db=-40, min_duration=0.05)[-1]
    assert abs(last_end - duration) < 0.05, "expected trailing silence"
    return last_start


@pytest.fixture(scope="module")
def joe() -> PiperVoice:
    return read_voice(bundled_voice())


@pytest_asyncio.fixture(scope="module")
async def narration(tmp_path_factory: pytest.TempPathFactory, joe: PiperVoice) -> tuple[PiperSpeech, Path]:
    wav = tmp_path_factory.mktemp("piper") / "narration.wav"
    return await synthesize_piper(SEGMENTS, wav, joe), wav


def test_the_default_voice_is_the_packaged_joe(joe: PiperVoice) -> None:
    assert (joe.name, joe.language, joe.sample_rate) == ("en_US-joe-medium", "en_US", 22050)
    assert joe.config == joe.model.with_name("en_US-joe-medium.onnx.json")


async def test_the_default_voice_gets_aligned_word_times(narration: tuple[PiperSpeech, Path]) -> None:
    assert narration[0].word_times == "aligned"


async def test_150_words_give_a_plausible_duration(narration: tuple[PiperSpeech, Path]) -> None:
    # 2.3 to 3.5 words a second is a natural reading pace (espeak-ng at 165 wpm: 55 s).
    assert 43 <= narration[0].timeline.duration <= 65


async def test_one_timing_per_word_in_order(narration: tuple[PiperSpeech, Path]) -> None:
    timeline = narration[0].timeline
    assert [w.text for w in timeline.words] == [w for s in SEGMENTS for w in words_of(s)]
    for index, segment in enumerate(SEGMENTS):
        assert [w.text for w in timeline.segment_words(index)] == words_of(segment)


def assert_monotonic(timeline: SpeechTimeline) -> None:
    words = timeline.words
    assert words[0].start >= 0
    for word in words:
        assert word.start < word.end, word
    for prev, word in zip(words, words[1:], strict=False):
        assert prev.end <= word.start, (prev, word)
    assert words[-1].end <= timeline.duration
    segments = timeline.segments
    assert segments[0].start == 0 and segments[-1].end == timeline.duration
    for prev, seg in zip(segments, segments[1:], strict=False):
        assert prev.end == seg.start
    for word in words:
        assert segments[word.segment].start <= word.start and word.end <= segments[word.segment].end


async def test_timings_are_monotonic_and_inside_their_segments(narration: tuple[PiperSpeech, Path]) -> None:
    assert_monotonic(narration[0].timeline)


async def test_wav_is_48k_mono_s16_and_matches_timeline(narration: tuple[PiperSpeech, Path]) -> None:
    timeline, wav = narration[0].timeline, narration[1]
    rate, channels, width, duration = wav_facts(wav)
    assert (rate, channels, width) == (48000, 1, 2)
    assert abs(duration - timeline.duration) < 0.05
    assert not [p for p in wav.parent.iterdir() if p.name.startswith(".speech-")]


async def test_last_word_ends_where_speech_and_audio_end(narration: tuple[PiperSpeech, Path]) -> None:
    timeline, wav = narration[0].timeline, narration[1]
    last = timeline.words[-1]
    drift = abs(last.end - speech_end(wav, timeline.duration))
    assert drift < SPEECH_END_TOLERANCE, f"last word ends {drift:.3f} s away from the speech end"
    assert timeline.duration - last.end < SPEECH_END_TOLERANCE


async def test_words_start_where_pauses_end(narration: tuple[PiperSpeech, Path]) -> None:
    """Sync all through the file: after every clear pause, the next word starts as the sound resumes."""
    timeline, wav = narration[0].timeline, narration[1]
    inner = [(s, e) for s, e in silences(wav, min_duration=0.15) if e < timeline.duration - 0.05]
    assert len(inner) >= 8, "sentence and clause pauses expected"
    for silence_start, silence_end in inner:
        after = next(w for w in timeline.words if w.end > silence_start + 0.02)  # the first not over by then
        assert abs(after.start - silence_end) < 0.1, (silence_start, silence_end, after)


async def test_spread_word_times_without_alignments(tmp_path: Path, joe: PiperVoice) -> None:
    segments = SEGMENTS[:2]
    wav = tmp_path / "spread.wav"
    speech = await synthesize_piper(segments, wav, joe, alignments=False)
    assert speech.word_times == "spread"
    timeline = speech.timeline
    assert [w.text for w in timeline.words] == [w for s in segments for w in words_of(s)]
    assert_monotonic(timeline)
    drift = abs(timeline.words[-1].end - speech_end(wav, timeline.duration))
    assert drift < SPEECH_END_TOLERANCE, f"last word ends {drift:.3f} s away from the speech end"
    # Each sentence is spread over its own sound: the second segment's first word starts as it sounds.
    second = timeline.segment_words(1)[0]
    assert min(abs(second.start - end) for _, end in silences(wav, min_duration=0.1)) < 0.12, second


async def test_segment_pause_lands_where_the_timeline_says(tmp_path: Path, joe: PiperVoice) -> None:
    segments = ["The first part ends here.", "Then a second part follows.", "And the third part closes."]
    wav = tmp_path / "paused.wav"
    timeline = (await synthesize_piper(segments, wav, joe, segment_pause=1.5)).timeline
    gaps = [g for g in silences(wav, min_duration=1.0) if g[1] < timeline.duration - 0.05]
    assert len(gaps) == 2
    for index, (gap_start, gap_end) in enumerate(gaps):
        last_word, first_word = timeline.segment_words(index)[-1], timeline.segment_words(index + 1)[0]
        assert abs(last_word.end - gap_start) < 0.1
        assert abs(first_word.start - gap_end) < 0.1
        assert timeline.segments[index].end <= first_word.start


async def test_numbers_and_symbols_stay_one_word_per_token(tmp_path: Path, joe: PiperVoice) -> None:
    text = "The café sold 1234 cakes \u2014 really!"
    timeline = (await synthesize_piper([text, "  Spaced\n out\ttext  "], tmp_path / "mixed.wav", joe)).timeline
    assert " ".join(w.text for w in timeline.segment_words(0)) == text
    assert "1234" in [w.text for w in timeline.words]
    assert [w.text for w in timeline.segment_words(1)] == ["Spaced", "out", "text"]
    # "one thousand two hundred thirty four" takes far longer to say than "sold".
    by_text = {w.text: w.end - w.start for w in timeline.words}
    assert by_text["1234"] > 2 * by_text["sold"]
    assert_monotonic(timeline)


def test_build_timeline_shares_phonemes_out_by_word() -> None:
    # "in the" is one phoneme word in the stream; "1000" two; the dash has no phonemes; the comma is a pause.
    # Rate 1000: samples are milliseconds.
    samples = [
        ["^", 100],
        *[[p, 50] for p in "ɪnðə"],
        [" ", 20],
        *[[p, 50] for p in "dɑɹk"],
        [",", 300],
        [" ", 20],
        *[[p, 40] for p in "wʌn"],
        [" ", 10],
        *[[p, 40] for p in "θaʊzənd"],
        [".", 200],
        ["$", 100],
    ]
    sentence = {
        "start": 0,
        "samples": sum(n for _, n in samples),
        "sound_start": 100,
        "sound_end": 1250,
        "phonemes": [p for p, _ in samples[1:-1]],
        "phoneme_samples": samples,
    }
    raw = {
        "sample_rate": 1000,
        # The voice stays silent 60 ms into "one": the word starts with the sound.
        "silences": [[0, 100], [520, 900], [1250, 1550]],
        "segments": [
            {"start": 0, "end": 1550, "token_sounds": [2, 2, 4, 10, 0], "sentences": [sentence]},
        ],
    }
    timeline = build_timeline(["in the dark, 1000 \u2014"], raw, duration=1.55)
    assert [(w.text, w.start, w.end) for w in timeline.words] == [
        ("in", 0.1, 0.2),
        ("the", 0.2, 0.3),
        ("dark,", 0.32, 0.52),
        ("1000 \u2014", 0.9, 1.25),
    ]
    # Without alignments the sentence's 18 sounds are spread evenly over where it sounds (100..1250 ms).
    raw["segments"][0]["sentences"][0]["phoneme_samples"] = None
    spread = build_timeline(["in the dark, 1000 \u2014"], raw, duration=1.55)
    step = 1.15 / 18
    assert [w.text for w in spread.words] == ["in", "the", "dark,", "1000 \u2014"]
    assert [w.start for w in spread.words] == [round(0.1 + k * step, 4) for k in (0, 2, 4)] + [0.9]
    assert [w.end for w in spread.words] == [round(0.1 + k * step, 4) for k in (2, 4)] + [0.52, 1.25]
    assert SpeechTimeline.from_json(timeline.to_json()) == timeline


def test_a_bad_voice_path_says_what_is_wrong(tmp_path: Path, joe: PiperVoice) -> None:
    with pytest.raises(PiperVoiceError, match=r"no such voice file \(missing.onnx\)"):
        read_voice(tmp_path / "missing.onnx")
    with pytest.raises(PiperVoiceError, match="a Piper voice is an .onnx file"):
        read_voice(joe.config)
    (tmp_path / "text.onnx").write_text("not a model")
    with pytest.raises(PiperVoiceError, match="text.onnx is not an ONNX model"):
        read_voice(tmp_path / "text.onnx")
    lonely = tmp_path / "lonely.onnx"
    lonely.symlink_to(joe.model)
    with pytest.raises(PiperVoiceError, match=r"no config beside it \(lonely.onnx.json\)") as info:
        read_voice(lonely)
    assert str(tmp_path) not in info.value.reason and str(tmp_path) in str(info.value)
    (tmp_path / "lonely.onnx.json").write_text("{not json")
    with pytest.raises(PiperVoiceError, match="lonely.onnx.json is not a Piper voice config"):
        read_voice(lonely)


async def test_a_model_that_does_not_load_is_a_voice_error(tmp_path: Path, joe: PiperVoice) -> None:
    broken = tmp_path / "voices" / "broken.onnx"
    broken.parent.mkdir()
    broken.write_bytes(b"\x08" + os.urandom(4096))  # opens like a model, is none
    shutil.copy(joe.config, broken.with_name("broken.onnx.json"))
    voice = read_voice(broken)
    with pytest.raises(PiperVoiceError, match="cannot load the Piper voice"):
        await synthesize_piper(["Hello."], tmp_path / "x.wav", voice)
    assert not (tmp_path / "x.wav").exists()


async def test_no_speech_is_an_error(tmp_path: Path, joe: PiperVoice) -> None:
    with pytest.raises(Exception, match="no audio"):
        await synthesize_piper(["   "], tmp_path / "x.wav", joe)
    with pytest.raises(ValueError):
        await synthesize_piper([], tmp_path / "x.wav", joe)


async def test_cancellation_kills_the_child_and_leaves_nothing(tmp_path: Path, joe: PiperVoice) -> None:
    wav = tmp_path / "long.wav"
    task = asyncio.create_task(synthesize_piper(SEGMENTS * 10, wav, joe))
    await asyncio.sleep(0.5)
    assert any("_piper_child" in c for c in _children()), "child should still be running"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not [c for c in _children() if "_piper_child" in c or "ffmpeg" in c]
    assert not os.listdir(tmp_path)


class PiperChildren:
    """When each Piper child of this process was first and last seen running, sampled every 10 ms."""

    def __init__(self) -> None:
        self.seen: dict[int, tuple[float, float]] = {}
        self.most_at_once = 0
        self.started = asyncio.Event()  # set once one is seen
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            now = time.monotonic()
            running = [pid for pid, cmdline in child_processes().items() if "_piper_child.py" in cmdline]
            for pid in running:
                self.seen[pid] = (self.seen.get(pid, (now, now))[0], now)
            self.most_at_once = max(self.most_at_once, len(running))
            if running:
                self.started.set()
            await asyncio.sleep(0.01)

    async def stop(self) -> list[tuple[float, float]]:
        """Each child's (first, last) sighting, in the order they started."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        return sorted(self.seen.values())


@pytest.mark.parametrize("limit", [1, 2])
async def test_no_more_piper_children_run_at_once_than_the_slots(tmp_path: Path, joe: PiperVoice, limit: int) -> None:
    slots = PiperSlots(limit)
    children = PiperChildren()
    await asyncio.gather(*(synthesize_piper(["Hello there."], tmp_path / f"{i}.wav", joe, slots=slots) for i in (1, 2)))
    lifetimes = await children.stop()
    assert len(lifetimes) == 2 and children.most_at_once == limit and slots.running == 0
    if limit == 1:
        (_, first_ended), (second_started, _) = lifetimes
        assert first_ended < second_started


async def test_a_cancelled_wait_for_a_slot_takes_none_and_gives_none_back(tmp_path: Path, joe: PiperVoice) -> None:
    slots = PiperSlots(1)
    children = PiperChildren()
    first = asyncio.create_task(synthesize_piper(["Hello there."], tmp_path / "first.wav", joe, slots=slots))
    waiting_dir = tmp_path / "waiting"
    waiting = asyncio.create_task(synthesize_piper(["Hello there."], waiting_dir / "w.wav", joe, slots=slots))
    await asyncio.sleep(0.5)
    assert slots.running == 1 and not first.done() and not waiting.done()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert not os.listdir(waiting_dir)
    # Had the cancelled wait given a slot back, this one would start beside the first.
    third = await asyncio.gather(first, synthesize_piper(["Hello there."], tmp_path / "third.wav", joe, slots=slots))
    lifetimes = await children.stop()
    assert len(third) == 2 and len(lifetimes) == 2 and children.most_at_once == 1 and slots.running == 0
    (_, first_ended), (third_started, _) = lifetimes
    assert first_ended < third_started


def test_at_least_one_piper_child_is_allowed() -> None:
    with pytest.raises(ValueError, match="at least one"):
        PiperSlots(0)
