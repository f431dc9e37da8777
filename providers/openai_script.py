"""script_generation with an OpenAI-compatible chat model (OpenAI, Azure-compatible gateways, Ollama, llama.cpp's
server, vLLM).

One chat completion per script, answered in a strict JSON schema (title, hook, segments each with its text and
the visual search terms of the footage to show under it, call_to_action, description, tags) and parsed into the
same `Script` the template writer makes. A server that honours JSON mode but not strict schemas is asked with
`response_format: json_object` instead, the schema's shape spelled out in the prompt: at once when its error answer
names json_schema (llama.cpp builds answer 'response_format type must be one of "text" or "json_object", but got:
json_schema'), and from the start with YTEMPIRE_OPENAI_RESPONSE_FORMAT=json_object (needed for one that ignores the
schema). What we accept:

- the body is a chat completion with `usage` (without token counts the call cannot be charged, so it is rejected,
  except from a local server: below); a body that is not JSON, or JSON outside the schema, is
  `ProviderResponseInvalid` (retryable, never passed on). The JSON may come inside a ```json fence; in JSON mode keys
  outside the schema are dropped and a segment without visual terms gets derived ones;
- `finish_reason == "length"` (cut off at the token cap) is `ProviderResponseInvalid` with the cap in the message;
  a refusal or a content filter stop is `ScriptRefused` (non-retryable: the same topic is refused again);
- content: no blank field or segment, 1..12 segments, and narration (hook + segments + call to action) between
  65 % and 130 % of the target words (2.5 words per second). The upper bound is the cost model's allowance for
  narration beyond the target, so the later stages' estimates stay upper bounds; the lower one is loose because
  models undershoot. A miss is `ScriptContentInvalid`, retryable (the next sample usually fits), with the counts;
- a segment given as a plain string (servers that honour JSON mode but not the schema) is taken, its search terms
  derived from its words as the template writer does; so are a segment's terms when the model leaves them blank.

Cost: usage.prompt_tokens x input price + usage.completion_tokens x output price, USD per 1M tokens from
`openai_prices_per_million_tokens`; a model missing there is charged the table's highest input and output prices.

A local server (YTEMPIRE_OPENAI_LOCAL=true: Ollama, llama.cpp's server or vLLM on your own GPU) is charged its
compute instead, `openai_local_usd_per_million_tokens` ($0 by default), needs no key, and may leave out the token
counts (or send zeros): then the prompt's byte bound and the answer's bytes are charged, each at least its tokens.
Being local is checked, not taken on trust: each call first resolves the base URL's host, and a call to anything
but this machine or a private network is refused (InvalidConfiguration), so the flag cannot zero the charges of
OpenAI's API or any other public server.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONObject, ResponseFormatJSONSchema
from openai.types.shared_params.response_format_json_schema import JSONSchema
from pydantic import BaseModel, ConfigDict, ValidationError
from temporalio.exceptions import ApplicationError

from core import cost_policy, writing_systems
from core.cost_policy import WORDS_PER_SECOND
from core.destinations import private_server_refusal_now
from core.domain import Complexity, VideoRequest
from core.errors import ErrorType
from core.records import CostLine, StageOutcome
from core.settings import OPENAI_BASE_URL, ResponseFormat, Settings
from engines.files import link_or_copy
from engines.script.visual_terms import visual_terms
from engines.script.writer import Script
from providers.billing import report_billed
from providers.cache import cache_key
from providers.context import ProviderContext
from providers.errors import (
    attach_charge,
    http_error,
    invalid_response,
    is_unbilled,
    mark_unbilled,
    missing_credential,
    never_connected,
    unavailable,
)
from providers.redaction import redact

log = logging.getLogger(__name__)

SERVICE = "OpenAI"
PROVIDER = "openai"
KEY_SETTING = "OPENAI_API_KEY (or YTEMPIRE_OPENAI_API_KEY)"
FORMAT_HINT = "if the server does not take response_format json_schema, set YTEMPIRE_OPENAI_RESPONSE_FORMAT=json_object"
_NO_KEY_PLACEHOLDER = "no-key"  # the client insists on a key; the request then omits the Authorization header
PROMPT_VERSION = 2  # part of the cache key: a new prompt must not be answered from old scripts
DEFAULT_LANGUAGE = "en"
MIN_WORDS_RATIO = 0.65
MAX_SEGMENTS = 12
TITLE_MAX_CHARS = 100  # YouTube's limits
DESCRIPTION_MAX_CHARS = 5000
MAX_TAGS = 15
MAX_VISUAL_TERMS = 3
VISUAL_TERM_MAX_CHARS = 40
# Output cap: 2 tokens per narration word (English is ~1.3) plus title, description, tags and JSON syntax.
OUTPUT_TOKENS_PER_WORD = 2
OUTPUT_TOKENS_FIXED = 600

SCRIPT_SCHEMA: JSONSchema = {
    "name": "video_script",
    "strict": True,
    "schema": {
        "type": "object",
        "properties": {
            "title": {"type": "string", "description": "YouTube title, at most 100 characters"},
            "hook": {"type": "string", "description": "first spoken sentence, grabs attention"},
            "segments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string", "description": "the narration paragraph"},
                        "visual_terms": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "1 to 3 stock footage search terms for what to show while it is spoken",
                        },
                    },
                    "required": ["text", "visual_terms"],
                    "additionalProperties": False,
                },
                "description": "narration paragraphs, spoken in order",
            },
            "call_to_action": {"type": "string", "description": "last spoken sentence(s)"},
            "description": {"type": "string", "description": "YouTube description"},
            "tags": {"type": "array", "items": {"type": "string"}, "description": "YouTube tags"},
        },
        "required": ["title", "hook", "segments", "call_to_action", "description", "tags"],
        "additionalProperties": False,
    },
}

_SYSTEM_PROMPT = (
    "You write narration scripts for short explainer videos (YouTube Shorts). Answer with one JSON object that "
    "matches the schema, nothing else.\n"
    "- hook: one sentence that makes a viewer stay for the first three seconds.\n"
    "- segments: narration paragraphs spoken in order, each one idea in plain spoken sentences; no stage "
    "directions, no speaker labels, no markdown, no emoji, no hashtags.\n"
    "- visual_terms of a segment: 1 to 3 short English search terms for stock video of what that segment talks "
    "about, concrete things a camera can film (e.g. 'octopus tentacles', 'coral reef'), not abstract ideas.\n"
    "- call_to_action: one or two sentences inviting the viewer to follow or comment.\n"
    "- The spoken words (hook, segments and call_to_action together) must fit the word budget you are given.\n"
    "- title: at most 100 characters, no angle brackets.\n"
    "- description: two or three sentences for YouTube, at most 500 characters, may end with up to 3 hashtags.\n"
    "- tags: 5 to 15 short lowercase keywords.\n"
    "- State only facts you are confident are true."
)


def _shape(node: dict[str, object]) -> str:
    """A JSON schema node as the skeleton of the object it describes: {"title": string, "tags": [string, ...]}."""
    if node["type"] == "object":
        properties = node["properties"]
        assert isinstance(properties, dict)
        return "{" + ", ".join(f"{json.dumps(name)}: {_shape(sub)}" for name, sub in properties.items()) + "}"
    if node["type"] == "array":
        items = node["items"]
        assert isinstance(items, dict)
        return f"[{_shape(items)}, ...]"
    return str(node["type"])


# JSON mode guarantees JSON, not its shape: without a schema the server enforces, the prompt carries it.
_JSON_MODE_SHAPE = (
    "\nThe JSON object has exactly this shape, with no other keys, and is not wrapped in markdown:\n"
    + _shape(SCRIPT_SCHEMA["schema"])  # type: ignore[arg-type]
)
_STYLES: dict[Complexity, str] = {
    "simple": "plain and friendly, short sentences, one clear idea per segment",
    "complex": "richer detail, concrete numbers and examples, a clear line of argument",
    "premium": "polished and vivid, story-driven, a surprising turn before the call to action",
}


class ScriptCheckError(ValueError):
    """The model's script is well-formed but does not fit the request (the message says how)."""


