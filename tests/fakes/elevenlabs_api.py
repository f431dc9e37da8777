"""A fake ElevenLabs API: text-to-speech with character timestamps, as the real service answers it.

POST /v1/text-to-speech/{voice_id}/with-timestamps?output_format=pcm_<rate>
  header xi-api-key; JSON {text, model_id, voice_settings?, previous_text?, next_text?, ...}
  -> 200 {audio_base64, alignment, normalized_alignment} with a `character-cost` header; errors as
     {"detail": {"status": ..., "message": ...}} (422: FastAPI-style validation detail).
The audio is real PCM (s16le, mono) of a plausible length: a tone while a word is spoken (0.35 s a word),
silence between words and a longer pause after a sentence, and the character times say exactly that.
Only the pcm_* output formats are spoken here; the real API also sends MP3, which the pipeline does not ask for.

fake = FakeElevenLabs(); fake.fail_next(Fault(429, headers={"Retry-After": "7"}))
with serve(fake.app) as base_url: ...  # fake.requests lists what arrived
"""

from __future__ import annotations

import base64
import math
import re
import struct
import threading
import uuid
from collections import deque

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.fakes.scripted import Fault, Recorded, scripted_answer

WORD_SECONDS = 0.35
GAP_SECONDS = 0.05
SENTENCE_PAUSE_SECONDS = 0.25
TAIL_SECONDS = 0.15
TONE_HZ = 200


def character_times(text: str) -> tuple[list[float], list[float], float]:
    """Start and end of every character of `text`, and the length of the audio that speaks it."""
    starts: list[float] = []
    ends: list[float] = []
    now = 0.0
    for match in re.finditer(r"\S+|\s+", text):
        chunk = match.group()
        if chunk.isspace():
            pause = GAP_SECONDS + (SENTENCE_PAUSE_SECONDS if starts and text[match.start() - 1] in ".!?" else 0.0)
            per = pause / len(chunk)
        else:
            per = WORD_SECONDS / len(chunk)
        for _ in chunk:
            starts.append(round(now, 3))
            now += per
            ends.append(round(now, 3))
    return starts, ends, now + TAIL_SECONDS


def pcm_for(text: str, starts: list[float], ends: list[float], duration: float, rate: int) -> bytes:
    """s16le mono PCM: a tone under every non-space character, silence elsewhere."""
    period = rate // TONE_HZ
    tone = b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * i / period))) for i in range(period))
    total = round(duration * rate)
    audio = bytearray(total * 2)
    for ch, start, end in zip(text, starts, ends, strict=True):
        if ch.isspace():
            continue
        a, b = round(start * rate), min(round(end * rate), total)
        if b > a:
            audio[a * 2 : b * 2] = (tone * ((b - a) // period + 1))[: (b - a) * 2]
    return bytes(audio)


class FakeElevenLabs:
    def __init__(self, api_key: str = "el-test-key-0123456789") -> None:
        self.api_key = api_key
        self.faults: deque[Fault] = deque()
        self.requests: list[Recorded] = []
        self.billed_characters = 0  # the `character-cost` of every answer
        self.requested = threading.Event()  # set at the first request (the fake serves from a thread of its own)
        self.app = self._build()

    def fail_next(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/text-to-speech/{voice_id}/with-timestamps")
        async def with_timestamps(voice_id: str, request: Request) -> Response:
            try:
                body = await request.json()
            except ValueError:
                body = {}
            self.requests.append(Recorded(request.url.path, dict(request.query_params), dict(request.headers), body))
            self.requested.set()
            if (scripted := await scripted_answer(self.faults)) is not None:
                return scripted
            key = request.headers.get("xi-api-key")
            if key != self.api_key:
                status = "needs_authorization" if key is None else "invalid_api_key"
                return JSONResponse({"detail": {"status": status, "message": "Invalid API key"}}, 401)
            output_format = request.query_params.get("output_format", "mp3_44100_128")
            rate_match = re.fullmatch(r"pcm_(\d+)", output_format)
            text = body.get("text") if isinstance(body, dict) else None
            if not isinstance(text, str) or not text.strip():
                return _invalid(["body", "text"], "Field required")
            if rate_match is None:
                return _invalid(["query", "output_format"], f"this fake speaks only pcm_*, not {output_format}")
            rate = int(rate_match.group(1))
            starts, ends, duration = character_times(text)
            pcm = pcm_for(text, starts, ends, duration, rate)
            self.billed_characters += len(text)
            alignment = {
                "characters": list(text),
                "character_start_times_seconds": starts,
                "character_end_times_seconds": ends,
            }
            return JSONResponse(
                {
                    "audio_base64": base64.b64encode(pcm).decode(),
                    "alignment": alignment,
                    "normalized_alignment": alignment,
                },
                headers={"character-cost": str(len(text)), "request-id": uuid.uuid4().hex},
            )

        return app


def _invalid(loc: list[str], message: str) -> JSONResponse:
    return JSONResponse({"detail": [{"loc": loc, "msg": message, "type": "value_error"}]}, 422)
