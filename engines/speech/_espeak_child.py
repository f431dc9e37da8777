"""Child process that runs libespeak-ng once: `python _espeak_child.py request.json`.

libespeak-ng keeps global state and is not thread-safe, so it never runs inside the worker process.
Standard library only, so it can run by path without the project on sys.path.
Writes a mono s16 WAV at espeak's native rate and a JSON file with, per segment, its sample span,
where its speech ends, and the raw word events (1-based char position, length, ms from segment start).
"""

from __future__ import annotations

import array
import ctypes
import ctypes.util
import json
import os
import sys
import wave
from typing import Any

EXIT_BAD_REQUEST = 2
EXIT_NO_LIBRARY = 3
EXIT_NO_VOICE = 4

LIBRARY_ENV = "YTEMPIRE_ESPEAK_LIB"

# speak_lib.h (espeak-ng 1.51); the headers are not installed, so the values are copied here.
AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_INITIALIZE_DONT_EXIT = 0x8000
ESPEAK_EVENT_LIST_TERMINATED = 0
ESPEAK_EVENT_WORD = 1
ESPEAK_RATE = 1
POS_CHARACTER = 1
ESPEAK_CHARS_UTF8 = 1
ESPEAK_ENDPAUSE = 0x1000
EE_OK = 0

# Samples at or below this magnitude (about -54 dBFS) count as silence; espeak's own pauses are exact zeros.
SILENCE_THRESHOLD = 64


class EspeakEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(EspeakEvent)
)


def _fail(code: int, message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.exit(code)


def _load_library() -> ctypes.CDLL | None:
    override = os.environ.get(LIBRARY_ENV)
    names = [override] if override else ["libespeak-ng.so.1", ctypes.util.find_library("espeak-ng")]
    for name in names:
        if not name:
            continue
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def _speech_end(samples: array.array, start: int) -> int:
    """Index just past the last non-silent sample at or after `start` (== start when all silent)."""
    i = len(samples)
    while i > start and abs(samples[i - 1]) <= SILENCE_THRESHOLD:
        i -= 1
    return i


def synthesize(request: dict[str, Any]) -> None:
    lib = _load_library()
    if lib is None:
        _fail(
            EXIT_NO_LIBRARY,
            f"cannot load libespeak-ng ({os.environ.get(LIBRARY_ENV) or 'libespeak-ng.so.1'})",
        )
        return
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetSynthCallback.argtypes = [SynthCallback]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]

    sample_rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None, ESPEAK_INITIALIZE_DONT_EXIT)
    if sample_rate <= 0:
        _fail(1, f"espeak_Initialize failed ({sample_rate}); is espeak-ng-data installed?")
    samples = array.array("h")
    events: list[list[int]] = []

    def on_audio(wav: Any, count: int, event_list: Any) -> int:
        if count > 0 and wav:
            samples.frombytes(ctypes.string_at(wav, count * 2))
        i = 0
        while event_list[i].type != ESPEAK_EVENT_LIST_TERMINATED:
            ev = event_list[i]
            if ev.type == ESPEAK_EVENT_WORD:
                events.append([ev.text_position, ev.length, ev.audio_position])
            i += 1
        return 0

    callback = SynthCallback(on_audio)  # must stay referenced while espeak can call it
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(request["voice"].encode()) != EE_OK:
        _fail(EXIT_NO_VOICE, f"espeak-ng voice {request['voice']!r} not found (see `espeak-ng --voices`)")
    lib.espeak_SetParameter(ESPEAK_RATE, int(request["words_per_minute"]), 0)

    pause = array.array("h", bytes(2 * round(float(request["segment_pause"]) * sample_rate)))
    texts: list[str] = request["segments"]
    out_segments = []
    for index, text in enumerate(texts):
        start = len(samples)
        events.clear()
        data = text.encode("utf-8")
        # One utterance per segment: audio_position restarts at 0 for each espeak_Synth call,
        # and ENDPAUSE gives every segment a sentence-final pause.
        err = lib.espeak_Synth(
            data, len(data) + 1, 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8 | ESPEAK_ENDPAUSE, None, None
        )
        if err != EE_OK:
            _fail(1, f"espeak_Synth failed with error {err} on segment {index}")
        speech_end = _speech_end(samples, start)
        if index < len(texts) - 1:
            samples.extend(pause)
        out_segments.append(
            {
                "start": start,
                "speech_end": speech_end,
                "end": len(samples),
                "events": [list(e) for e in events],
            }
        )
    lib.espeak_Terminate()

    with wave.open(request["wav"], "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(samples.tobytes())
    with open(request["timings"], "w", encoding="utf-8") as f:
        json.dump({"sample_rate": sample_rate, "samples": len(samples), "segments": out_segments}, f)


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        _fail(EXIT_BAD_REQUEST, "usage: _espeak_child.py REQUEST_JSON")
    with open(argv[1], encoding="utf-8") as f:
        synthesize(json.load(f))


if __name__ == "__main__":
    main(sys.argv)