@dataclass(frozen=True)
class ScriptBrief:
    """What the model is asked for; everything that changes the answer is here (and so in the cache key)."""

    topic: str
    duration_seconds: int
    complexity: Complexity
    language: str = DEFAULT_LANGUAGE
    response_format: ResponseFormat = "json_schema"

    @classmethod
    def from_request(cls, request: VideoRequest, response_format: ResponseFormat = "json_schema") -> ScriptBrief:
        language = request.language or DEFAULT_LANGUAGE
        topic = " ".join(request.topic.split())
        return cls(topic, request.duration_seconds, request.complexity, str(language), response_format)

    def in_json_mode(self) -> ScriptBrief:
        """This brief asked with `response_format: json_object`, the schema's shape spelled out in the prompt."""
        return replace(self, response_format="json_object")

    @property
    def target_words(self) -> int:
        return cost_policy.target_words(self.duration_seconds)

    @property
    def min_words(self) -> int:
        return math.floor(self.target_words * MIN_WORDS_RATIO)

    @property
    def max_words(self) -> int:
        return cost_policy.max_narration_words(self.target_words)

    @property
    def suggested_segments(self) -> int:
        return min(6, max(4, round(self.duration_seconds / 12)))  # as the template writer does

    @property
    def max_completion_tokens(self) -> int:
        return self.max_words * OUTPUT_TOKENS_PER_WORD + OUTPUT_TOKENS_FIXED

    @property
    def unit(self) -> str:
        """How this language's length is counted: words, or characters where it is written without spaces."""
        return "characters" if writing_systems.counts_characters(self.language) else "spoken words"

    def in_units(self, words: int) -> int:
        """`words` in this brief's unit."""
        return words * writing_systems.CHARACTERS_PER_WORD if self.unit == "characters" else words

    def messages(self) -> list[ChatCompletionMessageParam]:
        user = (
            f"Topic: {json.dumps(self.topic, ensure_ascii=False)}\n"
            f"Length: {self.duration_seconds} seconds of narration, about {self.in_units(self.target_words)} "
            f"{self.unit} in total (at least {self.in_units(self.min_words)}, at most "
            f"{self.in_units(self.max_words)}) across hook, segments and call_to_action.\n"
            f"Segments: {self.suggested_segments}\n"
            f"Style: {_STYLES[self.complexity]}\n"
            f"Language of every field: {self.language} (BCP 47)"
        )
        system = _SYSTEM_PROMPT + (_JSON_MODE_SHAPE if self.response_format == "json_object" else "")
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def cache_payload(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "topic": self.topic,
            "duration_seconds": self.duration_seconds,
            "complexity": self.complexity,
            "language": self.language,
            "prompt_version": PROMPT_VERSION,
        }
        if self.response_format != "json_schema":  # keeps the keys of the scripts cached before JSON mode
            payload["response_format"] = self.response_format
        return payload


