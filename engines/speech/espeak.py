"""Offline narration with libespeak-ng: one WAV plus word timings taken from the same synthesis."""

from __future__ import annotations

import bisect
import json
import logging
import os
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

from core import writing_systems
from engines.proc import run_capture
from engines.speech._espeak_child import EXIT_NO_LIBRARY, EXIT_NO_VOICE
from engines.speech.timeline import SegmentTiming, SpeechTimeline, WordTiming

log = logging.getLogger(__name__)

_CHILD = Path(__file__).with_name("_espeak_child.py")
_STDERR_TAIL = 2000


class SpeechSynthesisError(Exception):
    """Speech could not be synthesized; the message says why and what to do."""


async def synthesize_espeak(
    segments: list[str],
    wav_path: Path,
    *,
    voice: str = "en-us",
    words_per_minute: int = 165,
    sample_rate: int = 48000,
    segment_pause: float = 0.0,
) -> SpeechTimeline:
    """Speak `segments` in order into a mono s16 WAV at `sample_rate`; return its word/segment timeline.

    `segment_pause` adds that many seconds of silence between segments, on top of espeak's sentence pause.
    """
    if not segments:
        raise ValueError("segments must not be empty")
    if segment_pause < 0:
        raise ValueError("segment_pause must be >= 0")
    wav_path = Path(wav_path)
    wav_path.parent.mkdir(parents=True, exist_ok=True)
    texts = [normalize_text(s) for s in segments]
    started = time.perf_counter()
    # The temp dir sits next to wav_path so os.replace stays on one filesystem and is atomic.
    with tempfile.TemporaryDirectory(prefix=".speech-", dir=wav_path.parent) as tmp:
        work = Path(tmp)
        raw_wav, timings_path = work / "espeak.wav", work / "timings.json"
        request_path = _write_json(
            work / "request.json",
            {
                "segments": texts,
                "voice": voice,
                "words_per_minute": words_per_minute,
                "segment_pause": segment_pause,
                "wav": str(raw_wav),
                "timings": str(timings_path),
            },
        )
        rc, stderr = await _run([sys.executable, "-I", str(_CHILD), str(request_path)])
        if rc == EXIT_NO_LIBRARY:
            raise SpeechSynthesisError(
                f"libespeak-ng is not available ({_tail(stderr)}); install it with `apt-get install espeak-ng`"
            )
        if rc == EXIT_NO_VOICE:
            raise SpeechSynthesisError(_tail(stderr))
        if rc != 0:
            raise SpeechSynthesisError(f"espeak-ng child process failed (exit {rc}): {_tail(stderr)}")
        raw = _read_json(timings_path)
        if not any(seg["speech_end"] > seg["start"] for seg in raw["segments"]):
            raise SpeechSynthesisError(f"espeak-ng produced no audio for {len(texts)} segment(s); is the text empty?")

        out_wav = work / "out.wav"
        rc, stderr = await _run(resample_argv(raw_wav, out_wav, sample_rate))
        if rc != 0:
            raise SpeechSynthesisError(f"ffmpeg could not resample the narration (exit {rc}): {_tail(stderr)}")
        duration = wav_duration(out_wav, sample_rate)
        timeline = build_timeline(texts, raw, duration)
        os.replace(out_wav, wav_path)
    log.info(
        "espeak %s: %d segments, %d words, %.2f s of speech in %.2f s -> %s",
        voice,
        len(texts),
        len(timeline.words),
        timeline.duration,
        time.perf_counter() - started,
        wav_path,
    )
    return timeline


def normalize_text(text: str) -> str:
    """Collapse whitespace, so espeak's character positions index exactly the text we tokenize."""
    return " ".join(text.split())


def resample_argv(src: Path, dst: Path, sample_rate: int) -> list[str]:
    """ffmpeg argv converting `src` to a mono s16 WAV at `sample_rate`."""
    return [
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(src),
        "-map_metadata",
        "-1",
        "-ac",
        "1",
        "-ar",
        str(sample_rate),
        "-c:a",
        "pcm_s16le",
        "-f",
        "wav",
        str(dst),
    ]


