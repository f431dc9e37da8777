"""Cloud speech into the shape espeak leaves: one mono s16 WAV at 48 kHz and a SpeechTimeline over it.

A cloud provider answers one request per chunk of narration segments (an API caps the input of one request) with
audio in its own format and word times relative to that audio. `assemble` converts every chunk with ffmpeg,
joins them sample-exactly and shifts each chunk's word times by the chunk's offset, so captions stay exact.
"""

from __future__ import annotations

import io
import os
import tempfile
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core import writing_systems
from engines.proc import run_capture
from engines.speech.espeak import SpeechSynthesisError, normalize_text, resample_argv
from engines.speech.timeline import SegmentTiming, SpeechTimeline, WordTiming

SAMPLE_RATE = 48000  # what espeak leaves and the renderer expects


@dataclass(frozen=True)
class SpokenChunk:
    """One provider response: audio (a file's bytes, any format ffmpeg reads) and the timing of every word in it.

    `segments` are indexes into the narration; `words[k]` holds (start, end) in seconds from the start of this
    chunk's audio for each whitespace token of segment `segments[k]`, in order.
    """

    audio: bytes
    segments: list[int]
    words: list[list[tuple[float, float]]]


@dataclass(frozen=True)
class CloudSpeech:
    """What a cloud provider leaves besides voice.wav: the timeline and the usage it is billed for."""

    timeline: SpeechTimeline
    characters: int  # billed characters, as the provider counts them
    requests: int
    cost_usd: float
    word_times: str | None = None  # how word times were found, where the provider gives none of its own


def words_of(text: str) -> list[str]:
    """The words of a normalized segment, as captions show them (a character each in scripts written without
    spaces)."""
    return writing_systems.words(text)


def normalize_segments(segments: Sequence[str]) -> list[str]:
    """Whitespace-collapsed segments; an empty one is a script bug the provider would bill or reject."""
    texts = [normalize_text(s) for s in segments]
    if not texts or any(not t for t in texts):
        raise ValueError("every narration segment must contain text")
    return texts


def pack_segments(texts: Sequence[str], fits: Callable[[list[int]], bool]) -> list[list[int]]:
    """Consecutive segments grouped greedily into as few requests as `fits` allows (segments are never split)."""
    groups: list[list[int]] = []
    for index in range(len(texts)):
        if groups and fits([*groups[-1], index]):
            groups[-1].append(index)
        elif fits([index]):
            groups.append([index])
        else:
            raise ValueError(f"narration segment {index + 1} alone is longer than one request allows")
    return groups


def fill_gaps(values: Sequence[float | None], low: float, high: float) -> list[float]:
    """Missing values spread evenly between their known neighbours (`low`/`high` at the ends)."""
    filled = list(values)
    i = 0
    while i < len(filled):
        if filled[i] is not None:
            i += 1
            continue
        j = i
        while j < len(filled) and filled[j] is None:
            j += 1
        before = filled[i - 1] if i > 0 else low
        after = filled[j] if j < len(filled) else high
        assert before is not None and after is not None
        for k in range(i, j):
            filled[k] = before + (max(after, before) - before) * (k - i + 1) / (j - i + 1)
        i = j
    return [v for v in filled if v is not None]


def monotonic_words(times: Sequence[tuple[float, float] | None], duration: float) -> list[tuple[float, float]]:
    """Fill words with no timing from their neighbours, then make starts non-decreasing and clamp to the audio."""
    filled: list[tuple[float, float]] = []
    for i, t in enumerate(times):
        if t is None:
            start = filled[-1][1] if filled else 0.0
            following = next((n for n in times[i + 1 :] if n is not None), None)
            t = (start, following[0] if following is not None else duration)
        filled.append(t)
    result: list[tuple[float, float]] = []
    floor = 0.0
    for start, end in filled:
        start = min(max(start, floor), duration)
        end = min(max(end, start), duration)
        result.append((start, end))
        floor = start
    return result


