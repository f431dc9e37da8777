"""Word times for speech that comes without any (the OpenAI speech protocol gives none), read from the audio itself.

ffmpeg decodes the answer and, in the same pass, `silencedetect` lists its pauses. A voice pauses between
sentences, so the pauses split the audio into the script's sentences, and each sentence's words share its sounding
time in proportion to their characters. When a voice also pauses inside sentences (at commas) there are more pauses
than sentence breaks: the breaks are then the pauses nearest to where the character counts put each sentence's end,
in order. When there are fewer pauses than breaks, every word is spread by characters over the whole speech.
Either way the last word ends where the sound stops, so the end never drifts by more than a pause.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core import writing_systems
from engines.proc import run_capture
from engines.speech.espeak import SpeechSynthesisError, resample_argv

SILENCE_DB = -40
MIN_PAUSE_SECONDS = 0.2  # shorter gaps (stop consonants, quick joins) are not pauses between sentences
_EDGE_SECONDS = 0.02  # a silence this close to an end of the audio is leading or trailing silence
_SENTENCE_END = re.compile(r"[.!?…。！？؟۔।॥][\"'”’»)\]」』）]*$")
_START = re.compile(r"silence_start: (-?[0-9.]+)")
_END = re.compile(r"silence_end: (-?[0-9.]+)")

Span = tuple[float, float]


@dataclass(frozen=True)
class SentenceTimes:
    """(start, end) of every whitespace token of every sentence, and how they were found."""

    words: list[list[Span]]
    method: Literal["silences", "proportional"]


def sentences_of(text: str) -> list[str]:
    """The sentences of a normalized segment: its words up to one ending a sentence (. ! ? … and their Chinese,
    Japanese, Arabic and Devanagari forms; a closing quote may follow). Joined by `writing_systems.join` they are the
    segment again."""
    sentences: list[str] = []
    current: list[str] = []
    for token in writing_systems.words(text):
        current.append(token)
        if _SENTENCE_END.search(token):
            sentences.append(writing_systems.join(current))
            current = []
    if current:
        sentences.append(writing_systems.join(current))
    return sentences


def decode_argv(src: Path, dst: Path, sample_rate: int) -> list[str]:
    """ffmpeg argv decoding `src` to a mono s16 WAV at `sample_rate` and logging its pauses (silencedetect)."""
    argv = resample_argv(src, dst, sample_rate)
    argv[argv.index("-loglevel") + 1] = "info"  # silencedetect reports at info level
    at = argv.index("-map_metadata")
    return [*argv[:at], "-nostats", "-af", f"silencedetect=noise={SILENCE_DB}dB:d={MIN_PAUSE_SECONDS}", *argv[at:]]


def parse_silences(log: str, duration: float) -> list[Span]:
    """The (start, end) pairs of silencedetect's log, clamped to the audio; a silence still open at the end of the
    stream ends with it."""
    events = sorted(
        [(m.start(), "start", float(m.group(1))) for m in _START.finditer(log)]
        + [(m.start(), "end", float(m.group(1))) for m in _END.finditer(log)]
    )
    spans: list[Span] = []
    opened: float | None = None
    for _, kind, seconds in events:
        seconds = min(max(seconds, 0.0), duration)
        if kind == "start":
            opened = seconds
        elif opened is not None:
            spans.append((opened, seconds))
            opened = None
    if opened is not None:
        spans.append((opened, duration))
    return [(a, b) for a, b in spans if b > a]


async def decode_with_silences(src: Path, dst: Path, sample_rate: int) -> str:
    """Decode `src` into `dst` (mono s16 at `sample_rate`); ffmpeg's log, for `parse_silences`. SpeechSynthesisError
    when ffmpeg cannot decode it."""
    try:
        result = await run_capture(decode_argv(src, dst, sample_rate))
    except FileNotFoundError as exc:
        raise SpeechSynthesisError("ffmpeg not found; install it with `apt-get install ffmpeg`") from exc
    if result.returncode != 0:
        raise SpeechSynthesisError(f"ffmpeg could not decode the audio (exit {result.returncode})")
    return result.stderr


def time_sentences(sentences: Sequence[str], silences: Sequence[Span], duration: float) -> SentenceTimes:
    """Word times of `sentences` spoken in that order over audio of `duration` seconds with these silences."""
    start, end = 0.0, duration
    inner: list[Span] = []
    for a, b in silences:
        if a <= _EDGE_SECONDS:
            start = max(start, b)
        elif b >= duration - _EDGE_SECONDS:
            end = min(end, a)
        else:
            inner.append((a, b))
    if end <= start:  # no sound found at all: nothing to anchor to
        start, end, inner = 0.0, duration, []
    inner = [(a, b) for a, b in inner if start < a and b < end]
    tokens = [writing_systems.words(s) for s in sentences]
    breaks = len(sentences) - 1
    if len(inner) < breaks:
        flat = spread([t for ts in tokens for t in ts], start, end)
        words, first = [], 0
        for ts in tokens:
            words.append(flat[first : first + len(ts)])
            first += len(ts)
        return SentenceTimes(words, "proportional")
    sizes = [len(s) for s in sentences]
    total = sum(sizes) or 1
    expected, done = [], 0
    for size in sizes[:-1]:
        done += size
        expected.append(start + (end - start) * done / total)
    chosen = [inner[i] for i in nearest_in_order([(a + b) / 2 for a, b in inner], expected)]
    edges = [start, *(x for pause in chosen for x in pause), end]
    spans = [(edges[2 * k], edges[2 * k + 1]) for k in range(len(sentences))]
    return SentenceTimes([spread(ts, a, b) for ts, (a, b) in zip(tokens, spans, strict=True)], "silences")


def nearest_in_order(candidates: Sequence[float], targets: Sequence[float]) -> list[int]:
    """Increasing indexes into `candidates` (sorted), one per target, with the least squared distance in all."""
    if not targets:
        return []
    n, k = len(candidates), len(targets)
    if n < k:
        raise ValueError(f"{n} candidates for {k} targets")
    inf = float("inf")
    # cost[j][i]: the best total for targets[: j + 1] with target j at candidate i; back[j][i]: target j-1's choice.
    cost = [[inf] * n for _ in range(k)]
    back = [[-1] * n for _ in range(k)]
    for i in range(n):
        cost[0][i] = (candidates[i] - targets[0]) ** 2
    for j in range(1, k):
        best, best_at = inf, -1
        for i in range(j, n):
            if cost[j - 1][i - 1] < best:
                best, best_at = cost[j - 1][i - 1], i - 1
            cost[j][i] = best + (candidates[i] - targets[j]) ** 2
            back[j][i] = best_at
    last = min(range(k - 1, n), key=lambda i: cost[k - 1][i])
    picked = [last]
    for j in range(k - 1, 0, -1):
        picked.append(back[j][picked[-1]])
    return picked[::-1]


def spread(tokens: Sequence[str], start: float, end: float) -> list[Span]:
    """(start, end) of each token over [start, end] in proportion to characters: the text's own spaces included, so
    the last token ends at `end` and a short word gets a short span."""
    if not tokens:
        return []
    text_length = sum(len(t) for t in tokens) + len(tokens) - 1
    scale = (end - start) / max(text_length, 1)
    spans: list[Span] = []
    position = 0
    for token in tokens:
        spans.append((start + position * scale, start + (position + len(token)) * scale))
        position += len(token) + 1
    spans[-1] = (spans[-1][0], end)  # exactly, whatever the rounding
    return spans