class _DraftSegment(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    text: str
    visual_terms: list[str]


class _Draft(BaseModel):
    """The schema's object, checked again here: gateways and local servers may not enforce `strict`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    title: str
    hook: str
    segments: list[_DraftSegment | str]
    call_to_action: str
    description: str
    tags: list[str]


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False  # a local server gave no counts: these are upper bounds from sizes


# ---------------------------------------------------------------------------------------------------- pricing

_warned_unpriced: set[str] = set()


def prices_per_million(settings: Settings, model: str, *, warn: bool = True) -> tuple[float, float]:
    """(input, output) USD per 1M tokens of `model`: the local server's compute price, else the table's; an unlisted
    model pays the table's highest of each."""
    if settings.openai_local:
        return settings.openai_local_usd_per_million_tokens
    table = settings.openai_prices_per_million_tokens
    if model in table:
        return table[model]
    if not table:
        raise ApplicationError(
            "no OpenAI prices are configured, so the call could not be charged: set "
            "YTEMPIRE_OPENAI_PRICES_PER_MILLION_TOKENS, e.g. '{\"gpt-4o-mini\": [0.15, 0.60]}'",
            type=ErrorType.INVALID_CONFIGURATION,
            non_retryable=True,
        )
    highest = (max(p[0] for p in table.values()), max(p[1] for p in table.values()))
    if warn and model not in _warned_unpriced:
        _warned_unpriced.add(model)
        log.warning(
            "model %r has no price in YTEMPIRE_OPENAI_PRICES_PER_MILLION_TOKENS; charging the highest listed "
            "prices (%s in, %s out per 1M tokens): add it to the table",
            model,
            *highest,
        )
    return highest


def _spent(model: str, usage: Usage) -> dict[str, object]:
    spent: dict[str, object] = {
        "model": model,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
    }
    if usage.estimated:
        spent["usage_estimated"] = True
    return spent


def charge_usd(settings: Settings, model: str, usage: Usage) -> float:
    return cost_policy.openai_usd(usage.prompt_tokens, usage.completion_tokens, prices_per_million(settings, model))


def prompt_tokens_bound(brief: ScriptBrief) -> int:
    """More tokens than the prompt can take: a byte-level BPE token is at least one byte of UTF-8. The schema is
    counted twice (servers restate it to the model) and each message gets a generous framing allowance. The messages
    are JSON mode's, which add the shape: a server refusing json_schema is asked again with them."""
    text = sum(len(json.dumps(m, ensure_ascii=False).encode()) for m in brief.in_json_mode().messages())
    return text + 2 * len(json.dumps(SCRIPT_SCHEMA).encode()) + 64


def estimate_usd(settings: Settings, request: VideoRequest) -> float:
    """Upper bound of one call: the prompt bound at the input price plus the whole output cap at the output price."""
    brief = ScriptBrief.from_request(request, settings.openai_response_format)
    try:
        price_in, price_out = prices_per_million(settings, settings.openai_model, warn=False)
    except ApplicationError:
        return settings.overhead_usd_per_stage  # no prices: the stage fails before it calls, so it charges nothing
    tokens = prompt_tokens_bound(brief) * price_in + brief.max_completion_tokens * price_out
    return tokens / 1_000_000 + settings.overhead_usd_per_stage


# ---------------------------------------------------------------------------------------------------- the stage


async def generate(ctx: ProviderContext, request: VideoRequest, path: Path) -> StageOutcome:
    """Write the request's script to `path` from the cache, else from one chat completion."""
    settings = ctx.settings
    model = settings.openai_model
    brief = ScriptBrief.from_request(request, settings.openai_response_format)
    if not brief.topic:
        raise ApplicationError(
            "topic is empty: give the video a topic", type=ErrorType.INVALID_REQUEST, non_retryable=True
        )
    # Another server (a gateway, Ollama, vLLM) may answer to the same model name with another model.
    variant = f"{model}@{settings.openai_base_url.rstrip('/')}" if settings.openai_base_url else model
    key = cache_key("script", PROVIDER, variant, brief.cache_payload())
    entry = ctx.cache.lookup("script", key)
    if entry is not None:
        link_or_copy(entry / "script.json", path)
        words = Script.from_json(json.loads(path.read_text())).word_count()
        return StageOutcome(
            {"script": str(path)},
            ctx.overhead(PROVIDER, "script_cache_hit", model=model, cache="hit"),
            {"provider": PROVIDER, "model": model, "words": words, "cache": "hit"},
        )

    if settings.openai_local:
        await _check_local(settings)
    elif settings.openai_api_key is None:
        raise missing_credential(SERVICE, KEY_SETTING)
    price_in, price_out = prices_per_million(settings, model)  # before paying for a call we could not charge
    outcome = "ok"
    usage: Usage | None = None
    # Charged before it leaves, at the most it can bill (the prompt's bound and the whole completion cap): a worker
    # lost mid-call, or an answer lost to a timeout, still counts; the answer's usage or an error answer replaces it.
    at_most = Usage(prompt_tokens_bound(brief), brief.max_completion_tokens)
    in_flight = {**_spent(model, Usage(0, 0)), "unconfirmed_tokens": at_most.prompt_tokens + at_most.completion_tokens}
    await report_billed(
        CostLine(PROVIDER, "chat_completion_unfinished", charge_usd(settings, model, at_most), in_flight)
    )
    try:
        try:
            completion = await _complete(settings, brief)
        except _JsonSchemaRefused as refused:
            _warn_json_schema_refused(settings, refused.status)
            brief = brief.in_json_mode()
            completion = await _complete(settings, brief)
        usage = _usage(completion, _size_bound(completion, brief) if settings.openai_local else None)
        await report_billed(
            CostLine(PROVIDER, "chat_completion_unfinished", charge_usd(settings, model, usage), _spent(model, usage))
        )
        script = parse_script(_content(completion, brief), brief)
    except Exception as err:
        outcome = getattr(err, "type", None) or type(err).__name__
        if usage is not None:  # answered and billed, then rejected (too short, cut off, refused): still spent
            charge = charge_usd(settings, model, usage)
            attach_charge(err, CostLine(PROVIDER, "chat_completion_rejected", charge, _spent(model, usage)))
        elif is_unbilled(err):  # an error answer, or never sent: the charge made before the call goes
            attach_charge(err, CostLine(PROVIDER, "chat_completion_unbilled", 0.0, _spent(model, Usage(0, 0))))
        raise
    finally:
        ctx.metrics.provider_calls.labels(PROVIDER, outcome).inc()

    if not usage.estimated and usage.completion_tokens > brief.max_completion_tokens:
        log.warning(
            "the model %r used %d completion tokens, over the %d requested: the server ignores "
            "max_completion_tokens, so the cost guard's estimate for this stage is not an upper bound",
            model,
            usage.completion_tokens,
            brief.max_completion_tokens,
        )
    script.save(path)
    ctx.cache.store("script", key, {"script.json": path})
    metadata: dict[str, object] = {
        **_spent(model, usage),
        "response_model": str(getattr(completion, "model", "") or ""),
        "usd_per_million_tokens": [price_in, price_out],
        "cache": "miss",
    }
    if settings.openai_local:
        metadata["local"] = True
    cost = CostLine(PROVIDER, "chat_completion", charge_usd(settings, model, usage), metadata)
    details: dict[str, str | float] = {
        "provider": PROVIDER,
        "model": model,
        "words": script.word_count(),
        "cache": "miss",
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
    }
    return StageOutcome({"script": str(path)}, cost, details)


async def _check_local(settings: Settings) -> None:
    """Refuse to call a "local" server whose host resolves beyond this machine and private networks."""
    url = settings.openai_base_url or OPENAI_BASE_URL
    if refusal := await private_server_refusal_now(url):
        raise ApplicationError(
            f"YTEMPIRE_OPENAI_LOCAL=true is for a server of your own, but {refusal}: point YTEMPIRE_OPENAI_BASE_URL "
            "at it, or unset YTEMPIRE_OPENAI_LOCAL to be charged from YTEMPIRE_OPENAI_PRICES_PER_MILLION_TOKENS",
            {"service": SERVICE},
            type=ErrorType.INVALID_CONFIGURATION,
            non_retryable=True,
        )


class _JsonSchemaRefused(Exception):
    """The server answered that it does not take `response_format: json_schema` (nothing was generated or billed)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


_warned_json_schema_refused: set[str] = set()


def _warn_json_schema_refused(settings: Settings, status: int) -> None:
    url = (settings.openai_base_url or OPENAI_BASE_URL).rstrip("/")
    if url not in _warned_json_schema_refused:
        _warned_json_schema_refused.add(url)
        log.warning(
            "%s answered HTTP %d to response_format json_schema: asking again in JSON mode (json_object); set "
            "YTEMPIRE_OPENAI_RESPONSE_FORMAT=json_object to skip the refused call",
            url,
            status,
        )


def _refuses_json_schema(brief: ScriptBrief, status: int, body: str) -> bool:
    """Whether an error answer says json_schema is not taken: llama.cpp's server answers 400 ('response_format type
    must be one of "text" or "json_object", but got: json_schema') or 500, vLLM 400 or 422. An answer that faults the
    schema itself ('Invalid schema for response_format ...') does not name the type and stays an error."""
    return brief.response_format == "json_schema" and status in (400, 422, 500) and "json_schema" in body.lower()


async def _complete(settings: Settings, brief: ScriptBrief) -> ChatCompletion:
    """One chat completion; every failure leaves as a typed, redacted ApplicationError (without its cause, whose
    text may quote the key), except a refusal of json_schema (`_JsonSchemaRefused`), which the caller asks again."""
    key = settings.openai_api_key
    assert key is not None or settings.openai_local
    secrets = [key]
    client = openai.AsyncOpenAI(
        api_key=key.get_secret_value() if key is not None else _NO_KEY_PLACEHOLDER,
        base_url=settings.openai_base_url,
        max_retries=0,  # Temporal's retry policy is the one retrying
        timeout=settings.provider_timeout_seconds,
    )
    response_format: ResponseFormatJSONSchema | ResponseFormatJSONObject = (
        ResponseFormatJSONObject(type="json_object")
        if brief.response_format == "json_object"
        else ResponseFormatJSONSchema(type="json_schema", json_schema=SCRIPT_SCHEMA)
    )
    # Ollama and older llama.cpp builds read the cap only from max_tokens, the older name OpenAI's API still takes.
    older_cap = brief.max_completion_tokens if settings.openai_local else openai.omit
    error: ApplicationError | None = None
    try:
        async with client:
            response: object = await client.chat.completions.create(
                model=settings.openai_model,
                messages=brief.messages(),
                response_format=response_format,
                max_completion_tokens=brief.max_completion_tokens,
                max_tokens=older_cap,
                n=1,
                extra_headers=None if key is not None else {"Authorization": openai.Omit()},
            )
    except openai.APIStatusError as err:
        if _refuses_json_schema(brief, err.status_code, err.response.text):
            raise _JsonSchemaRefused(err.status_code) from None
        error = mark_unbilled(
            http_error(
                SERVICE,
                err.status_code,
                setting=KEY_SETTING,
                headers=dict(err.response.headers),
                body=err.response.text,
                secrets=secrets,
                hint=FORMAT_HINT if _schema_may_be_refused(settings, brief, err.status_code) else None,
            )
        )
    except openai.APIConnectionError as err:  # includes APITimeoutError
        error = unavailable(SERVICE, err, secrets)
        if never_connected(err):
            mark_unbilled(error)
    except (openai.APIResponseValidationError, ValueError) as err:  # ValueError: a JSON body that does not parse
        error = invalid_response(SERVICE, redact(f"{type(err).__name__}: {err}", secrets)[:300])
    except openai.OpenAIError as err:
        error = unavailable(SERVICE, err, secrets)
    if error is not None:
        raise error
    if not isinstance(response, ChatCompletion):
        # The client hands back the raw text when the body is not JSON (an HTML error page from a proxy, say).
        raise invalid_response(SERVICE, f"expected a chat completion, got {redact(str(response), secrets)[:200]!r}")
    return response


def _schema_may_be_refused(settings: Settings, brief: ScriptBrief, status: int) -> bool:
    """Whether an error answer may be another server's way of refusing json_schema (llama.cpp builds answer 400 or
    500, llama-cpp-python 500, vLLM 400 or 422)."""
    elsewhere = (settings.openai_base_url or OPENAI_BASE_URL).rstrip("/") != OPENAI_BASE_URL
    return elsewhere and brief.response_format == "json_schema" and status in (400, 422, 500)


def _usage(completion: ChatCompletion, estimate: Usage | None = None) -> Usage:
    """The answer's token counts; where it has none (or only zeros), `estimate` when given (a local server)."""
    usage = getattr(completion, "usage", None)
    prompt = getattr(usage, "prompt_tokens", None)
    completion_tokens = getattr(usage, "completion_tokens", None)
    counted = isinstance(prompt, int) and isinstance(completion_tokens, int) and prompt >= 0 and completion_tokens >= 0
    if estimate is not None and (not counted or prompt == completion_tokens == 0):
        return estimate
    if not counted:
        raise invalid_response(SERVICE, "no token usage in the response, so the call cannot be charged")
    assert isinstance(prompt, int) and isinstance(completion_tokens, int)
    return Usage(prompt, completion_tokens)


