"""A fake Google Cloud Text-to-Speech API (v1beta1 `text:synthesize`), as the real service answers it.

POST /v1beta1/text:synthesize  (key in `?key=` or the `x-goog-api-key` header)
  JSON {input: {ssml | text}, voice: {languageCode, name}, audioConfig: {audioEncoding, sampleRateHertz,
        speakingRate}, enableTimePointing: ["SSML_MARK"]}
  -> 200 {audioContent: base64 WAV (LINEAR16 has a WAV header), timepoints: [{markName, timeSeconds}], audioConfig}
  errors as Google's JSON {"error": {"code", "message", "status", "details"?}}: a missing key is 403
  PERMISSION_DENIED, a wrong key 400 INVALID_ARGUMENT with reason API_KEY_INVALID (as Google does), SSML over
  5000 bytes or malformed 400 INVALID_ARGUMENT.
Speech lasts 0.35 s a word (divided by speakingRate), a tone while a word is spoken, 0.3 s of silence after each
paragraph; a mark's time is when the next word would start.

fake = FakeGoogleTts(); fake.fail_next(Fault(503, google_error(503, "UNAVAILABLE", "try later")))
with serve(fake.app) as base_url: ...  # fake.requests lists what arrived
"""

from __future__ import annotations

import base64
import io
import math
import struct
import wave
import xml.etree.ElementTree as ET
from collections import deque
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.fakes.scripted import Fault, Recorded, scripted_answer

WORD_SECONDS = 0.35
PARAGRAPH_PAUSE_SECONDS = 0.3
TAIL_SECONDS = 0.1
MAX_INPUT_BYTES = 5000
TONE_HZ = 200


def google_error(code: int, status: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return {"error": error}


def speak(ssml: str, rate: float) -> tuple[list[tuple[float, float]], list[tuple[str, float]], float]:
    """(word spans, mark times, duration) of an SSML document; raises ValueError on malformed SSML."""
    root = ET.fromstring(ssml)
    if root.tag != "speak":
        raise ValueError("the root element must be <speak>")
    word = WORD_SECONDS / rate
    spans: list[tuple[float, float]] = []
    marks: list[tuple[str, float]] = []
    now = 0.0

    def say(text: str | None) -> None:
        nonlocal now
        for _ in (text or "").split():
            spans.append((now, now + word))
            now += word

    def walk(element: ET.Element) -> None:
        nonlocal now
        if element.tag == "mark":
            marks.append((element.attrib["name"], round(now, 3)))
        say(element.text)
        for child in element:
            walk(child)
            say(child.tail)
        if element.tag == "p":
            now += PARAGRAPH_PAUSE_SECONDS

    walk(root)
    return spans, marks, now + TAIL_SECONDS


def wav_for(spans: list[tuple[float, float]], duration: float, rate: int) -> bytes:
    """A mono LINEAR16 WAV: a tone for every word span, silence elsewhere."""
    period = rate // TONE_HZ
    tone = b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * i / period))) for i in range(period))
    total = round(duration * rate)
    pcm = bytearray(total * 2)
    for start, end in spans:
        a, b = round(start * rate), min(round(end * rate), total)
        pcm[a * 2 : b * 2] = (tone * ((b - a) // period + 1))[: (b - a) * 2]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(pcm))
    return buffer.getvalue()


class FakeGoogleTts:
    def __init__(self, api_key: str = "AIza-test-key-0123456789") -> None:
        self.api_key = api_key
        self.faults: deque[Fault] = deque()
        self.requests: list[Recorded] = []
        self.app = self._build()

    def fail_next(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1beta1/text:synthesize")
        async def synthesize(request: Request) -> Response:
            try:
                body = await request.json()
            except ValueError:
                body = {}
            self.requests.append(Recorded(request.url.path, dict(request.query_params), dict(request.headers), body))
            if (scripted := await scripted_answer(self.faults)) is not None:
                return scripted
            key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
            if key is None:
                return JSONResponse(
                    google_error(
                        403,
                        "PERMISSION_DENIED",
                        "Method doesn't allow unregistered callers (callers without established identity). "
                        "Please use API Key or other form of API consumer identity to call this API.",
                    ),
                    403,
                )
            if key != self.api_key:
                return JSONResponse(
                    google_error(
                        400,
                        "INVALID_ARGUMENT",
                        "API key not valid. Please pass a valid API key.",
                        [
                            {
                                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                "reason": "API_KEY_INVALID",
                                "domain": "googleapis.com",
                                "metadata": {"service": "texttospeech.googleapis.com"},
                            }
                        ],
                    ),
                    400,
                )
            return self._answer(body)

        return app

    def _answer(self, body: dict[str, Any]) -> Response:
        source = body.get("input") or {}
        voice = body.get("voice") or {}
        config = body.get("audioConfig") or {}
        ssml, text = source.get("ssml"), source.get("text")
        if not voice.get("languageCode"):
            return _invalid("Invalid request: voice.language_code is required.")
        if config.get("audioEncoding") != "LINEAR16":
            return _invalid("This fake answers only audioEncoding LINEAR16.")
        document = ssml if isinstance(ssml, str) else f"<speak>{text}</speak>" if isinstance(text, str) else None
        if document is None:
            return _invalid("Either input.text or input.ssml must be set.")
        if len(document.encode()) > MAX_INPUT_BYTES:
            return _invalid(f"Either `input.text` or `input.ssml` is longer than the limit of {MAX_INPUT_BYTES} bytes.")
        rate = float(config.get("speakingRate") or 1.0)
        try:
            spans, marks, duration = speak(document, rate)
        except (ET.ParseError, ValueError, KeyError):
            return _invalid("Invalid SSML.")
        sample_rate = int(config.get("sampleRateHertz") or 24000)
        timepointing = "SSML_MARK" in (body.get("enableTimePointing") or [])
        return JSONResponse(
            {
                "audioContent": base64.b64encode(wav_for(spans, duration, sample_rate)).decode(),
                "timepoints": [{"markName": n, "timeSeconds": t} for n, t in marks] if timepointing else [],
                "audioConfig": {**config, "sampleRateHertz": sample_rate},
            }
        )


def _invalid(message: str) -> JSONResponse:
    return JSONResponse(google_error(400, "INVALID_ARGUMENT", message), 400)
