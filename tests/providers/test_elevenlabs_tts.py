"""ElevenLabs speech through the real `elevenlabs` client against a fake with-timestamps API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from core import cost_policy
from core.records import CostLine
from core.settings import Settings
from engines.speech.timeline import SpeechTimeline
from providers import elevenlabs_tts
from providers.billing import charges_to
from providers.context import ProviderContext
from providers.errors import charge_of
from stages import speech
from stages.cost_model import stage_estimates
from telemetry.worker_metrics import WorkerMetrics
from tests.fakes.elevenlabs_api import FakeElevenLabs, Fault, character_times, pcm_for
from tests.fakes.server import free_port, serve
from tests.providers.speech_checks import (
    check_timeline,
    out_dir,
    provider_calls,
    script_for,
    stage_input,
    synthesis_failure,
)

KEY = "el-test-key-0123456789abcdef"


@pytest.fixture
def fake() -> FakeElevenLabs:
    return FakeElevenLabs(api_key=KEY)


@pytest.fixture
def base_url(fake: FakeElevenLabs) -> Iterator[str]:
    with serve(fake.app) as url:
        yield url


def context(tmp_path: Path, base_url: str, **overrides: Any) -> ProviderContext:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "tts_provider": "elevenlabs",
        "elevenlabs_api_key": KEY,
        "elevenlabs_base_url": base_url,
        "elevenlabs_voice_id": "voice-abc",
        "elevenlabs_model": "eleven_multilingual_v2",
        "elevenlabs_usd_per_1k_chars": 0.30,
        "provider_timeout_seconds": 5.0,
        **overrides,
    }
    return ProviderContext.for_worker(Settings(_env_file=None, **values), WorkerMetrics())  # type: ignore[call-arg]


def calls(ctx: ProviderContext, outcome: str) -> float:
    return provider_calls(ctx, "elevenlabs", outcome)


failure = synthesis_failure


async def test_speech_with_character_timestamps_through_the_real_client(
    tmp_path: Path, fake: FakeElevenLabs, base_url: str
) -> None:
    ctx = context(tmp_path, base_url)
    inp = stage_input(tmp_path)
    script = script_for(inp)
    outcome = await speech.synthesize(ctx, inp, script, out_dir(inp))

    narration = " ".join(" ".join(s.split()) for s in script.narration())
    [sent] = fake.requests
    assert sent.path == "/v1/text-to-speech/voice-abc/with-timestamps"
    assert sent.headers["xi-api-key"] == KEY
    assert sent.query["output_format"] == "pcm_24000"
    assert sent.body["text"] == narration and sent.body["model_id"] == "eleven_multilingual_v2"
    assert "voice_settings" not in sent.body  # speed 1.0 keeps the voice's stored settings

    timeline = SpeechTimeline.from_json(json.loads(Path(outcome.artifacts["timeline"]).read_text()))
    facts = check_timeline(timeline, script, Path(outcome.artifacts["voice"]))
    # The fake speaks each word for 0.35 s: the word times are the fake's character times, resampled losslessly.
    starts, ends, duration = character_times(narration)
    assert facts.duration == pytest.approx(duration, abs=0.001)
    first = timeline.words[0]
    assert (first.start, first.end) == (starts[0], pytest.approx(ends[len(first.text) - 1], abs=1e-4))
    assert Path(outcome.artifacts["captions"]).read_text().count("Dialogue:") > 0

    assert outcome.cost.service == "elevenlabs" and outcome.cost.operation == "text_to_speech"
    assert outcome.cost.metadata["characters"] == len(narration)
    assert outcome.cost.amount_usd == pytest.approx(len(narration) * 0.30 / 1000)
    assert outcome.details["cache"] == "miss" and outcome.details["provider"] == "elevenlabs"
    assert calls(ctx, "ok") == 1


async def test_the_character_cost_header_is_what_is_billed(tmp_path: Path, fake: FakeElevenLabs, base_url: str) -> None:
    inp = stage_input(tmp_path)
    text = " ".join(" ".join(s.split()) for s in script_for(inp).narration())
    starts, ends, duration = character_times(text)
    body = {
        "audio_base64": base64.b64encode(pcm_for(text, starts, ends, duration, 24000)).decode(),
        "alignment": {
            "characters": list(text),
            "character_start_times_seconds": starts,
            "character_end_times_seconds": ends,
        },
    }
    # Flash models bill half a credit per character: the header says so, and that is the charge.
    fake.fail_next(Fault(200, body, {"character-cost": str(len(text) // 2)}))
    outcome = await speech.synthesize(context(tmp_path, base_url), inp, script_for(inp), out_dir(inp))
    assert outcome.cost.metadata["characters"] == len(text) // 2
    assert outcome.cost.amount_usd == pytest.approx((len(text) // 2) * 0.30 / 1000)


async def test_a_repeated_narration_is_served_from_the_cache(
    tmp_path: Path, fake: FakeElevenLabs, base_url: str
) -> None:
    ctx = context(tmp_path, base_url)
    first_input = stage_input(tmp_path, video_id="vid-a")
    first = await speech.synthesize(ctx, first_input, script_for(first_input), out_dir(first_input))
    again_input = stage_input(tmp_path, video_id="vid-b")
    again = await speech.synthesize(ctx, again_input, script_for(again_input), out_dir(again_input))

    assert len(fake.requests) == 1
    assert again.details["cache"] == "hit" and again.cost.metadata["cache"] == "hit"
    assert again.cost.amount_usd == ctx.settings.overhead_usd_per_stage
    assert Path(again.artifacts["voice"]).read_bytes() == Path(first.artifacts["voice"]).read_bytes()
    assert Path(again.artifacts["timeline"]).read_text() == Path(first.artifacts["timeline"]).read_text()
    assert Path(again.artifacts["voice"]).parent == out_dir(again_input)

    # Another voice is another entry: it calls the API.
    other = context(tmp_path, base_url, elevenlabs_voice_id="voice-xyz")
    third_input = stage_input(tmp_path, video_id="vid-c")
    await speech.synthesize(other, third_input, script_for(third_input), out_dir(third_input))
    assert [r.path for r in fake.requests][-1] == "/v1/text-to-speech/voice-xyz/with-timestamps"


async def test_speed_is_sent_as_a_voice_setting(tmp_path: Path, fake: FakeElevenLabs, base_url: str) -> None:
    ctx = context(tmp_path, base_url, elevenlabs_speed=1.1)
    inp = stage_input(tmp_path)
    await speech.synthesize(ctx, inp, script_for(inp), out_dir(inp))
    assert fake.requests[0].body["voice_settings"]["speed"] == 1.1


async def test_429_waits_for_retry_after(tmp_path: Path, fake: FakeElevenLabs, base_url: str) -> None:
    fake.fail_next(
        Fault(429, {"detail": {"status": "too_many_concurrent_requests", "message": "slow down"}}, {"Retry-After": "7"})
    )
    ctx = context(tmp_path, base_url)
    err = await failure(ctx, tmp_path)
    assert err.type == "ProviderRateLimited" and not err.non_retryable
    assert err.next_retry_delay == timedelta(seconds=7)
    assert len(fake.requests) == 1  # the client did not retry on its own
    assert calls(ctx, "ProviderRateLimited") == 1


async def test_server_errors_and_timeouts_are_retryable(tmp_path: Path, fake: FakeElevenLabs, base_url: str) -> None:
    fake.fail_next(Fault(503, {"detail": {"status": "service_unavailable", "message": "busy"}}))
    err = await failure(context(tmp_path, base_url), tmp_path)
    assert err.type == "ProviderUnavailable" and not err.non_retryable
    assert len(fake.requests) == 1

    fake.fail_next(Fault(200, {}, delay_seconds=1.5))
    err = await failure(context(tmp_path, base_url, provider_timeout_seconds=0.3), tmp_path)
    assert err.type == "ProviderUnavailable" and not err.non_retryable

    closed = f"http://127.0.0.1:{free_port()}"
    err = await failure(context(tmp_path, closed), tmp_path)
    assert err.type == "ProviderUnavailable"


async def test_a_refused_key_is_final_names_the_setting_and_never_leaks(
    tmp_path: Path, fake: FakeElevenLabs, base_url: str
) -> None:
    wrong = "el-wrong-key-9876543210zyxw"
    err = await failure(context(tmp_path, base_url, elevenlabs_api_key=wrong), tmp_path)
    assert err.type == "ProviderAuthFailed" and err.non_retryable
    assert "ELEVENLABS_API_KEY" in str(err)
    assert fake.requests[-1].headers["xi-api-key"] == wrong

    # An error body that echoes the key (as some gateways do) never carries it into the error or its details.
    fake.fail_next(Fault(403, {"detail": {"status": "forbidden", "message": f"key {KEY} lacks permission"}}))
    err = await failure(context(tmp_path, base_url), tmp_path)
    assert err.type == "ProviderAuthFailed" and err.non_retryable
    assert KEY not in str(err) and KEY not in repr(err.details) and err.__cause__ is None


async def test_a_missing_key_fails_before_any_call(tmp_path: Path, fake: FakeElevenLabs, base_url: str) -> None:
    err = await failure(context(tmp_path, base_url, elevenlabs_api_key=None), tmp_path)
    assert err.type == "ProviderAuthFailed" and err.non_retryable and "ELEVENLABS_API_KEY" in str(err)
    assert fake.requests == []


@pytest.mark.parametrize(
    "body",
    [
        "<html>gateway says hi</html>",
        {"audio_base64": "not base64 at all!"},
        {"audio_base64": base64.b64encode(b"\x00\x01" * 100).decode()},  # no alignment
        {
            "audio_base64": base64.b64encode(b"\x00\x01" * 100).decode(),
            "alignment": {
                "characters": ["a"],
                "character_start_times_seconds": ["soon"],
                "character_end_times_seconds": [0.1],
            },
        },
    ],
    ids=["not-json", "bad-base64", "no-alignment", "bad-times"],
)
async def test_a_malformed_response_is_rejected_and_nothing_is_kept(
    tmp_path: Path, fake: FakeElevenLabs, base_url: str, body: Any
) -> None:
    fake.fail_next(Fault(200, body))
    ctx = context(tmp_path, base_url)
    inp = stage_input(tmp_path)
    err = await failure(ctx, tmp_path)
    assert err.type == "ProviderResponseInvalid"
    charge = charge_of(err)  # a 200 is billed whatever its body: the failed attempt pays it
    narration = " ".join(" ".join(t.split()) for t in script_for(inp).narration())
    assert charge is not None
    if isinstance(body, str):  # the client could not read it at all: charged as sent, marked unconfirmed
        assert charge.metadata["unconfirmed_characters"] == len(narration) and charge.metadata["characters"] == 0
    else:
        assert charge.metadata["characters"] == len(narration)
    assert not (out_dir(inp) / "voice.wav").exists()
    assert not (ctx.settings.provider_cache_dir / "speech").exists()
    await speech.synthesize(ctx, inp, script_for(inp), out_dir(inp))  # the retry gets a good answer
    assert len(fake.requests) == 2


async def test_an_alignment_that_spells_the_text_differently_still_times_every_word(
    tmp_path: Path, fake: FakeElevenLabs, base_url: str
) -> None:
    inp = stage_input(tmp_path)
    script = script_for(inp)
    text = " ".join(" ".join(s.split()) for s in script.narration())
    spoken = text.replace(":", "").replace(",", "")  # the service dropped some punctuation from its alignment
    starts, ends, duration = character_times(spoken)
    body = {
        "audio_base64": base64.b64encode(pcm_for(spoken, starts, ends, duration, 24000)).decode(),
        "alignment": {
            "characters": list(spoken),
            "character_start_times_seconds": starts,
            "character_end_times_seconds": ends,
        },
    }
    fake.fail_next(Fault(200, body))
    outcome = await speech.synthesize(context(tmp_path, base_url), inp, script, out_dir(inp))
    timeline = SpeechTimeline.from_json(json.loads(Path(outcome.artifacts["timeline"]).read_text()))
    check_timeline(timeline, script, Path(outcome.artifacts["voice"]))


async def test_a_long_narration_is_split_between_segments_with_context(
    tmp_path: Path, fake: FakeElevenLabs, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(elevenlabs_tts, "MAX_CHARS_PER_REQUEST", 400)
    ctx = context(tmp_path, base_url)
    inp = stage_input(tmp_path, duration_seconds=60)
    script = script_for(inp)
    outcome = await speech.synthesize(ctx, inp, script, out_dir(inp))

    assert len(fake.requests) > 1 and all(len(r.body["text"]) <= 400 for r in fake.requests)
    assert " ".join(r.body["text"] for r in fake.requests) == " ".join(" ".join(s.split()) for s in script.narration())
    assert "previous_text" not in fake.requests[0].body
    assert fake.requests[1].body["previous_text"] == fake.requests[0].body["text"]
    assert fake.requests[0].body["next_text"] == fake.requests[1].body["text"]
    timeline = SpeechTimeline.from_json(json.loads(Path(outcome.artifacts["timeline"]).read_text()))
    facts = check_timeline(timeline, script, Path(outcome.artifacts["voice"]))
    expected = sum(character_times(r.body["text"])[2] for r in fake.requests)
    assert facts.duration == pytest.approx(expected, abs=0.001 * len(fake.requests))
    assert outcome.cost.metadata["requests"] == len(fake.requests)


async def test_narration_beyond_the_estimate_is_never_sent(tmp_path: Path, fake: FakeElevenLabs, base_url: str) -> None:
    ctx = context(tmp_path, base_url)
    inp = stage_input(tmp_path, duration_seconds=30)
    long_script = script_for(stage_input(tmp_path, duration_seconds=90))
    with pytest.raises(ApplicationError) as info:
        await speech.synthesize(ctx, inp, long_script, out_dir(inp))
    assert info.value.type == "NarrationTooLong" and info.value.non_retryable
    assert fake.requests == []


@pytest.mark.parametrize("seconds", [30, 60, 180])
async def test_the_estimate_bounds_the_charge(
    tmp_path: Path, fake: FakeElevenLabs, base_url: str, seconds: int
) -> None:
    ctx = context(tmp_path, base_url)
    inp = stage_input(tmp_path, duration_seconds=seconds)
    outcome = await speech.synthesize(ctx, inp, script_for(inp), out_dir(inp))
    estimate = speech.estimate_usd(ctx.settings, inp.request)
    assert outcome.cost.amount_usd <= estimate <= 3 * outcome.cost.amount_usd
    assert speech.estimate_usd(ctx.settings.model_copy(update={"tts_provider": "local"}), inp.request) == (
        ctx.settings.overhead_usd_per_stage
    )


async def test_a_tier_can_pick_elevenlabs_and_the_cost_guard_sees_its_price(
    tmp_path: Path, fake: FakeElevenLabs, base_url: str
) -> None:
    ctx = context(tmp_path, base_url, tts_provider="local", tts_provider_tiers={"premium": "elevenlabs"})
    premium = stage_input(tmp_path, complexity="premium", duration_seconds=60)
    simple = stage_input(tmp_path, complexity="simple", duration_seconds=60)
    assert stage_estimates(ctx.settings, premium.request)["audio_synthesis"] == pytest.approx(
        cost_policy.max_narration_chars(premium.request.duration_seconds) * 0.30 / 1000, abs=1e-4
    )
    assert stage_estimates(ctx.settings, simple.request)["audio_synthesis"] == ctx.settings.overhead_usd_per_stage
    outcome = await speech.synthesize(ctx, premium, script_for(premium), out_dir(premium))
    assert outcome.cost.service == "elevenlabs" and len(fake.requests) == 1


async def test_a_call_is_charged_before_it_leaves_and_an_error_answer_takes_it_back(
    tmp_path: Path, fake: FakeElevenLabs, base_url: str
) -> None:
    """The worker dies (its task cancelled) while a request is out: what it wrote ahead already charges the request's
    characters, as ElevenLabs bills them. An error answer bills nothing, and the attempt's last word says so."""
    reports: list[CostLine] = []

    async def sink(cost: CostLine) -> None:
        reports.append(cost)

    fake.fail_next(Fault(200, {}, delay_seconds=30))  # an answer that will not arrive in time
    inp = stage_input(tmp_path)
    with charges_to(sink):
        call = asyncio.create_task(speech.synthesize(context(tmp_path, base_url), inp, script_for(inp), out_dir(inp)))
        assert await asyncio.to_thread(fake.requested.wait, 10)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
    text = fake.requests[0].body["text"]
    assert len(reports) == 1 and reports[0].metadata == {
        "characters": 0,
        "requests": 0,
        "unconfirmed_characters": len(text),
    }
    assert reports[0].amount_usd == pytest.approx(
        cost_policy.elevenlabs_usd(context(tmp_path, base_url).settings, len(text))
    )

    reports.clear()
    fake.fail_next(Fault(503, {"detail": {"status": "service_unavailable", "message": "busy"}}))
    with charges_to(sink):
        err = await failure(context(tmp_path, base_url), tmp_path / "again")
    assert reports[0].metadata["unconfirmed_characters"] == len(text)
    final = charge_of(err)
    assert final is not None and final.amount_usd == 0.0 and "unconfirmed_characters" not in final.metadata

    reports.clear()
    fake.fail_next(Fault(200, {}, delay_seconds=1.5))  # billed by the server, answer lost to the client's timeout
    with charges_to(sink):
        err = await failure(context(tmp_path, base_url, provider_timeout_seconds=0.3), tmp_path / "timeout")
    final = charge_of(err)
    assert final is not None and final.metadata["unconfirmed_characters"] == len(text) and final.amount_usd > 0