def _size_bound(completion: ChatCompletion, brief: ScriptBrief) -> Usage:
    """More tokens than the call can have used: the prompt's byte bound, and a token per byte of the answer."""
    choices = getattr(completion, "choices", None) or []
    message = getattr(choices[0], "message", None) if choices else None
    content = getattr(message, "content", None)
    answer = len(content.encode()) if isinstance(content, str) else brief.max_completion_tokens
    return Usage(prompt_tokens_bound(brief), answer, estimated=True)


def _content(completion: ChatCompletion, brief: ScriptBrief) -> str:
    choices = getattr(completion, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise invalid_response(SERVICE, "the response has no choices")
    choice = choices[0]
    message = getattr(choice, "message", None)
    finish_reason = getattr(choice, "finish_reason", None)
    refusal = getattr(message, "refusal", None)
    if refusal or finish_reason == "content_filter":
        why = redact(str(refusal))[:300] if refusal else "stopped by the content filter"
        raise ApplicationError(
            f"{SERVICE} declined to write a script about {brief.topic!r}: {why}; rephrase the topic",
            {"service": SERVICE, "finish_reason": str(finish_reason)},
            type=ErrorType.SCRIPT_REFUSED,
            non_retryable=True,
        )
    if finish_reason == "length":
        raise invalid_response(
            SERVICE,
            f"the script was cut off at the {brief.max_completion_tokens}-token cap (finish_reason=length) "
            f"before the JSON was complete",
        )
    content = getattr(message, "content", None)
    if not isinstance(content, str) or not content.strip():
        raise invalid_response(SERVICE, "the message has no content")
    return content


_FENCED = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)\s*```", re.DOTALL)


def _json_text(content: str) -> str:
    """The JSON of a message: models (in JSON mode, or ignoring a schema) may wrap it in a ```json fence."""
    text = content.strip()
    if not text.startswith("{") and (fenced := _FENCED.search(text)):
        return fenced.group(1)
    return text


def _known_fields(data: object) -> object:
    """In JSON mode nothing holds the model to the schema: its own keys are dropped, missing terms left to derive."""
    if not isinstance(data, dict):
        return data
    draft = {name: value for name, value in data.items() if name in _Draft.model_fields}
    segments = draft.get("segments")
    if isinstance(segments, list):
        draft["segments"] = [
            {"visual_terms": [], **{k: v for k, v in s.items() if k in _DraftSegment.model_fields}}
            if isinstance(s, dict)
            else s
            for s in segments
        ]
    return draft


def _schema_hint(brief: ScriptBrief) -> str:
    # OpenAI's API enforces a strict schema; an answer outside it comes from a server that ignores json_schema.
    return f"; {FORMAT_HINT}" if brief.response_format == "json_schema" else ""


def parse_script(content: str, brief: ScriptBrief) -> Script:
    """The model's JSON as a checked `Script` (ProviderResponseInvalid / ScriptContentInvalid otherwise)."""
    try:
        data = json.loads(_json_text(content))
        draft = _Draft.model_validate(_known_fields(data) if brief.response_format == "json_object" else data)
    except json.JSONDecodeError as err:
        why = f"the message content is not JSON ({err.msg} at {err.pos})"
        raise invalid_response(SERVICE, why + _schema_hint(brief)) from None
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in err.errors()[:5])
        why = f"the script does not match the schema ({problems})"
        raise invalid_response(SERVICE, why + _schema_hint(brief)) from None
    try:
        return check_script(draft, brief)
    except ScriptCheckError as err:
        raise ApplicationError(
            f"{SERVICE}'s script does not fit the request: {err}",
            {"service": SERVICE, "target_words": brief.target_words},
            type=ErrorType.SCRIPT_CONTENT_INVALID,
        ) from None


