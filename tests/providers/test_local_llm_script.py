"""Scripts from a local LLM server (YTEMPIRE_OPENAI_LOCAL) that honours JSON mode but not strict schemas, through the
real `openai` client against a fake of such a server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from core.destinations import private_server_refusal
from core.domain import VideoRequest
from core.settings import Settings
from engines.script.writer import Script
from providers import openai_script
from providers.context import ProviderContext
from providers.openai_script import FORMAT_HINT, ScriptBrief
from stages import scripts
from telemetry.worker_metrics import WorkerMetrics
from tests.fakes.local_llm_api import SHAPE_MARK, FakeLocalLLM
from tests.fakes.server import serve

MODEL = "llama3.1:8b"


def request() -> VideoRequest:
    return VideoRequest("vid-1", "deep sea creatures", "chan-1", "user-1", complexity="premium", duration_seconds=60)


def local_settings(tmp_path: Path, base_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "openai_api_key": None,
        "openai_base_url": base_url,
        "openai_model": MODEL,
        "openai_local": True,
        "openai_response_format": "json_object",
        "provider_timeout_seconds": 5.0,
        "script_provider": "openai",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def context(settings: Settings) -> ProviderContext:
    return ProviderContext.for_worker(settings, WorkerMetrics())


async def failure(ctx: ProviderContext, path: Path) -> ApplicationError:
    with pytest.raises(ApplicationError) as info:
        await openai_script.generate(ctx, request(), path)
    assert not path.exists()
    return info.value


async def test_a_json_mode_server_writes_the_script_at_no_api_cost(tmp_path: Path) -> None:
    fake = FakeLocalLLM(schemas="reject", usage="none")
    with serve(fake.app) as url:
        settings = local_settings(tmp_path, f"{url}/v1")
        outcome = await openai_script.generate(context(settings), request(), tmp_path / "script.json")

    script = Script.from_json(json.loads((tmp_path / "script.json").read_text()))
    assert len(script.segments) == 4 and script.word_count() == 150  # fenced, plain strings, a key of its own
    assert all(terms for terms in script.visual_terms)  # derived from each segment's words

    [sent] = fake.requests
    assert sent.body["response_format"] == {"type": "json_object"}
    assert '"segments": [{"text": string' in sent.body["messages"][0]["content"]  # the shape, in the prompt
    cap = ScriptBrief.from_request(request(), "json_object").max_completion_tokens
    assert sent.body["max_tokens"] == sent.body["max_completion_tokens"] == cap  # Ollama reads only max_tokens
    assert "authorization" not in sent.headers  # no key configured, none sent

    # No token counts: sizes stand in for them, charged at the local price ($0 by default).
    assert outcome.cost.amount_usd == 0.0
    assert outcome.cost.metadata["local"] is True and outcome.cost.metadata["usage_estimated"] is True
    assert outcome.cost.metadata["usd_per_million_tokens"] == [0.0, 0.0]
    assert outcome.cost.metadata["prompt_tokens"] == openai_script.prompt_tokens_bound(
        ScriptBrief.from_request(request(), "json_object")
    )
    assert outcome.details["words"] == 150
    # The cost guard's bound is the stage overhead alone.
    assert scripts.estimate_usd(settings, request()) == settings.overhead_usd_per_stage


@pytest.mark.parametrize(("usage", "estimated"), [("zeros", True), ("counted", False)])
async def test_a_local_price_charges_the_counts_or_the_sizes(tmp_path: Path, usage: str, estimated: bool) -> None:
    fake = FakeLocalLLM(usage=usage)  # type: ignore[arg-type]
    with serve(fake.app) as url:
        settings = local_settings(tmp_path, f"{url}/v1", openai_local_usd_per_million_tokens=(0.02, 0.05))
        outcome = await openai_script.generate(context(settings), request(), tmp_path / "script.json")
    spent = outcome.cost.metadata
    expected = (spent["prompt_tokens"] * 0.02 + spent["completion_tokens"] * 0.05) / 1_000_000
    assert spent["prompt_tokens"] > 100 and spent["completion_tokens"] > 100
    assert outcome.cost.amount_usd == pytest.approx(expected) and outcome.cost.amount_usd > 0
    assert spent.get("usage_estimated", False) is estimated
    # Estimated counts are upper bounds: a byte per token of what was sent and received.
    assert openai_script.estimate_usd(settings, request()) > outcome.cost.amount_usd


async def test_bad_json_is_rejected_uncached_and_retried(tmp_path: Path) -> None:
    fake = FakeLocalLLM()
    fake.push('```json\n{"title": "Deep sea", "hook": "Down ')  # cut short
    with serve(fake.app) as url:
        ctx = context(local_settings(tmp_path, f"{url}/v1"))
        err = await failure(ctx, tmp_path / "script.json")
        assert err.type == "ProviderResponseInvalid" and not err.non_retryable
        assert "not JSON" in str(err) and FORMAT_HINT not in str(err)  # JSON mode was asked for already
        await openai_script.generate(ctx, request(), tmp_path / "script.json")
    assert len(fake.requests) == 2


async def test_a_server_refusing_json_schema_is_asked_again_in_json_mode(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeLocalLLM(schemas="reject")
    with serve(fake.app) as url:
        settings = local_settings(tmp_path, f"{url}/v1", openai_response_format="json_schema")
        outcome = await openai_script.generate(context(settings), request(), tmp_path / "script.json")

    assert [r.body["response_format"]["type"] for r in fake.requests] == ["json_schema", "json_object"]
    assert SHAPE_MARK not in fake.requests[0].body["messages"][0]["content"]
    assert SHAPE_MARK in fake.requests[1].body["messages"][0]["content"]
    assert Script.from_json(json.loads((tmp_path / "script.json").read_text())).word_count() == 150
    assert outcome.details["words"] == 150
    assert "YTEMPIRE_OPENAI_RESPONSE_FORMAT=json_object" in caplog.text  # how to skip the refused call
    # The JSON-mode prompt is the one the bounds are made from, so the estimate holds for the second call too.
    assert outcome.cost.metadata["prompt_tokens"] == openai_script.prompt_tokens_bound(
        ScriptBrief.from_request(request(), "json_schema")
    )


async def test_an_error_faulting_the_schema_itself_is_not_taken_for_a_refusal_of_json_schema(tmp_path: Path) -> None:
    fake = FakeLocalLLM(schemas="ignore")
    fake.reject_next(400, "Invalid schema for response_format 'video_script': 'maxItems' is not supported")
    with serve(fake.app) as url:
        ctx = context(local_settings(tmp_path, f"{url}/v1", openai_response_format="json_schema"))
        err = await failure(ctx, tmp_path / "script.json")
    assert err.type == "ProviderRequestInvalid" and err.non_retryable
    assert "maxItems" in str(err) and "YTEMPIRE_OPENAI_RESPONSE_FORMAT=json_object" in str(err)
    assert len(fake.requests) == 1


async def test_a_server_ignoring_json_schema_is_caught_by_the_check_and_json_mode_fixes_it(tmp_path: Path) -> None:
    fake = FakeLocalLLM(schemas="ignore")
    with serve(fake.app) as url:
        strict = context(local_settings(tmp_path, f"{url}/v1", openai_response_format="json_schema"))
        err = await failure(strict, tmp_path / "script.json")
        assert err.type == "ProviderResponseInvalid" and "does not match the schema" in str(err)
        assert "YTEMPIRE_OPENAI_RESPONSE_FORMAT=json_object" in str(err)

        await openai_script.generate(context(local_settings(tmp_path, f"{url}/v1")), request(), tmp_path / "s.json")
    assert Script.from_json(json.loads((tmp_path / "s.json").read_text())).word_count() == 150


async def test_without_the_local_flag_the_same_server_is_charged_as_openai(tmp_path: Path) -> None:
    """The flag, not the address, makes a server local: a gateway on the LAN may resell OpenAI's models."""
    fake = FakeLocalLLM(usage="none")
    with serve(fake.app) as url:
        ctx = context(local_settings(tmp_path, f"{url}/v1", openai_local=False, openai_api_key="ollama"))
        err = await failure(ctx, tmp_path / "script.json")
        assert err.type == "ProviderResponseInvalid" and "no token usage" in str(err)

        fake.usage = "counted"
        outcome = await openai_script.generate(ctx, request(), tmp_path / "script.json")
    assert outcome.cost.metadata["usd_per_million_tokens"] == [2.50, 10.00]  # unlisted: the table's highest
    assert "local" not in outcome.cost.metadata


