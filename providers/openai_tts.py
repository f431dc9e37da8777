"""Speech from OpenAI's TTS models or any server speaking the same protocol (`POST /v1/audio/speech`: Kokoro-FastAPI,
openedai-speech, a gateway), through the `openai` client.

A request takes at most 4096 characters, so the narration goes in as few requests as fit: whole segments where they
fit, a segment too long for one request split between its sentences. The answer is audio only (WAV or MP3, as
asked), with no timing: ffmpeg decodes it to 48 kHz and lists its pauses, and engines/speech/silence_timing.py times
the words from them (sentences at the pauses, words spread inside by characters). The requests' audio is joined
sample-exactly, as every cloud voice's is.

Charged per input character at the model's price from a table (a model missing from it, such as a local server's,
at a configurable price, 0 by default), written ahead before each request as the other voices' are.
"""

from __future__ import annotations

import functools
import logging
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core import cost_policy
from core.errors import ErrorType
from core.records import CostLine
from core.settings import OPENAI_BASE_URL, Settings
from engines.speech.cloud_audio import SAMPLE_RATE, CloudSpeech, SpokenChunk, assemble, wav_bytes
from engines.speech.espeak import SpeechSynthesisError
from engines.speech.silence_timing import decode_with_silences, parse_silences, sentences_of, time_sentences
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

log = logging.getLogger(__name__)

PROVIDER = "openai"
METRIC_LABEL = "openai_tts"  # the script's calls count as "openai"
SERVICE = "OpenAI speech"
KEY_SETTING = "YTEMPIRE_OPENAI_TTS_API_KEY (or OPENAI_API_KEY)"
MAX_CHARS_PER_REQUEST = 4096  # the API's limit on `input`
MAX_AUDIO_BYTES = 200_000_000  # far beyond 4096 characters of 48 kHz stereo WAV: a server streaming without end
_NO_KEY_PLACEHOLDER = "no-key"  # the client insists on a key; the request then omits the Authorization header


@dataclass(frozen=True)
class Sentence:
    segment: int
    text: str
    closes_segment: bool


@dataclass(frozen=True)
class Request:
    sentences: list[Sentence]

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)


@dataclass(frozen=True)
class _Answer:
    pcm: bytes  # mono s16 at SAMPLE_RATE
    words: list[list[tuple[float, float]]]  # per sentence of its request
    method: str


def base_url(settings: Settings) -> str:
    return (settings.openai_tts_base_url or OPENAI_BASE_URL).rstrip("/")


def variant(settings: Settings, language: str = "en") -> str:
    """Everything besides the text that changes the audio (the cache key's variant): another server may give the
    same model and voice names to another voice."""
    return (
        f"{settings.openai_tts_model}/{settings.openai_tts_voice}/{settings.openai_tts_response_format}"
        f"@{base_url(settings)}"
    )


def plan_requests(texts: Sequence[str], limit: int) -> list[Request]:
    """The narration packed into as few requests of at most `limit` characters as fit, split between segments, and
    between the sentences of a segment too long for one request. ValueError: a sentence alone is too long."""
    requests: list[list[Sentence]] = []
    size = 0

    def add(pieces: list[Sentence], length: int) -> None:
        nonlocal size
        if requests and requests[-1] and size + 1 + length <= limit:
            requests[-1].extend(pieces)
            size += 1 + length
        else:
            requests.append(list(pieces))
            size = length

    for index, text in enumerate(texts):
        parts = sentences_of(text)
        sentences = [Sentence(index, s, k == len(parts) - 1) for k, s in enumerate(parts)]
        if len(text) <= limit:
            add(sentences, len(text))
            continue
        for sentence in sentences:
            if len(sentence.text) > limit:
                raise ValueError(f"a sentence of narration segment {index + 1} is longer than one request allows")
            add([sentence], len(sentence.text))
    return [Request(r) for r in requests]