async def assemble(texts: Sequence[str], chunks: Sequence[SpokenChunk], wav_path: Path) -> SpeechTimeline:
    """Write `wav_path` (mono s16, 48 kHz) from the chunks in order; return the timeline of `texts` over it."""
    wav_path = Path(wav_path)
    wav_path.parent.mkdir(parents=True, exist_ok=True)
    words: list[WordTiming] = []
    segment_starts: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix=".speech-", dir=wav_path.parent) as tmp:
        out = Path(tmp) / "voice.wav"
        offset_frames = 0
        with wave.open(str(out), "wb") as joined:
            joined.setnchannels(1)
            joined.setsampwidth(2)
            joined.setframerate(SAMPLE_RATE)
            for n, chunk in enumerate(chunks):
                source, converted = Path(tmp) / f"chunk{n}.src", Path(tmp) / f"chunk{n}.wav"
                source.write_bytes(chunk.audio)
                await _ffmpeg(resample_argv(source, converted, SAMPLE_RATE))
                with wave.open(str(converted), "rb") as part:
                    frames = part.readframes(part.getnframes())
                chunk_frames = len(frames) // 2
                joined.writeframes(frames)
                offset = offset_frames / SAMPLE_RATE
                chunk_duration = chunk_frames / SAMPLE_RATE
                for k, (segment, times) in enumerate(zip(chunk.segments, chunk.words, strict=True)):
                    tokens = words_of(texts[segment])
                    if len(tokens) != len(times):
                        raise SpeechSynthesisError(f"segment {segment}: {len(times)} timings for {len(tokens)} words")
                    # A chunk's first segment starts with the chunk (its leading silence belongs to it); a later one
                    # starts with its first word, so a pause is the end of the segment before it, as with espeak.
                    first = 0.0 if k == 0 else min(times[0][0], chunk_duration)
                    segment_starts[segment] = offset + first
                    for token, (start, end) in zip(tokens, times, strict=True):
                        start, end = min(start, chunk_duration), min(end, chunk_duration)
                        words.append(WordTiming(token, _r(offset + start), _r(offset + max(end, start)), segment))
                offset_frames += chunk_frames
        duration = offset_frames / SAMPLE_RATE
        if duration <= 0:
            raise SpeechSynthesisError("the provider returned no audio")
        os.replace(out, wav_path)
    return SpeechTimeline(words=words, segments=_segments(texts, segment_starts, duration), duration=_r(duration))


def _segments(texts: Sequence[str], starts: dict[int, float], duration: float) -> list[SegmentTiming]:
    """Contiguous segments covering [0, duration]: each ends where the next begins."""
    bounds = [0.0]
    for index in range(1, len(texts)):
        bounds.append(max(bounds[-1], min(starts[index], duration)))
    bounds.append(duration)
    return [
        SegmentTiming(index=i, text=text, start=_r(bounds[i]), end=_r(bounds[i + 1])) for i, text in enumerate(texts)
    ]


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    """Raw mono s16le PCM wrapped in a WAV header (ffmpeg then needs no format flags)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm)
    return buffer.getvalue()


async def _ffmpeg(argv: list[str]) -> None:
    """Run ffmpeg to completion (killed if this task is cancelled); a failure says why."""
    try:
        result = await run_capture(argv)
    except FileNotFoundError as exc:
        raise SpeechSynthesisError("ffmpeg not found; install it with `apt-get install ffmpeg`") from exc
    if result.returncode != 0:
        tail = result.stderr.strip()[-2000:]
        raise SpeechSynthesisError(f"ffmpeg could not convert the provider's audio (exit {result.returncode}): {tail}")


def _r(seconds: float) -> float:
    return round(seconds, 4)


def split_by_segment(times: list[tuple[float, float]], sizes: Sequence[int]) -> list[list[tuple[float, float]]]:
    """A flat list of word times cut into one list per segment, `sizes[k]` words for segment k."""
    result: list[list[tuple[float, float]]] = []
    first = 0
    for size in sizes:
        result.append(times[first : first + size])
        first += size
    return result
