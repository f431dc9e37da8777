"""Child process that runs one Piper synthesis: `python _piper_child.py request.json`.

A voice model takes a few hundred MB and onnxruntime uses every core, so it never runs inside the worker process,
and a cancel or a dead worker ends it with the process (engines/proc.py). It imports piper, numpy and the standard
library only, so it runs by path without the project on sys.path.

Writes a mono s16 WAV at the voice's rate and a JSON file with the silences in it (sample spans of at least
MIN_SILENCE) and, per segment, its sample span, the phoneme count of each of its words (the weights
that share the segment's phonemes out among its words) and, per sentence Piper spoke, its sample span, where its
sound starts and ends, and its phonemes, each with its number of samples when the voice gives alignments (else null).
"""

from __future__ import annotations

import json
import sys
import wave
from typing import Any, NoReturn

EXIT_BAD_REQUEST = 2
EXIT_NO_PIPER = 3
EXIT_NO_VOICE = 4

# Samples at or below this magnitude (about -50 dBFS) count as silence: a Piper voice breathes a little noise
# into its pauses, so exact zeros (espeak's) are not to be expected.
SILENCE_THRESHOLD = 100
MIN_SILENCE = 0.04  # seconds: shorter quiet runs are a stop consonant's closure, not a pause
# Not sounds: stress and length marks ride on the phoneme before or after them, so neither the text's words nor
# the spoken stream count them.
MARKS = frozenset("ˈˌː")


def _fail(code: int, message: str) -> NoReturn:
    sys.stderr.write(message + "\n")
    sys.exit(code)


def sounds(phonemes: list[str]) -> int:
    """How many phonemes of `phonemes` are sounds (letters), the unit word weights and times are counted in."""
    return sum(1 for p in phonemes if p.isalpha() and p not in MARKS)


def _load(model: str, config: str, alignments: bool) -> tuple[Any, bool]:
    try:
        from piper import PiperVoice
    except ImportError as exc:
        _fail(EXIT_NO_PIPER, f"cannot import piper ({exc})")
    try:
        voice = PiperVoice.load(model, config_path=config, include_alignments=alignments)
    except Exception as exc:  # onnxruntime raises its own types for a file that is no model
        _fail(EXIT_NO_VOICE, f"cannot load the Piper voice {model}: {type(exc).__name__}: {exc}")
    # Alignments need the voice's duration tensor as an output: in-memory patching adds it where the `onnx`
    # package is installed and the model has one Ceil node; otherwise the session has only the audio output.
    aligned = alignments and len(voice.session.get_outputs()) > 1
    return voice, aligned


def synthesize(request: dict[str, Any]) -> None:
    voice, aligned = _load(request["model"], request["config"], bool(request.get("alignments", True)))
    import numpy as np

    rate = int(voice.config.sample_rate)
    pause = np.zeros(round(float(request["segment_pause"]) * rate), dtype=np.int16)
    pieces: list[Any] = []
    position = 0
    texts: list[str] = request["segments"]
    # The caller's words of each segment (a character each in scripts written without spaces).
    words: list[list[str]] = request.get("words") or [text.split() for text in texts]
    out_segments = []
    for index, text in enumerate(texts):
        start = position
        sentences = []
        for chunk in voice.synthesize(text, include_alignments=aligned):
            audio = chunk.audio_int16_array
            loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > SILENCE_THRESHOLD)
            alignment = chunk.phoneme_alignments
            sentences.append(
                {
                    "start": position,
                    "samples": len(audio),
                    "sound_start": position + (int(loud[0]) if len(loud) else 0),
                    "sound_end": position + (int(loud[-1]) + 1 if len(loud) else 0),
                    "phonemes": list(chunk.phonemes),
                    "phoneme_samples": (
                        [[a.phoneme, int(a.num_samples)] for a in alignment] if alignment is not None else None
                    ),
                }
            )
            pieces.append(audio)
            position += len(audio)
        if index < len(texts) - 1 and len(pause):
            pieces.append(pause)
            position += len(pause)
        out_segments.append(
            {
                "start": start,
                "end": position,
                "token_sounds": [sounds([p for s in voice.phonemize(t) for p in s]) for t in words[index]],
                "sentences": sentences,
            }
        )

    audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
    with wave.open(request["wav"], "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(audio.tobytes())
    quiet = (np.abs(audio.astype(np.int32)) <= SILENCE_THRESHOLD).astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], quiet, [0])))).reshape(-1, 2)
    silences = [[int(a), int(b)] for a, b in edges if b - a >= MIN_SILENCE * rate]
    with open(request["timings"], "w", encoding="utf-8") as f:
        json.dump({"sample_rate": rate, "samples": position, "silences": silences, "segments": out_segments}, f)


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        _fail(EXIT_BAD_REQUEST, "usage: _piper_child.py REQUEST_JSON")
    with open(argv[1], encoding="utf-8") as f:
        synthesize(json.load(f))


if __name__ == "__main__":
    main(sys.argv)
