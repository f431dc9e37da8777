"""Google Cloud Text-to-Speech through the real `google-api-python-client` against a fake `text:synthesize` API."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from core import cost_policy
from core.settings import Settings
from engines.speech.timeline import SpeechTimeline
from providers import google_tts
from providers.context import ProviderContext
from providers.errors import charge_of
from stages import speech
from telemetry.worker_metrics import WorkerMetrics
from tests.fakes.google_tts_api import (
    MAX_INPUT_BYTES,
    WORD_SECONDS,
    FakeGoogleTts,
    Fault,
    google_error,
    speak,
    wav_for,
)
from tests.fakes.server import free_port, serve
from tests.providers.speech_checks import (
    check_timeline,
    out_dir,
    provider_calls,
    script_for,
    stage_input,
    synthesis_failure,
)

KEY = "AIzaSy-test-key-0123456789abcdef"


@pytest.fixture
def fake() -> FakeGoogleTts:
    return FakeGoogleTts(api_key=KEY)


@pytest.fixture
def base_url(fake: FakeGoogleTts) -> Iterator[str]:
    with serve(fake.app) as url:
        yield url


def context(tmp_path: Path, base_url: str, **overrides: Any) -> ProviderContext:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "tts_provider": "google",
        "google_api_key": KEY,
        "google_tts_base_url": base_url,
        "google_tts_voice": "en-GB-Neural2-B",
        "google_tts_language": "en-GB",
        "google_tts_speaking_rate": 1.0,
        "google_tts_usd_per_1m_chars": 16.0,
        "provider_timeout_seconds": 5.0,
        **overrides,
    }
    return ProviderContext.for_worker(Settings(_env_file=None, **values), WorkerMetrics())  # type: ignore[call-arg]


def calls(ctx: ProviderContext, outcome: str) -> float:
    return provider_calls(ctx, "google", outcome)


failure = synthesis_failure


def spoken_text(ssml: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", ssml).replace("&amp;", "&").replace("&lt;", "<").split())


async def test_speech_with_ssml_marks_through_the_real_client(
    tmp_path: Path, fake: FakeGoogleTts, base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ctx = context(tmp_path, base_url)
    inp = stage_input(tmp_path)
    script = script_for(inp)
    outcome = await speech.synthesize(ctx, inp, script, out_dir(inp))

    narration = [" ".join(s.split()) for s in script.narration()]
    [sent] = fake.requests
    assert sent.path == "/v1beta1/text:synthesize"
    assert sent.headers["x-goog-api-key"] == KEY and "key" not in sent.query  # never in a URL, so never logged
    assert KEY not in caplog.text
    assert sent.body["voice"] == {"languageCode": "en-GB", "name": "en-GB-Neural2-B"}
    assert sent.body["audioConfig"] == {"audioEncoding": "LINEAR16", "sampleRateHertz": 48000, "speakingRate": 1.0}
    assert sent.body["enableTimePointing"] == ["SSML_MARK"]
    ssml = sent.body["input"]["ssml"]
    assert ssml.count("<p>") == len(narration) and ssml.count('<mark name="w') == len(" ".join(narration).split())
    assert spoken_text(ssml) == " ".join(narration)

    timeline = SpeechTimeline.from_json(json.loads(Path(outcome.artifacts["timeline"]).read_text()))
    check_timeline(timeline, script, Path(outcome.artifacts["voice"]))
    # The fake speaks a word in 0.35 s and pauses 0.3 s after a paragraph: the marks say exactly that.
    assert timeline.words[1].start == pytest.approx(WORD_SECONDS)
    first_of_second = timeline.segment_words(1)[0]
    assert first_of_second.start == pytest.approx(len(narration[0].split()) * WORD_SECONDS + 0.3)
    assert timeline.segments[1].start == first_of_second.start

    characters = len(" ".join(narration))
    assert outcome.cost.service == "google" and outcome.cost.metadata["characters"] == characters
    assert outcome.cost.amount_usd == pytest.approx(characters * 16.0 / 1_000_000)
    assert outcome.details["cache"] == "miss"
    assert calls(ctx, "ok") == 1


async def test_voice_language_and_rate_come_from_settings(tmp_path: Path, fake: FakeGoogleTts, base_url: str) -> None:
    ctx = context(
        tmp_path,
        base_url,
        google_tts_voice="de-DE-Neural2-C",
        google_tts_language="de-DE",
        google_tts_speaking_rate=1.25,
    )
    inp = stage_input(tmp_path, language="de")  # the configured voice speaks the video's language: it is used
    outcome = await speech.synthesize(ctx, inp, script_for(inp), out_dir(inp))
    sent = fake.requests[0].body
    assert sent["voice"] == {"languageCode": "de-DE", "name": "de-DE-Neural2-C"}
    assert sent["audioConfig"]["speakingRate"] == 1.25
    timeline = SpeechTimeline.from_json(json.loads(Path(outcome.artifacts["timeline"]).read_text()))
    assert timeline.words[1].start == pytest.approx(WORD_SECONDS / 1.25)


async def test_a_repeated_narration_is_served_from_the_cache(
    tmp_path: Path, fake: FakeGoogleTts, base_url: str
) -> None:
    ctx = context(tmp_path, base_url)
    first_input = stage_input(tmp_path, video_id="vid-a")
    first = await speech.synthesize(ctx, first_input, script_for(first_input), out_dir(first_input))
    again_input = stage_input(tmp_path, video_id="vid-b")
    again = await speech.synthesize(ctx, again_input, script_for(again_input), out_dir(again_input))

    assert len(fake.requests) == 1
    assert again.details["cache"] == "hit"
    assert again.cost.amount_usd == ctx.settings.overhead_usd_per_stage
    assert Path(again.artifacts["voice"]).read_bytes() == Path(first.artifacts["voice"]).read_bytes()
    assert Path(again.artifacts["timeline"]).read_text() == Path(first.artifacts["timeline"]).read_text()

    # Another speaking rate is another entry.
    faster = context(tmp_path, base_url, google_tts_speaking_rate=1.5)
    third_input = stage_input(tmp_path, video_id="vid-c")
    await speech.synthesize(faster, third_input, script_for(third_input), out_dir(third_input))
    assert len(fake.requests) == 2


async def test_a_long_narration_goes_in_requests_under_the_input_limit(
    tmp_path: Path, fake: FakeGoogleTts, base_url: str
) -> None:
    ctx = context(tmp_path, base_url)
    inp = stage_input(tmp_path, duration_seconds=180)
    script = script_for(inp)
    outcome = await speech.synthesize(ctx, inp, script, out_dir(inp))

    # The fake, like Google, rejects more than 5000 bytes of SSML: every request fitted, and none was wasted.
    assert len(fake.requests) > 1
    assert all(len(r.body["input"]["ssml"].encode()) <= MAX_INPUT_BYTES for r in fake.requests)
    narration = " ".join(" ".join(s.split()) for s in script.narration())
    assert " ".join(spoken_text(r.body["input"]["ssml"]) for r in fake.requests) == narration
    timeline = SpeechTimeline.from_json(json.loads(Path(outcome.artifacts["timeline"]).read_text()))
    check_timeline(timeline, script, Path(outcome.artifacts["voice"]))
    assert outcome.cost.metadata["requests"] == len(fake.requests)
    assert outcome.cost.metadata["characters"] == len(narration) - (len(fake.requests) - 1)  # no joining spaces


async def test_requests_answered_before_a_failing_one_are_charged_to_the_failed_attempt(
    tmp_path: Path, fake: FakeGoogleTts, base_url: str
) -> None:
    fake.fail_next(Fault(0), Fault(503, google_error(503, "UNAVAILABLE", "The service is currently unavailable.")))
    inp = stage_input(tmp_path, duration_seconds=180)  # three requests
    with pytest.raises(ApplicationError) as info:
        await speech.synthesize(context(tmp_path, base_url), inp, script_for(inp), out_dir(inp))
    assert info.value.type == "ProviderUnavailable" and len(fake.requests) == 2
    charge = charge_of(info.value)
    first = spoken_text(fake.requests[0].body["input"]["ssml"])
    assert charge is not None and charge.metadata == {"characters": len(first), "requests": 1}
    assert charge.amount_usd == pytest.approx(len(first) * 16.0 / 1e6)


async def test_429_waits_for_retry_after(tmp_path: Path, fake: FakeGoogleTts, base_url: str) -> None:
    fake.fail_next(Fault(429, google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded"), {"Retry-After": "12"}))
    ctx = context(tmp_path, base_url)
    err = await failure(ctx, tmp_path)
    assert err.type == "ProviderRateLimited" and not err.non_retryable
    assert err.next_retry_delay == timedelta(seconds=12)
    assert len(fake.requests) == 1  # num_retries=0: the client did not retry on its own
    assert calls(ctx, "ProviderRateLimited") == 1


async def test_server_errors_and_timeouts_are_retryable(tmp_path: Path, fake: FakeGoogleTts, base_url: str) -> None:
    fake.fail_next(Fault(503, google_error(503, "UNAVAILABLE", "The service is currently unavailable.")))
    err = await failure(context(tmp_path, base_url), tmp_path)
    assert err.type == "ProviderUnavailable" and not err.non_retryable
    assert len(fake.requests) == 1

    fake.fail_next(Fault(200, {}, delay_seconds=1.5))
    err = await failure(context(tmp_path, base_url, provider_timeout_seconds=0.3), tmp_path)
    assert err.type == "ProviderUnavailable" and not err.non_retryable

    err = await failure(context(tmp_path, f"http://127.0.0.1:{free_port()}"), tmp_path)
    assert err.type == "ProviderUnavailable"


async def test_refused_keys_are_final_and_name_the_setting(tmp_path: Path, fake: FakeGoogleTts, base_url: str) -> None:
    # Google answers a wrong key with 400 INVALID_ARGUMENT / API_KEY_INVALID: still the key to fix, never retried.
    err = await failure(context(tmp_path, base_url, google_api_key="AIzaSy-wrong-key-000000000"), tmp_path)
    assert err.type == "ProviderAuthFailed" and err.non_retryable and "GOOGLE_API_KEY" in str(err)

    fake.fail_next(Fault(403, google_error(403, "PERMISSION_DENIED", "Cloud Text-to-Speech API has not been used")))
    err = await failure(context(tmp_path, base_url), tmp_path)
    assert err.type == "ProviderAuthFailed" and err.non_retryable and "GOOGLE_API_KEY" in str(err)

    err = await failure(context(tmp_path, base_url, google_api_key=None), tmp_path)
    assert err.type == "ProviderAuthFailed" and "GOOGLE_API_KEY" in str(err)
    assert len(fake.requests) == 2  # a missing key makes no call


async def test_an_error_body_echoing_the_key_never_leaks_it(tmp_path: Path, fake: FakeGoogleTts, base_url: str) -> None:
    echo = google_error(403, "PERMISSION_DENIED", f"Requests from key {KEY} (url ?key={KEY}) are blocked.")
    fake.fail_next(Fault(403, echo))
    err = await failure(context(tmp_path, base_url), tmp_path)
    assert KEY not in str(err) and KEY not in repr(err.details) and err.__cause__ is None

    fake.fail_next(Fault(400, google_error(400, "INVALID_ARGUMENT", f"bad voice for {KEY}")))
    err = await failure(context(tmp_path, base_url), tmp_path)
    assert err.type == "ProviderRequestInvalid" and err.non_retryable and KEY not in str(err)


@pytest.mark.parametrize(
    "body",
    [
        "upstream connect error",
        {"timepoints": []},
        {"audioContent": "%%%", "timepoints": [{"markName": "w0", "timeSeconds": 0}]},
        {"audioContent": base64.b64encode(b"MP3 frames, not a WAV").decode(), "timepoints": [{"markName": "w0"}]},
        {"audioContent": base64.b64encode(wav_for([], 1.0, 48000)).decode(), "timepoints": []},
        {"audioContent": base64.b64encode(wav_for([], 1.0, 48000)).decode(), "timepoints": [{"timeSeconds": "x"}]},
    ],
    ids=["not-json", "no-audio", "bad-base64", "not-wav", "no-timepoints", "bad-timepoint"],
)
async def test_a_malformed_response_is_rejected_and_nothing_is_kept(
    tmp_path: Path, fake: FakeGoogleTts, base_url: str, body: Any
) -> None:
    fake.fail_next(Fault(200, body))
    ctx = context(tmp_path, base_url)
    inp = stage_input(tmp_path)
    err = await failure(ctx, tmp_path)
    assert err.type == "ProviderResponseInvalid"
    assert not (out_dir(inp) / "voice.wav").exists()
    assert not (ctx.settings.provider_cache_dir / "speech").exists()
    assert calls(ctx, "ProviderResponseInvalid") == 1


async def test_a_missing_mark_borrows_its_neighbours_time(tmp_path: Path, fake: FakeGoogleTts, base_url: str) -> None:
    ctx = context(tmp_path, base_url)
    inp = stage_input(tmp_path)
    script = script_for(inp)
    texts = [" ".join(s.split()) for s in script.narration()]
    ssml = google_tts.ssml(texts, range(len(texts)))
    # A service that drops one timepoint (the third word's) still yields every word, in order.
    spans, marks, duration = speak(ssml, 1.0)
    body = {
        "audioContent": base64.b64encode(wav_for(spans, duration, 48000)).decode(),
        "timepoints": [{"markName": n, "timeSeconds": t} for n, t in marks if n != "w2"],
    }
    fake.fail_next(Fault(200, body))
    outcome = await speech.synthesize(ctx, inp, script, out_dir(inp))
    timeline = SpeechTimeline.from_json(json.loads(Path(outcome.artifacts["timeline"]).read_text()))
    check_timeline(timeline, script, Path(outcome.artifacts["voice"]))
    words = timeline.words
    assert words[2].start == pytest.approx((words[1].start + words[3].start) / 2, abs=1e-4)
    assert words[1].end == words[2].start and words[2].end == words[3].start


@pytest.mark.parametrize("seconds", [30, 60, 180])
async def test_the_estimate_bounds_the_charge(tmp_path: Path, fake: FakeGoogleTts, base_url: str, seconds: int) -> None:
    ctx = context(tmp_path, base_url)
    inp = stage_input(tmp_path, duration_seconds=seconds)
    outcome = await speech.synthesize(ctx, inp, script_for(inp), out_dir(inp))
    estimate = speech.estimate_usd(ctx.settings, inp.request)
    assert outcome.cost.amount_usd <= estimate
    assert estimate == pytest.approx(cost_policy.max_narration_chars(inp.request.duration_seconds) * 16.0 / 1_000_000)