async def test_the_local_flag_is_refused_for_a_server_beyond_this_machine(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="neither this machine nor a private network"):
        local_settings(tmp_path, "http://162.159.140.245/v1")  # a public address, judged at start
    with pytest.raises(ValueError, match="needs YTEMPIRE_OPENAI_BASE_URL"):
        local_settings(tmp_path, None)  # type: ignore[arg-type]
    # A name is resolved at each call, before anything is charged.
    ctx = context(local_settings(tmp_path, "http://llm.invalid:11434/v1"))
    err = await failure(ctx, tmp_path / "script.json")
    assert err.type == "InvalidConfiguration" and err.non_retryable
    assert "YTEMPIRE_OPENAI_LOCAL" in str(err) and "llm.invalid" in str(err)
    # A name that resolves to this machine is local.
    fake = FakeLocalLLM()
    with serve(fake.app) as url:
        port = url.rsplit(":", 1)[1]
        ctx = context(local_settings(tmp_path, f"http://localhost:{port}/v1"))
        await openai_script.generate(ctx, request(), tmp_path / "script.json")
    assert len(fake.requests) == 1


def test_local_means_this_machine_or_a_private_network() -> None:
    url = "http://gpu-box:11434/v1"
    for addresses in (["127.0.0.1"], ["::1"], ["192.168.1.20"], ["10.0.0.7", "fd00::7"], ["::ffff:172.16.0.3"]):
        assert private_server_refusal(url, addresses) is None, addresses
    for addresses in (["8.8.8.8"], ["10.0.0.7", "2606:4700::6810:84e5"], []):
        assert private_server_refusal(url, addresses) is not None, addresses