async def synthesize_openai(
    ctx: ProviderContext, texts: Sequence[str], wav_path: Path, language: str = "en"
) -> CloudSpeech:
    """Speak the normalized `texts` into `wav_path` (mono s16, 48 kHz); the timeline and billed characters.

    The language is the text's own: OpenAI's voices, and most compatible servers' multilingual ones, read it as
    written."""
    settings = ctx.settings
    key = settings.openai_tts_key
    if key is None and settings.openai_tts_base_url is None:
        raise missing_credential(SERVICE, KEY_SETTING)
    try:
        requests = plan_requests(texts, MAX_CHARS_PER_REQUEST)
    except ValueError as err:
        raise ApplicationError(
            f"{SERVICE}: {err} ({MAX_CHARS_PER_REQUEST} characters); shorten the script's sentences",
            type=ErrorType.PROVIDER_REQUEST_INVALID,
            non_retryable=True,
        ) from None
    _warn_unpriced(settings)
    secret = key.get_secret_value() if key is not None else None
    answers: list[_Answer] = []
    characters = 0  # billed by answers that arrived
    answered = 0
    in_flight = 0  # the request out now, charged until its answer says otherwise
    wav_path = Path(wav_path)
    wav_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix=".openai-speech-", dir=wav_path.parent) as tmp:
            client = openai.AsyncOpenAI(
                api_key=secret or _NO_KEY_PLACEHOLDER,
                base_url=base_url(settings),  # explicit: the client would otherwise read OPENAI_BASE_URL (the script's)
                max_retries=0,  # Temporal's retry policy is the one retrying
                timeout=settings.provider_timeout_seconds,
            )
            async with client:
                for n, request in enumerate(requests):
                    if activity.in_activity():
                        activity.heartbeat(f"openai speech request {n + 1}/{len(requests)}")
                    # Charged before it leaves (the API bills the characters it is sent): a worker lost mid-call, or
                    # an answer lost to a timeout, still counts; an error answer takes it back.
                    in_flight = len(request.text)
                    await report_billed(_partial(settings, characters, n, in_flight))
                    outcome = "ok"
                    try:
                        audio = await _speak(client, settings, secret, request.text)
                        characters, in_flight, answered = characters + in_flight, 0, answered + 1
                        await report_billed(_partial(settings, characters, answered))
                        answers.append(await _timed(audio, request, Path(tmp) / f"answer{n}"))
                    except ApplicationError as err:
                        outcome = err.type or "Error"
                        raise
                    finally:
                        ctx.metrics.provider_calls.labels(METRIC_LABEL, outcome).inc()
        timeline = await assemble(texts, _chunks(requests, answers), wav_path)
    except Exception as err:
        if is_unbilled(err):
            in_flight = 0
        if (characters or in_flight or is_unbilled(err)) and charge_of(err) is None:
            attach_charge(err, _partial(settings, characters, answered, in_flight))  # the attempt's final word
        raise
    methods = sorted({a.method for a in answers})
    return CloudSpeech(
        timeline,
        characters,
        len(requests),
        cost_policy.openai_tts_usd(settings, characters),
        word_times="+".join(methods),
    )


def _partial(settings: Settings, characters: int, requests: int, in_flight: int = 0) -> CostLine:
    return speech_so_far(
        PROVIDER, functools.partial(cost_policy.openai_tts_usd, settings), characters, requests, in_flight
    )


_warned_unpriced: set[str] = set()


def _warn_unpriced(settings: Settings) -> None:
    model = settings.openai_tts_model
    if settings.openai_tts_base_url is None and model not in settings.openai_tts_usd_per_1m_chars:
        if model not in _warned_unpriced:
            _warned_unpriced.add(model)
            log.warning(
                "the speech model %r has no price in YTEMPIRE_OPENAI_TTS_USD_PER_1M_CHARS; it is charged at "
                "YTEMPIRE_OPENAI_TTS_UNLISTED_USD_PER_1M_CHARS (%s): add it to the table",
                model,
                settings.openai_tts_unlisted_usd_per_1m_chars,
            )


