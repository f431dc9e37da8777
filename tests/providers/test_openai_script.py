"""OpenAI script generation through the real `openai` client against a fake chat-completions API on 127.0.0.1."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from core.domain import StageInput, VideoRequest
from core.records import CostLine
from core.settings import Settings
from engines.script.writer import Script
from providers import openai_script
from providers.billing import charges_to
from providers.context import ProviderContext
from providers.errors import charge_of
from providers.openai_script import SCRIPT_SCHEMA, ScriptBrief
from stages import scripts
from stages.cost_model import stage_estimates
from telemetry.worker_metrics import WorkerMetrics
from tests.fakes.openai_api import FakeOpenAI, Scripted, make_script
from tests.fakes.server import free_port, serve

KEY = "sk-test-fake-key-0123456789"


@pytest.fixture
def fake() -> FakeOpenAI:
    return FakeOpenAI(api_key=KEY)


@pytest.fixture
def base_url(fake: FakeOpenAI) -> Iterator[str]:
    with serve(fake.app) as url:
        yield f"{url}/v1"


def settings_for(tmp_path: Path, base_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "openai_api_key": KEY,
        "openai_base_url": base_url,
        "openai_model": "gpt-4o-mini",
        "provider_timeout_seconds": 5.0,
        "script_provider": "openai",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def context(tmp_path: Path, base_url: str, **overrides: Any) -> ProviderContext:
    return ProviderContext.for_worker(settings_for(tmp_path, base_url, **overrides), WorkerMetrics())


def request(**overrides: Any) -> VideoRequest:
    values: dict[str, Any] = {
        "video_id": "vid-1",
        "topic": "deep sea creatures",
        "channel_id": "chan-1",
        "user_id": "user-1",
        "complexity": "premium",
        "duration_seconds": 60,
        **overrides,
    }
    return VideoRequest(**values)


def calls(ctx: ProviderContext, outcome: str) -> float:
    value = ctx.metrics.registry.get_sample_value(
        "ytempire_provider_calls_total", {"provider": "openai", "outcome": outcome}
    )
    return value or 0.0


async def failure(ctx: ProviderContext, path: Path, req: VideoRequest | None = None) -> ApplicationError:
    with pytest.raises(ApplicationError) as info:
        await openai_script.generate(ctx, req or request(), path)
    assert not path.exists(), "a failed call must leave no script behind"
    return info.value


async def test_a_script_through_the_real_client_is_charged_from_usage(
    tmp_path: Path, fake: FakeOpenAI, base_url: str
) -> None:
    ctx = context(tmp_path, base_url)
    path = tmp_path / "script.json"

    outcome = await openai_script.generate(ctx, request(), path)

    script = Script.from_json(json.loads(path.read_text()))
    assert script.title and script.hook and script.call_to_action and script.tags
    assert len(script.segments) == 4 and script.word_count() == 150
    assert outcome.artifacts == {"script": str(path)}

    [sent] = fake.requests
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body["model"] == "gpt-4o-mini"
    assert sent.body["response_format"] == {"type": "json_schema", "json_schema": SCRIPT_SCHEMA}
    assert sent.body["response_format"]["json_schema"]["strict"] is True
    assert sent.body["max_completion_tokens"] == ScriptBrief.from_request(request()).max_completion_tokens
    user_prompt = sent.body["messages"][-1]["content"]
    assert '"deep sea creatures"' in user_prompt and "about 150 spoken words" in user_prompt
    assert "x-stainless-retry-count" in sent.headers  # the real client, not a hand-made request

    usage = outcome.cost.metadata
    expected = (usage["prompt_tokens"] * 0.15 + usage["completion_tokens"] * 0.60) / 1_000_000
    assert usage["prompt_tokens"] > 100 and usage["completion_tokens"] > 100
    assert outcome.cost.service == "openai" and outcome.cost.operation == "chat_completion"
    assert outcome.cost.amount_usd == pytest.approx(expected)
    assert outcome.details["cache"] == "miss" and outcome.details["words"] == 150
    assert calls(ctx, "ok") == 1


async def test_each_segment_brings_its_own_footage_terms(tmp_path: Path, fake: FakeOpenAI, base_url: str) -> None:
    """The schema asks each segment for visual_terms; they land in the script beside the narration, one list per
    spoken part (the hook and the call to action show the topic)."""
    schema = SCRIPT_SCHEMA["schema"]["properties"]["segments"]["items"]  # type: ignore[index]
    assert schema["required"] == ["text", "visual_terms"] and schema["additionalProperties"] is False
    reply = make_script(150)
    reply["segments"][0]["visual_terms"] = ["  anglerfish   lure ", "ANGLERFISH LURE", "", "x" * 41, "deep sea"]
    fake.push(Scripted(script=reply))
    path = tmp_path / "script.json"
    await openai_script.generate(context(tmp_path, base_url), request(), path)

    script = Script.from_json(json.loads(path.read_text()))
    assert script.segments == [s["text"] for s in reply["segments"]]
    topic = ["deep", "sea", "creatures"]
    # Tidied: spaces, repeats, blanks and overlong terms dropped.
    first = ["anglerfish lure", "deep sea"]
    assert script.visual_terms == [topic, first, *[s["visual_terms"] for s in reply["segments"][1:]], topic]
    assert "visual_terms" in fake.requests[0].body["messages"][0]["content"]


async def test_plain_string_segments_from_a_json_mode_server_get_derived_terms(
    tmp_path: Path, fake: FakeOpenAI, base_url: str
) -> None:
    reply = make_script(150)
    reply["segments"] = [s["text"] for s in reply["segments"]]
    reply["segments"][1] = "Anglerfish dangle glowing lures in the darkness below."
    fake.push(Scripted(script=reply))
    path = tmp_path / "script.json"
    await openai_script.generate(context(tmp_path, base_url), request(), path)
    script = Script.from_json(json.loads(path.read_text()))
    assert script.segments == reply["segments"]
    assert script.visual_terms[2] == ["anglerfish", "glowing", "darkness"]
    assert all(terms for terms in script.visual_terms)


async def test_a_repeated_request_is_served_from_the_cache_without_a_call(
    tmp_path: Path, fake: FakeOpenAI, base_url: str
) -> None:
    ctx = context(tmp_path, base_url)
    first = await openai_script.generate(ctx, request(video_id="a"), tmp_path / "a.json")
    second = await openai_script.generate(ctx, request(video_id="b"), tmp_path / "b.json")

    assert len(fake.requests) == 1
    assert (tmp_path / "b.json").read_text() == (tmp_path / "a.json").read_text()
    assert second.details["cache"] == "hit" and second.details["words"] == first.details["words"]
    assert second.cost.amount_usd == ctx.settings.overhead_usd_per_stage
    assert (
        ctx.metrics.registry.get_sample_value(
            "ytempire_provider_cache_lookups_total", {"kind": "script", "result": "hit"}
        )
        == 1
    )

    # Anything that changes the answer is a miss: duration, tier, model.
    fake.narration_words = 225
    await openai_script.generate(ctx, request(duration_seconds=90), tmp_path / "c.json")
    fake.narration_words = 150
    await openai_script.generate(ctx, request(complexity="complex"), tmp_path / "d.json")
    other_model = context(tmp_path, base_url, openai_model="gpt-4o")
    await openai_script.generate(other_model, request(), tmp_path / "e.json")
    assert len(fake.requests) == 4
    assert calls(ctx, "ok") == 3

    # ... and so is another server answering to the same model name (a local vLLM or Ollama, a gateway).
    elsewhere = FakeOpenAI(api_key=KEY)
    with serve(elsewhere.app) as other_url:
        await openai_script.generate(context(tmp_path, f"{other_url}/v1"), request(), tmp_path / "f.json")
    assert len(elsewhere.requests) == 1 and len(fake.requests) == 4


async def test_429_honours_retry_after_and_the_client_does_not_retry_itself(
    tmp_path: Path, fake: FakeOpenAI, base_url: str
) -> None:
    ctx = context(tmp_path, base_url)
    fake.push(Scripted.rate_limited(retry_after=7))

    err = await failure(ctx, tmp_path / "script.json")

    assert err.type == "ProviderRateLimited" and not err.non_retryable
    assert err.next_retry_delay == timedelta(seconds=7)
    assert "Rate limit reached" in str(err)
    assert len(fake.requests) == 1
    assert calls(ctx, "ProviderRateLimited") == 1


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retryable(tmp_path: Path, fake: FakeOpenAI, base_url: str, status: int) -> None:
    ctx = context(tmp_path, base_url)
    fake.push(Scripted.server_error(status))

    err = await failure(ctx, tmp_path / "script.json")

    assert err.type == "ProviderUnavailable" and not err.non_retryable
    assert len(fake.requests) == 1


async def test_timeouts_and_refused_connections_are_retryable(tmp_path: Path, fake: FakeOpenAI, base_url: str) -> None:
    ctx = context(tmp_path, base_url, provider_timeout_seconds=0.2)
    fake.push(Scripted(delay_seconds=1.0))
    err = await failure(ctx, tmp_path / "script.json")
    assert err.type == "ProviderUnavailable" and not err.non_retryable
    assert "Timeout" in str(err)

    nobody = context(tmp_path, f"http://127.0.0.1:{free_port()}/v1")
    err = await failure(nobody, tmp_path / "script.json")
    assert err.type == "ProviderUnavailable" and not err.non_retryable


async def test_a_wrong_key_is_final_names_the_setting_and_never_shows_the_key(
    tmp_path: Path, fake: FakeOpenAI, base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "sk-wrong-secret-key-987654321"
    ctx = context(tmp_path, base_url, openai_api_key=wrong)
    caplog.set_level(logging.DEBUG)

    err = await failure(ctx, tmp_path / "script.json")

    assert err.type == "ProviderAuthFailed" and err.non_retryable
    assert "OPENAI_API_KEY" in str(err) and "Incorrect API key provided" in str(err)
    assert wrong not in str(err) and wrong not in repr(err.details)
    assert err.__cause__ is None  # the client's exception quotes the body; Temporal would serialise it
    assert wrong not in caplog.text
    assert calls(ctx, "ProviderAuthFailed") == 1


async def test_403_and_other_4xx_are_final(tmp_path: Path, fake: FakeOpenAI, base_url: str) -> None:
    ctx = context(tmp_path, base_url)
    fake.push(Scripted.http_error(403, "Project does not have access to model gpt-4o-mini", "model_not_found"))
    err = await failure(ctx, tmp_path / "script.json")
    assert err.type == "ProviderAuthFailed" and err.non_retryable and "OPENAI_API_KEY" in str(err)

    fake.push(Scripted.http_error(400, "Invalid schema for response_format 'video_script'"))
    err = await failure(ctx, tmp_path / "script.json")
    assert err.type == "ProviderRequestInvalid" and err.non_retryable


async def test_an_error_body_echoing_the_key_is_redacted(tmp_path: Path, fake: FakeOpenAI, base_url: str) -> None:
    ctx = context(tmp_path, base_url)
    fake.push(Scripted.http_error(400, f"bad request from key {KEY} (Authorization: Bearer {KEY})"))

    err = await failure(ctx, tmp_path / "script.json")

    assert KEY not in str(err) and KEY[:-4] not in str(err)
    assert "***" in str(err)


async def test_a_missing_key_fails_before_any_call(tmp_path: Path, fake: FakeOpenAI, base_url: str) -> None:
    ctx = context(tmp_path, base_url, openai_api_key=None)

    err = await failure(ctx, tmp_path / "script.json")

    assert err.type == "ProviderAuthFailed" and err.non_retryable
    assert "OPENAI_API_KEY" in str(err) and "YTEMPIRE_OPENAI_API_KEY" in str(err)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (Scripted(content="Sure! Here is your script: deep sea creatures glow."), "not JSON"),
        (Scripted(script={k: v for k, v in make_script(150).items() if k != "tags"}), "tags"),
        (Scripted(script={**make_script(150), "segments": "one long string"}), "segments"),
        (Scripted(script={**make_script(150), "extra": 1}), "extra"),
        (Scripted(raw_body="<html><body>502 Bad Gateway</body></html>"), "chat completion"),
        (Scripted(usage=False), "no token usage"),
        (Scripted(finish_reason="length", content='{"title": "Deep sea'), "cut off"),
    ],
)
async def test_malformed_responses_are_rejected_and_never_cached(
    tmp_path: Path, fake: FakeOpenAI, base_url: str, reply: Scripted, why: str
) -> None:
    ctx = context(tmp_path, base_url)
    fake.push(reply)

    err = await failure(ctx, tmp_path / "script.json")

    assert err.type == "ProviderResponseInvalid" and not err.non_retryable
    assert why in str(err)
    await openai_script.generate(ctx, request(), tmp_path / "script.json")  # the retry succeeds, from the API
    assert len(fake.requests) == 2


async def test_a_script_that_does_not_fit_the_duration_is_retryable_with_the_counts(
    tmp_path: Path, fake: FakeOpenAI, base_url: str
) -> None:
    ctx = context(tmp_path, base_url)
    fake.push(Scripted(words=60), Scripted(words=260))

    short = await failure(ctx, tmp_path / "script.json")
    long = await failure(ctx, tmp_path / "script.json")

    assert short.type == long.type == "ScriptContentInvalid"
    assert not short.non_retryable
    assert "60 spoken words, but a 60 s video needs 97 to 195 (target 150 at 2.5 words/s)" in str(short)
    assert "260 spoken words" in str(long)
    assert calls(ctx, "ScriptContentInvalid") == 2
    # Edges of the window pass.
    fake.push(Scripted(words=97))
    await openai_script.generate(ctx, request(), tmp_path / "low.json")
    fake.push(Scripted(words=195))
    await openai_script.generate(ctx, request(complexity="simple"), tmp_path / "high.json")


async def test_empty_segments_and_fields_are_rejected(tmp_path: Path, fake: FakeOpenAI, base_url: str) -> None:
    ctx = context(tmp_path, base_url)
    script = make_script(150)
    fake.push(
        Scripted(script={**script, "segments": [*script["segments"], "   "]}),
        Scripted(script={**script, "hook": ""}),
        Scripted(script={**script, "segments": []}),
    )

    blank_segment = await failure(ctx, tmp_path / "script.json")
    blank_hook = await failure(ctx, tmp_path / "script.json")
    no_segments = await failure(ctx, tmp_path / "script.json")

    assert blank_segment.type == blank_hook.type == no_segments.type == "ScriptContentInvalid"
    assert "empty segments[4]" in str(blank_segment)
    assert "empty hook" in str(blank_hook)
    assert "0 segments" in str(no_segments)


async def test_a_refusal_is_final_and_says_so(tmp_path: Path, fake: FakeOpenAI, base_url: str) -> None:
    ctx = context(tmp_path, base_url)
    fake.push(Scripted(refusal="I'm sorry, I can't help with that.", finish_reason="stop"))
    err = await failure(ctx, tmp_path / "script.json")
    assert err.type == "ScriptRefused" and err.non_retryable
    assert "declined" in str(err) and "can't help" in str(err)

    fake.push(Scripted(finish_reason="content_filter"))
    err = await failure(ctx, tmp_path / "script.json")
    assert err.type == "ScriptRefused" and "content filter" in str(err)


async def test_long_titles_and_tags_are_trimmed_to_youtube_limits(
    tmp_path: Path, fake: FakeOpenAI, base_url: str
) -> None:
    ctx = context(tmp_path, base_url)
    script = make_script(150)
    fake.push(Scripted(script={**script, "title": "Deep  sea " * 30, "tags": ["a", "a", " ", *map(str, range(30))]}))

    await openai_script.generate(ctx, request(), tmp_path / "script.json")

    saved = Script.from_json(json.loads((tmp_path / "script.json").read_text()))
    assert len(saved.title) == 100 and saved.title.endswith("...") and "  " not in saved.title
    assert saved.tags[:2] == ["a", "0"] and len(saved.tags) == 15


async def test_an_unpriced_model_pays_the_highest_listed_prices_and_warns_once(
    tmp_path: Path, fake: FakeOpenAI, base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    model = "llama3.1:8b-unpriced-test"
    ctx = context(tmp_path, base_url, openai_model=model)
    caplog.set_level(logging.WARNING, logger="providers.openai_script")

    first = await openai_script.generate(ctx, request(), tmp_path / "a.json")
    await openai_script.generate(ctx, request(topic="volcanoes"), tmp_path / "b.json")

    usage = first.cost.metadata
    expected = (usage["prompt_tokens"] * 2.50 + usage["completion_tokens"] * 10.00) / 1_000_000
    assert first.cost.amount_usd == pytest.approx(expected)
    assert usage["usd_per_million_tokens"] == [2.50, 10.00]
    assert sum(model in r.getMessage() for r in caplog.records) == 1


async def test_no_price_table_fails_before_paying_for_a_call(tmp_path: Path, fake: FakeOpenAI, base_url: str) -> None:
    ctx = context(tmp_path, base_url, openai_prices_per_million_tokens={})
    err = await failure(ctx, tmp_path / "script.json")
    assert err.type == "InvalidConfiguration" and err.non_retryable
    assert fake.requests == []


@pytest.mark.parametrize("model", ["gpt-4o-mini", "gpt-4o", "not-in-the-table"])
@pytest.mark.parametrize("seconds", [30, 60, 180])
async def test_the_estimate_bounds_a_call_that_uses_every_token_it_may(
    tmp_path: Path, fake: FakeOpenAI, base_url: str, model: str, seconds: int
) -> None:
    settings = settings_for(tmp_path, base_url, openai_model=model)
    req = request(duration_seconds=seconds, topic="the " + "very " * 40 + "long history of deep sea creatures")
    brief = ScriptBrief.from_request(req)
    estimate = openai_script.estimate_usd(settings, req)

    ctx = ProviderContext.for_worker(settings, WorkerMetrics())
    fake.narration_words = brief.max_words
    outcome = await openai_script.generate(ctx, req, tmp_path / "script.json")
    assert outcome.cost.amount_usd < estimate

    # The worst case the cap allows: all output tokens, and a prompt tokenised one byte per token.
    price_in, price_out = openai_script.prices_per_million(settings, model, warn=False)
    sent = json.dumps(fake.requests[-1].body["messages"]).encode()
    worst = (len(sent) * price_in + brief.max_completion_tokens * price_out) / 1_000_000
    assert worst <= estimate
    assert outcome.cost.metadata["prompt_tokens"] <= openai_script.prompt_tokens_bound(brief)


async def test_stage_dispatch_uses_openai_only_for_the_tiers_that_ask_for_it(
    tmp_path: Path, fake: FakeOpenAI, base_url: str
) -> None:
    settings = settings_for(tmp_path, base_url, script_provider="local", script_provider_tiers={"premium": "openai"})
    ctx = ProviderContext.for_worker(settings, WorkerMetrics())

    def stage_input(complexity: str) -> StageInput:
        req = request(video_id=f"vid-{complexity}", complexity=complexity)
        return StageInput("script_generation", req, str(tmp_path / complexity), str(tmp_path / "outbox"))

    simple = await scripts.generate_script(ctx, stage_input("simple"), tmp_path / "simple.json")
    assert simple.details["provider"] == "template" and fake.requests == []

    premium = await scripts.generate_script(ctx, stage_input("premium"), tmp_path / "premium.json")
    assert premium.details["provider"] == "openai" and len(fake.requests) == 1
    assert premium.cost.service == "openai"

    # The cost guard sees the OpenAI bound only where OpenAI runs.
    overhead = settings.overhead_usd_per_stage
    assert scripts.estimate_usd(settings, request(complexity="simple")) == overhead
    premium_bound = scripts.estimate_usd(settings, request(complexity="premium"))
    assert premium_bound > overhead + premium.cost.amount_usd
    assert stage_estimates(settings, request(complexity="premium"))["script_generation"] == round(premium_bound, 4)


async def test_a_call_is_charged_at_its_most_before_it_leaves_until_the_answer_says(
    tmp_path: Path, fake: FakeOpenAI, base_url: str
) -> None:
    """Written ahead before the request: the most the call can bill. An error answer or a refused connection takes it
    back (the attempt's last word is $0); a timeout leaves it, the answer having maybe been billed; a good answer's
    usage replaces it."""
    reports: list[CostLine] = []

    async def sink(cost: CostLine) -> None:
        reports.append(cost)

    ctx = context(tmp_path, base_url, provider_timeout_seconds=0.2)
    brief = ScriptBrief.from_request(request())
    most = openai_script.prompt_tokens_bound(brief) + brief.max_completion_tokens
    fake.push(Scripted.server_error(500))
    with charges_to(sink):
        answered_error = await failure(context(tmp_path, base_url), tmp_path / "a.json")
        refused = await failure(context(tmp_path, f"http://127.0.0.1:{free_port()}/v1"), tmp_path / "b.json")
        fake.push(Scripted(delay_seconds=1.0))
        timed_out = await failure(ctx, tmp_path / "c.json")
    assert [r.metadata["unconfirmed_tokens"] for r in reports] == [most, most, most]
    assert reports[0].amount_usd > 0
    for unbilled in (answered_error, refused):
        last_word = charge_of(unbilled)
        assert last_word is not None and last_word.amount_usd == 0.0
    assert charge_of(timed_out) is None  # the reservation written ahead stands

    reports.clear()
    with charges_to(sink):
        outcome = await openai_script.generate(context(tmp_path, base_url), request(), tmp_path / "d.json")
    assert reports[0].metadata["unconfirmed_tokens"] == most
    assert "unconfirmed_tokens" not in reports[-1].metadata and "unconfirmed_tokens" not in outcome.cost.metadata
