"""Google Cloud Text-to-Speech (`text:synthesize`, v1beta1) through `google-api-python-client`.

The client is built from the discovery document shipped inside the package (no network at import or build).
Word times come from SSML marks: a `<mark name="w{i}"/>` before every word and one after each segment's last
word, with `enableTimePointing: ["SSML_MARK"]` (v1beta1 only); the response's timepoints say when each mark was
reached. Each segment is an SSML paragraph, so the voice pauses between segments as a reader would. A request
takes at most 5000 bytes of SSML, so the narration goes in as few requests as fit, split between segments.

The API key travels in the `x-goog-api-key` header rather than as `developerKey`: the client puts a developer
key in the URL's query, and logs that URL at debug level and quotes it in its HttpError.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import io
import json
import math
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httplib2
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core import cost_policy, writing_systems
from core.errors import ErrorType
from core.languages import DEFAULT_LANGUAGE, google_voice
from core.records import CostLine
from core.settings import Settings
from engines.speech.cloud_audio import (
    SAMPLE_RATE,
    CloudSpeech,
    SpokenChunk,
    assemble,
    fill_gaps,
    monotonic_words,
    pack_segments,
    split_by_segment,
)
from providers.billing import report_billed, speech_so_far
from providers.context import ProviderContext
from providers.errors import (
    attach_charge,
    charge_of,
    http_error,
    invalid_response,
    is_unbilled,
    mark_unbilled,
    missing_credential,
    unavailable,
)

PROVIDER = "google"
SERVICE = "Google Text-to-Speech"
SETTING = "GOOGLE_API_KEY"
MAX_SSML_BYTES = 5000  # the API's limit on one request's input
DEFAULT_ENDPOINT = "https://texttospeech.googleapis.com/"


def voice(settings: Settings, language: str) -> dict[str, str]:
    return google_voice(language, settings.google_tts_language, settings.google_tts_voice)


def variant(settings: Settings, language: str = DEFAULT_LANGUAGE) -> str:
    """Everything besides the text that changes the audio (the cache key's variant)."""
    spoken = voice(settings, language)
    return f"{spoken.get('name', '')}/{spoken['languageCode']}/rate={settings.google_tts_speaking_rate}"


def ssml(texts: Sequence[str], group: Sequence[int]) -> str:
    """The SSML of one request: a paragraph per segment, a mark before every word and after each paragraph."""
    paragraphs = []
    word = 0
    for k, segment in enumerate(group):
        marked = ""
        tokens = writing_systems.words(texts[segment])
        for i, token in enumerate(tokens):
            if i:
                marked += writing_systems.separator(tokens[i - 1], token)
            marked += f'<mark name="w{word}"/>{escape(token)}'
            word += 1
        paragraphs.append(f'<p>{marked}<mark name="e{k}"/></p>')
    return f"<speak>{''.join(paragraphs)}</speak>"


def billed_characters(texts: Sequence[str], group: Sequence[int]) -> int:
    """Characters Google bills for a request: the spoken text (marks are not billed)."""
    return len(" ".join(texts[i] for i in group))


async def synthesize_google(
    ctx: ProviderContext, texts: Sequence[str], wav_path: Path, language: str = DEFAULT_LANGUAGE
) -> CloudSpeech:
    """Speak the normalized `texts` into `wav_path` (mono s16, 48 kHz); the timeline and billed characters."""
    settings = ctx.settings
    if settings.google_api_key is None:
        raise missing_credential(SERVICE, SETTING)
    key = settings.google_api_key.get_secret_value()
    try:
        groups = pack_segments(texts, lambda group: len(ssml(texts, group).encode()) <= MAX_SSML_BYTES)
    except ValueError as err:
        raise ApplicationError(
            f"{SERVICE}: {err} ({MAX_SSML_BYTES} bytes of SSML); shorten the script's segments",
            type=ErrorType.PROVIDER_REQUEST_INVALID,
            non_retryable=True,
        ) from None
    service = await asyncio.to_thread(_service, settings)
    chunks: list[SpokenChunk] = []
    characters = 0  # billed by answers that arrived
    in_flight = 0  # the request out now, charged until its answer says otherwise
    try:
        for n, group in enumerate(groups):
            if activity.in_activity():
                activity.heartbeat(f"google tts request {n + 1}/{len(groups)}")
            # Charged before it leaves: a worker lost mid-call, or an answer lost to a timeout, still counts; an
            # error answer takes it back.
            in_flight = billed_characters(texts, group)
            await report_billed(_partial(settings, characters, n, in_flight))
            wav, timepoints = await _synthesize(ctx, service, key, ssml(texts, group), voice(settings, language))
            characters, in_flight = characters + in_flight, 0
            await report_billed(_partial(settings, characters, n + 1))
            chunks.append(SpokenChunk(wav, list(group), _word_times(texts, group, timepoints, _duration(wav))))
        timeline = await assemble(texts, chunks, wav_path)
    except Exception as err:
        if is_unbilled(err):
            in_flight = 0
        if (characters or in_flight or is_unbilled(err)) and charge_of(err) is None:
            attach_charge(err, _partial(settings, characters, len(chunks), in_flight))  # the attempt's final word
        raise
    return CloudSpeech(timeline, characters, len(groups), cost_policy.google_tts_usd(settings, characters))


def _service(settings: Settings) -> Any:
    endpoint = settings.google_tts_base_url or DEFAULT_ENDPOINT
    return build(
        "texttospeech",
        "v1beta1",
        http=httplib2.Http(timeout=settings.provider_timeout_seconds),
        static_discovery=True,
        cache_discovery=False,
        # The client joins paths onto the endpoint as a URL reference: without the slash a path prefix is lost.
        client_options={"api_endpoint": endpoint.rstrip("/") + "/"},
    )


def _partial(settings: Settings, characters: int, requests: int, in_flight: int = 0) -> CostLine:
    return speech_so_far(
        PROVIDER, functools.partial(cost_policy.google_tts_usd, settings), characters, requests, in_flight
    )


async def _synthesize(
    ctx: ProviderContext, service: Any, key: str, markup: str, spoken: dict[str, str]
) -> tuple[bytes, dict[str, float]]:
    """One billable call: (WAV bytes, mark name -> seconds)."""
    settings = ctx.settings
    body = {
        "input": {"ssml": markup},
        "voice": spoken,
        "audioConfig": {
            "audioEncoding": "LINEAR16",
            "sampleRateHertz": SAMPLE_RATE,
            "speakingRate": settings.google_tts_speaking_rate,
        },
        "enableTimePointing": ["SSML_MARK"],
    }
    request = service.text().synthesize(body=body)
    request.headers["x-goog-api-key"] = key
    outcome = "ok"
    try:
        # num_retries=0: Temporal's retry policy is the one that retries.
        response = await asyncio.to_thread(request.execute, num_retries=0)
        return _parse(response)
    except ApplicationError as err:
        outcome = err.type or "Error"
        raise
    except HttpError as err:
        app_err = mark_unbilled(_http_failure(err, key))
        outcome = app_err.type or "Error"
        raise app_err from None  # the original quotes the request URL and the response body
    except ValueError:
        outcome = "ProviderResponseInvalid"
        raise invalid_response(SERVICE, "the body is not JSON") from None
    except (OSError, httplib2.HttpLib2Error) as err:  # timeouts, refused or dropped connections
        app_err = unavailable(SERVICE, err, secrets=[key])
        if isinstance(err, ConnectionRefusedError):  # the request never reached Google
            mark_unbilled(app_err)
        outcome = app_err.type or "Error"
        raise app_err from None
    finally:
        ctx.metrics.provider_calls.labels(PROVIDER, outcome).inc()


def _http_failure(err: HttpError, key: str) -> ApplicationError:
    status = int(err.resp.status)
    content = err.content.decode("utf-8", "replace") if isinstance(err.content, bytes) else str(err.content)
    if status == 400 and _reason(content) == "API_KEY_INVALID":
        # Google answers a wrong API key with 400 INVALID_ARGUMENT, not 401: it is still the key to fix.
        return ApplicationError(
            f"{SERVICE} refused the credentials (HTTP 400 API_KEY_INVALID): check {SETTING}",
            {"service": SERVICE, "status": status, "setting": SETTING},
            type=ErrorType.PROVIDER_AUTH_FAILED,
            non_retryable=True,
        )
    return http_error(SERVICE, status, setting=SETTING, headers=dict(err.resp), body=content, secrets=[key])


def _reason(content: str) -> str | None:
    """The ErrorInfo reason of a Google error body ({"error": {"details": [{"reason": ...}]}}), if any."""
    try:
        details = json.loads(content)["error"].get("details") or []
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    reasons = [d.get("reason") for d in details if isinstance(d, dict) and isinstance(d.get("reason"), str)]
    return reasons[0] if reasons else None


def _parse(response: Any) -> tuple[bytes, dict[str, float]]:
    """The WAV and the mark times of a synthesize response, or ProviderResponseInvalid."""
    if not isinstance(response, dict):
        raise invalid_response(SERVICE, "the body is not a JSON object")
    audio = response.get("audioContent")
    if not isinstance(audio, str) or not audio:
        raise invalid_response(SERVICE, "no audioContent")
    try:
        wav = base64.b64decode(audio, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_response(SERVICE, "audioContent is not base64") from None
    try:
        _duration(wav)
    except (wave.Error, EOFError):
        raise invalid_response(SERVICE, "audioContent is not a LINEAR16 WAV") from None
    points = response.get("timepoints")
    if not isinstance(points, list) or not points:
        raise invalid_response(SERVICE, "no timepoints: does the voice support SSML marks?")
    marks: dict[str, float] = {}
    for point in points:
        name = point.get("markName") if isinstance(point, dict) else None
        seconds = point.get("timeSeconds", 0.0) if isinstance(point, dict) else None  # proto3 omits a zero
        if not isinstance(name, str) or not _is_time(seconds):
            raise invalid_response(SERVICE, f"a malformed timepoint {json.dumps(point, default=str)[:80]}")
        marks[name] = float(seconds)  # type: ignore[arg-type]
    return wav, marks


def _is_time(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _duration(wav: bytes) -> float:
    with wave.open(io.BytesIO(wav), "rb") as w:
        if w.getsampwidth() != 2 or w.getframerate() <= 0:
            raise wave.Error("not 16-bit PCM")
        return w.getnframes() / w.getframerate()


def _word_times(
    texts: Sequence[str], group: Sequence[int], marks: dict[str, float], duration: float
) -> list[list[tuple[float, float]]]:
    """(start, end) of every word: from its own mark to the next word's mark (or its paragraph's end mark).

    A mark the service left out is placed evenly between the marks around it.
    """
    sizes = [len(writing_systems.words(texts[segment])) for segment in group]
    total = sum(sizes)
    starts = fill_gaps([marks.get(f"w{i}") for i in range(total)], 0.0, duration)
    spans: list[tuple[float, float] | None] = []
    word = 0
    for k, size in enumerate(sizes):
        last = word + size - 1
        paragraph_end = marks.get(f"e{k}")
        if paragraph_end is None:
            paragraph_end = starts[last + 1] if last + 1 < total else duration
        for i in range(word, last + 1):
            spans.append((starts[i], starts[i + 1] if i < last else paragraph_end))
        word = last + 1
    return split_by_segment(monotonic_words(spans, duration), sizes)