async def _speak(client: openai.AsyncOpenAI, settings: Settings, secret: str | None, text: str) -> bytes:
    """One billable call: the audio bytes. Every failure leaves as a typed, redacted ApplicationError (without its
    cause, whose text may quote the key)."""
    error: ApplicationError | None = None
    try:
        async with client.audio.speech.with_streaming_response.create(
            model=settings.openai_tts_model,
            voice=settings.openai_tts_voice,
            input=text,
            response_format=settings.openai_tts_response_format,
            # A server that needs no key (a local one) is sent none rather than a placeholder.
            extra_headers=None if secret else {"Authorization": openai.Omit()},
        ) as response:
            audio = bytearray()
            async for block in response.iter_bytes():
                audio += block
                if len(audio) > MAX_AUDIO_BYTES:
                    raise invalid_response(SERVICE, f"more than {MAX_AUDIO_BYTES} bytes of audio")
            return bytes(audio)
    except openai.APIStatusError as err:
        error = mark_unbilled(
            http_error(
                SERVICE,
                err.status_code,
                setting=KEY_SETTING,
                headers=dict(err.response.headers),
                body=_error_body(err),
                secrets=[secret],
            )
        )
    except openai.APIConnectionError as err:  # includes APITimeoutError
        error = unavailable(SERVICE, err, [secret])
        if never_connected(err):
            mark_unbilled(error)
    except openai.OpenAIError as err:
        error = unavailable(SERVICE, err, [secret])
    raise error


def _error_body(err: openai.APIStatusError) -> str:
    try:
        return err.response.text
    except httpx.ResponseNotRead:  # the client reads a streamed error's body before raising; should it ever not
        return str(err.message)


async def _timed(audio: bytes, request: Request, stem: Path) -> _Answer:
    """The answer decoded to mono s16 at 48 kHz with its words timed; ProviderResponseInvalid when it does not decode
    (retried by the stage, as many times as its retry policy allows)."""
    if not audio:
        raise invalid_response(SERVICE, "no audio in the answer")
    source, decoded = stem.with_suffix(".src"), stem.with_suffix(".wav")
    source.write_bytes(audio)
    try:
        log_text = await decode_with_silences(source, decoded, SAMPLE_RATE)
        with wave.open(str(decoded), "rb") as w:
            pcm = w.readframes(w.getnframes())
    except (SpeechSynthesisError, wave.Error, EOFError):
        head = audio[:16].hex()
        raise invalid_response(SERVICE, f"the audio does not decode ({len(audio)} bytes starting {head})") from None
    duration = len(pcm) / 2 / SAMPLE_RATE
    if duration <= 0:
        raise invalid_response(SERVICE, "the audio decodes to nothing")
    timed = time_sentences([s.text for s in request.sentences], parse_silences(log_text, duration), duration)
    return _Answer(pcm, timed.words, timed.method)


def _chunks(requests: Sequence[Request], answers: Sequence[_Answer]) -> list[SpokenChunk]:
    """The answers as chunks of whole segments: the answers of a segment split between requests are joined first."""
    chunks: list[SpokenChunk] = []
    pcm = bytearray()
    words: dict[int, list[tuple[float, float]]] = {}
    for request, answer in zip(requests, answers, strict=True):
        offset = len(pcm) / 2 / SAMPLE_RATE
        pcm += answer.pcm
        for sentence, times in zip(request.sentences, answer.words, strict=True):
            words.setdefault(sentence.segment, []).extend((offset + a, offset + b) for a, b in times)
        if request.sentences[-1].closes_segment:
            segments = sorted(words)
            chunks.append(SpokenChunk(wav_bytes(bytes(pcm), SAMPLE_RATE), segments, [words[i] for i in segments]))
            pcm, words = bytearray(), {}
    return chunks
