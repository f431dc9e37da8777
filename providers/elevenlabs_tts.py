"""ElevenLabs text-to-speech with character timestamps, through the `elevenlabs` client.

The whole narration goes in one request when it fits (it does for every duration the API accepts): one billable
call, and the voice carries its prosody across segment boundaries instead of restarting at each one. Word times
come from the response's character alignment, and each word keeps the segment it was written in. A narration
longer than one request allows is split between segments, with the neighbouring text sent as context.

Audio is requested as raw 16-bit PCM at 24 kHz (available on every plan): lossless, so the character times line
up with the samples exactly (MP3 would add encoder padding), and ffmpeg resamples it to 48 kHz.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from elevenlabs.client import AsyncElevenLabs
from elevenlabs.core.api_error import ApiError
from elevenlabs.core.parse_error import ParsingError
from elevenlabs.types import VoiceSettings
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core import cost_policy, writing_systems
from core.errors import ErrorType
from core.records import CostLine
from core.settings import Settings
from engines.speech.cloud_audio import (
    CloudSpeech,
    SpokenChunk,
    assemble,
    monotonic_words,
    pack_segments,
    split_by_segment,
    wav_bytes,
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
    never_connected,
    unavailable,
)

PROVIDER = "elevenlabs"
SERVICE = "ElevenLabs"
SETTING = "ELEVENLABS_API_KEY"
OUTPUT_FORMAT = "pcm_24000"
PCM_RATE = 24000
MAX_CHARS_PER_REQUEST = 5000  # within every current model's per-request limit for a paid plan


def variant(settings: Settings, language: str = "en") -> str:
    """Everything besides the text that changes the audio (the cache key's variant; the text carries the language)."""
    return (
        f"{settings.elevenlabs_voice_id}/{settings.elevenlabs_model}/speed={settings.elevenlabs_speed}/{OUTPUT_FORMAT}"
    )


async def synthesize_elevenlabs(
    ctx: ProviderContext, texts: Sequence[str], wav_path: Path, language: str = "en"
) -> CloudSpeech:
    """Speak the normalized `texts` into `wav_path` (mono s16, 48 kHz); the timeline and billed characters.

    The multilingual models speak the language the text is written in; `language` needs no parameter of its own."""
    settings = ctx.settings
    if settings.elevenlabs_api_key is None:
        raise missing_credential(SERVICE, SETTING)
    key = settings.elevenlabs_api_key.get_secret_value()
    try:
        groups = pack_segments(texts, lambda group: len(_joined(texts, group)) <= MAX_CHARS_PER_REQUEST)
    except ValueError as err:
        raise ApplicationError(
            f"{SERVICE}: {err} ({MAX_CHARS_PER_REQUEST} characters); shorten the script's segments",
            type=ErrorType.PROVIDER_REQUEST_INVALID,
            non_retryable=True,
        ) from None
    chunks: list[SpokenChunk] = []
    characters = 0  # billed by answers that arrived
    in_flight = 0  # the request out now, charged until its answer says otherwise
    try:
        async with httpx.AsyncClient(timeout=settings.provider_timeout_seconds) as http:
            client = AsyncElevenLabs(
                api_key=key,
                base_url=settings.elevenlabs_base_url or None,
                timeout=settings.provider_timeout_seconds,
                httpx_client=http,
            )
            for n, group in enumerate(groups):
                if activity.in_activity():
                    activity.heartbeat(f"elevenlabs request {n + 1}/{len(groups)}")
                text = _joined(texts, group)
                previous = _joined(texts, groups[n - 1]) if n > 0 else None
                following = _joined(texts, groups[n + 1]) if n + 1 < len(groups) else None
                # Charged before it leaves (ElevenLabs bills the characters it is sent): a worker lost mid-call, or an
                # answer lost to a timeout, still counts; an error answer takes it back.
                in_flight = len(text)
                await report_billed(_partial(settings, characters, n, in_flight))
                pcm, alignment, billed = await _convert(ctx, client, key, text, previous, following)
                characters, in_flight = characters + billed, 0
                await report_billed(_partial(settings, characters, n + 1))
                words = _word_times(texts, group, alignment, len(pcm) / 2 / PCM_RATE)
                chunks.append(SpokenChunk(wav_bytes(pcm, PCM_RATE), group, words))
        timeline = await assemble(texts, chunks, wav_path)
    except Exception as err:
        rejected = charge_of(err)  # a last answer that was billed, then rejected
        if rejected is not None or is_unbilled(err):
            in_flight = 0  # its bill is known
        if characters or rejected or in_flight or is_unbilled(err):
            # The attempt's final word (a reservation an error answer took back goes down to what was billed).
            billed = characters + (int(rejected.metadata.get("characters", 0)) if rejected else 0)
            attach_charge(err, _partial(settings, billed, len(chunks) + (1 if rejected else 0), in_flight))
        raise
    return CloudSpeech(timeline, characters, len(groups), cost_policy.elevenlabs_usd(settings, characters))


def _partial(settings: Settings, characters: int, requests: int, in_flight: int = 0) -> CostLine:
    return speech_so_far(
        PROVIDER, functools.partial(cost_policy.elevenlabs_usd, settings), characters, requests, in_flight
    )


async def _convert(
    ctx: ProviderContext,
    client: AsyncElevenLabs,
    key: str,
    text: str,
    previous: str | None,
    following: str | None,
) -> tuple[bytes, _Alignment, int]:
    """One billable call: (PCM bytes, character alignment, billed characters)."""
    settings = ctx.settings
    # Fields left out are not sent: only a speed other than 1.0 overrides the voice's stored settings.
    optional: dict[str, Any] = {}
    if settings.elevenlabs_speed != 1.0:
        optional["voice_settings"] = VoiceSettings(speed=settings.elevenlabs_speed)
    if previous is not None:
        optional["previous_text"] = previous
    if following is not None:
        optional["next_text"] = following
    outcome = "ok"
    try:
        response = await client.text_to_speech.with_raw_response.convert_with_timestamps(
            settings.elevenlabs_voice_id,
            text=text,
            model_id=settings.elevenlabs_model,
            output_format=OUTPUT_FORMAT,
            # Temporal's retry policy retries the stage; the client must not retry (and sleep) on its own.
            request_options={"max_retries": 0},
            **optional,
        )
        billed = _billed(response.headers, text)
        try:
            pcm, alignment = _parse(response.data)
        except ApplicationError as err:  # a 200 that is billed even though its body is unusable
            spent = CostLine(
                PROVIDER,
                "text_to_speech_rejected",
                cost_policy.elevenlabs_usd(settings, billed),
                {"characters": billed},
            )
            raise attach_charge(err, spent) from None
        return pcm, alignment, billed
    except ApplicationError as err:
        outcome = err.type or "Error"
        raise
    except ApiError as err:
        status = err.status_code or 0
        if 200 <= status < 300:
            app_err = invalid_response(SERVICE, "the body is not JSON")
        else:
            body = err.body if isinstance(err.body, str) else json.dumps(err.body, default=str)
            app_err = mark_unbilled(
                http_error(SERVICE, status, setting=SETTING, headers=err.headers, body=body, secrets=[key])
            )
        outcome = app_err.type or "Error"
        raise app_err from None  # the original carries the response headers and body: keep it out of payloads
    except ParsingError:
        outcome = "ProviderResponseInvalid"
        raise invalid_response(SERVICE, "the body does not match the documented schema") from None
    except (httpx.TimeoutException, httpx.TransportError) as err:
        app_err = unavailable(SERVICE, err, secrets=[key])
        if never_connected(err):
            mark_unbilled(app_err)
        outcome = app_err.type or "Error"
        raise app_err from None
    finally:
        ctx.metrics.provider_calls.labels(PROVIDER, outcome).inc()


@dataclass(frozen=True)
class _Alignment:
    characters: list[str]
    starts: list[float]
    ends: list[float]


def _parse(data: Any) -> tuple[bytes, _Alignment]:
    """PCM and the character alignment of a with-timestamps response, or ProviderResponseInvalid."""
    audio = getattr(data, "audio_base_64", None)
    if not isinstance(audio, str) or not audio:
        raise invalid_response(SERVICE, "no audio_base64")
    try:
        pcm = base64.b64decode(audio, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_response(SERVICE, "audio_base64 is not base64") from None
    if not pcm or len(pcm) % 2:
        raise invalid_response(SERVICE, f"{len(pcm)} bytes of audio is not 16-bit PCM")
    model = getattr(data, "alignment", None) or getattr(data, "normalized_alignment", None)
    characters = getattr(model, "characters", None)
    starts = getattr(model, "character_start_times_seconds", None)
    ends = getattr(model, "character_end_times_seconds", None)
    if not (isinstance(characters, list) and isinstance(starts, list) and isinstance(ends, list)) or not (
        0 < len(characters) == len(starts) == len(ends)
    ):
        raise invalid_response(SERVICE, "no character alignment")
    if not all(isinstance(c, str) for c in characters) or not all(_is_time(t) for t in [*starts, *ends]):
        raise invalid_response(SERVICE, "the character alignment holds non-numeric times")
    return pcm, _Alignment(characters, [float(t) for t in starts], [float(t) for t in ends])


def _is_time(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _billed(headers: dict[str, str], text: str) -> int:
    """Characters charged: the API's `character-cost` header when it sends one, else the length of the text."""
    value = next((v for k, v in headers.items() if k.lower() == "character-cost"), None)
    try:
        return max(0, int(value)) if value is not None else len(text)
    except ValueError:
        return len(text)


def _joined(texts: Sequence[str], group: Sequence[int]) -> str:
    return " ".join(texts[i] for i in group)


def _word_times(
    texts: Sequence[str], group: Sequence[int], alignment: _Alignment, duration: float
) -> list[list[tuple[float, float]]]:
    """(start, end) of every word of the group's segments, from the times of the characters it is written with."""
    text = _joined(texts, group)
    owner = _character_owner(text, alignment.characters)
    starts, ends = alignment.starts, alignment.ends
    spans: list[tuple[float, float] | None] = []
    sizes: list[int] = []
    position = 0
    for segment in group:
        tokens = writing_systems.word_spans(texts[segment])
        sizes.append(len(tokens))
        for at, word in tokens:
            indexes = [k for k in owner[position + at : position + at + len(word)] if k is not None]
            spans.append((starts[min(indexes)], ends[max(indexes)]) if indexes else None)
        position += len(texts[segment]) + 1
    return split_by_segment(monotonic_words(spans, duration), sizes)


def _character_owner(text: str, characters: Sequence[str]) -> list[int | None]:
    """For each position of `text`, the index of the alignment entry that speaks it (None: not aligned).

    The alignment usually spells the request text exactly; where it does not (normalization, a dropped
    character), the longest common blocks of the two spellings line them up.
    """
    spelled = "".join(characters)
    entry = [k for k, c in enumerate(characters) for _ in c]
    if spelled == text:
        return list(entry)
    owner: list[int | None] = [None] * len(text)
    for a, b, size in difflib.SequenceMatcher(None, text, spelled, autojunk=False).get_matching_blocks():
        for j in range(size):
            owner[a + j] = entry[b + j]
    return owner
