"""A fake OpenAI chat-completions API: `POST /v1/chat/completions` with OpenAI's JSON shapes, auth and errors.

    fake = FakeOpenAI(api_key="sk-test")
    fake.push(Scripted.rate_limited(retry_after=7))    # the next request gets a 429; later ones the default
    with serve(fake.app) as base_url:                   # point OPENAI_BASE_URL at f"{base_url}/v1"
        ...
    fake.requests[0].body["response_format"]            # what the client sent

By default it answers with a valid script of `narration_words` spoken words. Token usage is derived from the
request and reply sizes (about 4 characters per token), so tests can check the charge against `usage`.

It also speaks (`POST /v1/audio/speech`, as OpenAI and the servers that copy it: Kokoro-FastAPI, openedai-speech):
real audio made by ffmpeg, WAV (streamed, as OpenAI's is, with unknown sizes in its header) or MP3, at 24 kHz mono.
Each sentence is a sine tone as long as its characters (SECONDS_PER_CHARACTER), sentences are separated by
`sentence_pause_seconds` of silence and, with `comma_pause_seconds`, a sentence also pauses after each comma.
`fake.spoken[n]` holds the (start, end) of every sentence of answer n: the truth the word times are checked against.

    fake = FakeOpenAI(speech_needs_key=False)           # a local server: any key or none
    fake.fail_speech(Fault(500, {...}))                 # the next speech request gets it
    fake.speech_requests[0].body["input"]
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from tests.fakes.scripted import Fault, Recorded, scripted_answer

SPEECH_RATE = 24000  # OpenAI's WAV and PCM are 24 kHz mono
SECONDS_PER_CHARACTER = 0.06  # about 15 characters a second, a narrator's pace
LEAD_SECONDS = 0.05
TAIL_SECONDS = 0.4
TONE_HZ = 220
MAX_INPUT_CHARACTERS = 4096


@dataclass(frozen=True)
class Scripted:
    """One scripted reply: an HTTP error, or a 200 whose body departs from the default in the given ways."""

    status: int = 200
    error: dict[str, Any] | None = None  # OpenAI's {"error": {...}} body for a status >= 400
    headers: dict[str, str] = field(default_factory=dict)
    content: str | None = None  # the message content instead of the generated script
    script: dict[str, Any] | None = None  # a script object instead of the generated one
    words: int | None = None  # generate a script of this many spoken words
    finish_reason: str = "stop"
    refusal: str | None = None
    usage: bool = True
    raw_body: str | None = None  # a non-JSON 200 body (a proxy's HTML page)
    delay_seconds: float = 0.0
    completion_tokens: int | None = None  # usage to report instead of the reply's size (a server past the cap)

    @classmethod
    def rate_limited(cls, retry_after: int = 7) -> Scripted:
        return cls(
            status=429,
            error=_error(
                "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3.",
                "requests",
                "rate_limit_exceeded",
            ),
            headers={"Retry-After": str(retry_after), "x-ratelimit-remaining-requests": "0"},
        )

    @classmethod
    def server_error(cls, status: int = 500) -> Scripted:
        return cls(
            status=status,
            error=_error("The server had an error while processing your request. Sorry about that!", "server_error"),
        )

    @classmethod
    def http_error(cls, status: int, message: str, code: str | None = None) -> Scripted:
        return cls(status=status, error=_error(message, "invalid_request_error", code))


def _error(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: dict[str, Any]


def make_script(words: int, topic: str = "the topic") -> dict[str, Any]:
    """A script object whose hook + segments + call to action have exactly `words` words; each segment is
    `{"text", "visual_terms"}` as SCRIPT_SCHEMA asks."""
    hook = f"Here is what nobody tells you about {topic}."
    cta = "Follow for more facts like this one."
    remaining = max(words - len(hook.split()) - len(cta.split()), 4)
    per_segment = [remaining // 4 + (1 if i < remaining % 4 else 0) for i in range(4)]
    vocabulary = "deep ocean creatures glow bright blue light when they hunt at night far below".split()
    segments = [
        {
            "text": " ".join(vocabulary[(i + j) % len(vocabulary)] for j in range(n)).capitalize() + ".",
            # What the schema asks of each segment: footage search terms, here the segment's first words.
            "visual_terms": [" ".join(vocabulary[(i + j) % len(vocabulary)] for j in range(2))],
        }
        for i, n in enumerate(per_segment)
    ]
    return {
        "title": f"{topic.capitalize()}: what nobody tells you",
        "hook": hook,
        "segments": segments,
        "call_to_action": cta,
        "description": f"A short explainer on {topic}. #facts",
        "tags": [topic, "facts", "explained"],
    }


class FakeOpenAI:
    def __init__(
        self,
        api_key: str = "sk-test-fake-key-0123456789",
        narration_words: int = 150,
        choose: Callable[[dict[str, Any]], Scripted | None] | None = None,
        *,
        speech_needs_key: bool = True,
        sentence_pause_seconds: float = 0.45,
        comma_pause_seconds: float = 0.0,
    ) -> None:
        self.api_key = api_key
        self.narration_words = narration_words
        self.choose = choose  # picks the reply to a request's body when nothing is pushed (None: the default)
        self.requests: list[Received] = []
        self.scripted: deque[Scripted] = deque()
        self.billed_tokens = 0  # prompt + completion tokens of every answer that reported usage
        self.speech_needs_key = speech_needs_key
        self.sentence_pause_seconds = sentence_pause_seconds
        self.comma_pause_seconds = comma_pause_seconds
        self.speech_requests: list[Recorded] = []
        self.speech_faults: deque[Fault] = deque()
        self.spoken: list[list[tuple[float, float]]] = []  # per answer, each sentence's tone
        self.billed_characters = 0  # the input of every speech answer
        self.speech_requested = threading.Event()  # set at the first speech request (the fake runs in its own thread)
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self._chat_completions)
        self.app.post("/v1/audio/speech")(self._speech)

    def push(self, *replies: Scripted) -> None:
        self.scripted.extend(replies)

    def fail_speech(self, *faults: Fault) -> None:
        self.speech_faults.extend(faults)

    async def _speech(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = {}
        self.speech_requests.append(Recorded(request.url.path, dict(request.query_params), dict(request.headers), body))
        self.speech_requested.set()
        if (scripted := await scripted_answer(self.speech_faults)) is not None:
            return scripted
        auth = request.headers.get("authorization")
        if self.speech_needs_key and auth != f"Bearer {self.api_key}":
            presented = (auth or "").removeprefix("Bearer ")
            message = (
                f"Incorrect API key provided: {presented}. You can find your API key at "
                "https://platform.openai.com/account/api-keys."
                if presented
                else "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            return JSONResponse(_error(message, "invalid_request_error", "invalid_api_key"), status_code=401)
        text, fmt = body.get("input"), body.get("response_format", "mp3")
        if not isinstance(body.get("model"), str):
            return JSONResponse(_error("you must provide a model parameter", "invalid_request_error"), 400)
        if not isinstance(body.get("voice"), str):
            return JSONResponse(_error("Missing required parameter: 'voice'.", "invalid_request_error"), 400)
        if not isinstance(text, str) or not text:
            return JSONResponse(_error("Missing required parameter: 'input'.", "invalid_request_error"), 400)
        if len(text) > MAX_INPUT_CHARACTERS:
            message = f"'input' is {len(text)} characters long; at most {MAX_INPUT_CHARACTERS} are allowed"
            return JSONResponse(_error(message, "invalid_request_error", "string_above_max_length", "input"), 400)
        if fmt not in ("wav", "mp3"):
            return JSONResponse(_error(f"this fake speaks wav and mp3, not {fmt!r}", "invalid_request_error"), 400)
        pieces, sentences = speech_pieces(text, self.sentence_pause_seconds, self.comma_pause_seconds)
        audio = await asyncio.to_thread(render_speech, pieces, fmt)
        self.spoken.append(sentences)
        self.billed_characters += len(text)
        media_type = "audio/wav" if fmt == "wav" else "audio/mpeg"
        return Response(audio, media_type=media_type, headers={"x-request-id": f"req_{uuid.uuid4().hex}"})

    async def _chat_completions(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"_raw": raw.decode(errors="replace")}
        self.requests.append(Received(dict(request.headers), body))

        auth = request.headers.get("authorization", "")
        if auth != f"Bearer {self.api_key}":
            presented = auth.removeprefix("Bearer ")
            # Real OpenAI masks most of the presented key; echoing all of it tests our redaction harder.
            return JSONResponse(
                _error(
                    f"Incorrect API key provided: {presented}. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.",
                    "invalid_request_error",
                    "invalid_api_key",
                ),
                status_code=401,
            )
        reply = self.scripted.popleft() if self.scripted else (self.choose and self.choose(body)) or Scripted()
        if reply.delay_seconds:
            await asyncio.sleep(reply.delay_seconds)
        if reply.status >= 400:
            return JSONResponse(reply.error or _error("error", "server_error"), reply.status, headers=reply.headers)
        if reply.raw_body is not None:
            return PlainTextResponse(reply.raw_body, headers=reply.headers)
        problem = _check_request(body)
        if problem:
            return JSONResponse(_error(problem, "invalid_request_error"), status_code=400)
        return JSONResponse(self._completion(body, reply), headers=reply.headers)

    def _completion(self, body: dict[str, Any], reply: Scripted) -> dict[str, Any]:
        content: str | None
        if reply.refusal is not None:
            content = None
        elif reply.content is not None:
            content = reply.content
        else:
            script = reply.script or make_script(reply.words or self.narration_words)
            content = json.dumps(script)
        prompt_chars = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) + len(
            json.dumps(body.get("response_format", {}))
        )
        prompt_tokens = prompt_chars // 4 + 7
        completion_tokens = reply.completion_tokens or len(content or reply.refusal or "") // 4 + 1
        completion: dict[str, Any] = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": f"{body['model']}-2024-07-18",
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": reply.refusal},
                    "logprobs": None,
                    "finish_reason": reply.finish_reason,
                }
            ],
        }
        if reply.usage:
            self.billed_tokens += prompt_tokens + completion_tokens
            completion["usage"] = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
        return completion


def _check_request(body: dict[str, Any]) -> str | None:
    """OpenAI's own 400s for what this fake can check: the fields the request must carry."""
    if not isinstance(body.get("model"), str):
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array"
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = response_format.get("json_schema") or {}
        if not isinstance(schema.get("name"), str) or not isinstance(schema.get("schema"), dict):
            return "Missing required parameter: 'response_format.json_schema.name'."
    return None