def check_script(draft: _Draft, brief: ScriptBrief) -> Script:
    """Normalise whitespace and YouTube limits; refuse blank parts, too many segments and a wrong length."""
    fields = {name: " ".join(str(getattr(draft, name)).split()) for name in ("title", "hook", "call_to_action")}
    blank = [name for name, value in fields.items() if not value]
    if not draft.description.strip():
        blank.append("description")
    parts = [(s, []) if isinstance(s, str) else (s.text, s.visual_terms) for s in draft.segments]
    segments = [" ".join(text.split()) for text, _ in parts]
    blank += [f"segments[{i}]" for i, s in enumerate(segments) if not s]
    if blank:
        raise ScriptCheckError(f"empty {', '.join(blank)}")
    if not 1 <= len(segments) <= MAX_SEGMENTS:
        raise ScriptCheckError(f"{len(segments)} segments; 1 to {MAX_SEGMENTS} expected")
    title = fields["title"]
    if len(title) > TITLE_MAX_CHARS:
        title = title[: TITLE_MAX_CHARS - 3].rstrip() + "..."
    tags = list(dict.fromkeys(t for t in (" ".join(tag.split()) for tag in draft.tags) if t))[:MAX_TAGS]
    # The hook plays over the title card and the call to action speaks to the viewer: both show the topic.
    about = visual_terms(brief.topic, brief.language)
    terms = [_terms(given, text, brief.language) for (_, given), text in zip(parts, segments, strict=True)]
    script = Script(
        title=title,
        hook=fields["hook"],
        segments=segments,
        call_to_action=fields["call_to_action"],
        description=draft.description.strip()[:DESCRIPTION_MAX_CHARS],
        tags=tags,
        visual_terms=[about, *terms, about],
    )
    words = script.word_count()
    if not brief.min_words <= words <= brief.max_words:
        raise ScriptCheckError(
            f"{brief.in_units(words)} {brief.unit}, but a {brief.duration_seconds} s video needs "
            f"{brief.in_units(brief.min_words)} to {brief.in_units(brief.max_words)} (target "
            f"{brief.in_units(brief.target_words)} at {WORDS_PER_SECOND:g} words/s)"
        )
    return script


def _terms(given: list[str], text: str, language: str) -> list[str]:
    """The model's terms for one segment, tidied; derived from the segment's words when it gave none usable."""
    kept: dict[str, str] = {}
    for term in (" ".join(t.split()) for t in given):
        if term and len(term) <= VISUAL_TERM_MAX_CHARS:
            kept.setdefault(term.lower(), term)
    return list(kept.values())[:MAX_VISUAL_TERMS] or visual_terms(text, language)