def wav_duration(path: Path, sample_rate: int) -> float:
    """Duration of a mono s16 WAV, checking that it has the expected format."""
    with wave.open(str(path), "rb") as w:
        fmt = (w.getframerate(), w.getnchannels(), w.getsampwidth())
        if fmt != (sample_rate, 1, 2):
            raise SpeechSynthesisError(f"unexpected WAV format (rate, channels, width) {fmt} in {path}")
        return w.getnframes() / w.getframerate()


def build_timeline(texts: list[str], raw: dict[str, Any], duration: float) -> SpeechTimeline:
    """Map the child's word events (per segment) onto the words of `texts`."""
    rate = raw["sample_rate"]
    raw_segments = raw["segments"]
    words: list[WordTiming] = []
    segments: list[SegmentTiming] = []
    for index, (text, seg) in enumerate(zip(texts, raw_segments, strict=True)):
        start = 0.0 if index == 0 else seg["start"] / rate
        end = duration if index == len(texts) - 1 else raw_segments[index + 1]["start"] / rate
        speech_end = min(seg["speech_end"] / rate, end)
        spoken = _spoken_words(text, seg["events"], seg["start"] / rate, speech_end)
        for i, (word, word_start) in enumerate(spoken):
            word_start = min(max(word_start, start), speech_end)
            word_end = spoken[i + 1][1] if i + 1 < len(spoken) else speech_end
            words.append(WordTiming(text=word, start=_r(word_start), end=_r(max(word_end, word_start)), segment=index))
        segments.append(SegmentTiming(index=index, text=text, start=_r(start), end=_r(end)))
    return SpeechTimeline(words=words, segments=segments, duration=_r(duration))


def _spoken_words(text: str, events: list[list[int]], offset: float, speech_end: float) -> list[tuple[str, float]]:
    """(word, start) for each word of `text` (writing_systems.words) that espeak spoke.

    espeak emits several events for some tokens ("1234") and one event for dictionary phrases
    ("many of", "in the"); words inside a phrase get a start interpolated by letter count. A token
    with no letters or digits and no event (a lone dash) is glued to the previous word.
    """
    matches = writing_systems.word_spans(text)
    token_starts = [at for at, _ in matches]
    event_start: dict[int, float] = {}
    last, floor = -1, offset
    for text_position, length, audio_ms in events:
        k = bisect.bisect_right(token_starts, text_position - 1) - 1
        # Skip espeak's zero-length and backwards events (it emits a few around clause breaks).
        if length > 0 and k > last:
            floor = max(floor, offset + audio_ms / 1000)
            event_start[k], last = floor, k
    keys = sorted(event_start)
    spoken: list[tuple[str, float]] = []
    for u, k in enumerate(keys):
        following = keys[u + 1] if u + 1 < len(keys) else len(matches)
        unit_start = event_start[k]
        unit_end = event_start[following] if u + 1 < len(keys) else max(speech_end, unit_start)
        group: list[str] = []
        for _, word in matches[k:following]:
            if group and not _has_letters(word):
                group[-1] = writing_systems.join([group[-1], word])
            else:
                group.append(word)
        weights = [max(1, sum(c.isalnum() for c in g)) for g in group]
        done = 0
        for g, weight in zip(group, weights, strict=True):
            spoken.append((g, unit_start + (unit_end - unit_start) * done / sum(weights)))
            done += weight
    if spoken and keys[0] > 0:
        leading = [word for _, word in matches[: keys[0]]]
        spoken[0] = (writing_systems.join([*leading, spoken[0][0]]), spoken[0][1])
    return spoken


def _has_letters(token: str) -> bool:
    return any(c.isalnum() for c in token)


async def _run(argv: list[str]) -> tuple[int, str]:
    try:
        result = await run_capture(argv)
    except FileNotFoundError as exc:
        raise SpeechSynthesisError(f"{argv[0]} not found; install it with `apt-get install ffmpeg`") from exc
    return result.returncode, result.stderr


def _tail(stderr: str) -> str:
    text = stderr.strip()
    return text[-_STDERR_TAIL:] or "no stderr output"


def _write_json(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SpeechSynthesisError(f"espeak-ng child wrote no usable timings: {exc}") from exc


def _r(seconds: float) -> float:
    return round(seconds, 4)