def spoken_sentences(text: str) -> list[str]:
    """How the fake reads `text`: a sentence ends at . ! or ? before a space or the end."""
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def speech_pieces(
    text: str, sentence_pause: float, comma_pause: float = 0.0
) -> tuple[list[tuple[bool, float]], list[tuple[float, float]]]:
    """(tone?, seconds) pieces of the audio for `text`, and each sentence's (start, end) in it."""
    pieces: list[tuple[bool, float]] = [(False, LEAD_SECONDS)]
    spans: list[tuple[float, float]] = []
    now = LEAD_SECONDS
    for k, sentence in enumerate(spoken_sentences(text)):
        if k:
            pieces.append((False, sentence_pause))
            now += sentence_pause
        start = now
        clauses = re.split(r"(?<=,)\s+", sentence) if comma_pause else [sentence]
        for c, clause in enumerate(clauses):
            if c:
                pieces.append((False, comma_pause))
                now += comma_pause
            seconds = round(len(clause) * SECONDS_PER_CHARACTER * SPEECH_RATE) / SPEECH_RATE
            pieces.append((True, seconds))
            now += seconds
        spans.append((round(start, 6), round(now, 6)))
    pieces.append((False, TAIL_SECONDS))
    return pieces, spans


def render_speech(pieces: list[tuple[bool, float]], fmt: str) -> bytes:
    """The pieces as one audio file made by ffmpeg: sine tones and silence, concatenated."""
    pieces = [(tone, seconds) for tone, seconds in pieces if seconds > 0]  # atrim=duration=0 would never end
    sources = [
        f"sine=frequency={TONE_HZ}:sample_rate={SPEECH_RATE}:duration={seconds:.6f}[p{i}]"
        if tone
        else f"anullsrc=r={SPEECH_RATE}:cl=mono,atrim=duration={seconds:.6f}[p{i}]"
        for i, (tone, seconds) in enumerate(pieces)
    ]
    joined = "".join(f"[p{i}]" for i in range(len(pieces))) + f"concat=n={len(pieces)}:v=0:a=1[out]"
    codec = ["-c:a", "pcm_s16le"] if fmt == "wav" else ["-c:a", "libmp3lame", "-b:a", "64k"]
    argv = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-filter_complex", ";".join([*sources, joined])]
    argv += ["-map", "[out]", "-ac", "1", *codec, "-f", fmt, "pipe:1"]
    return subprocess.run(argv, capture_output=True, check=True, timeout=60).stdout
