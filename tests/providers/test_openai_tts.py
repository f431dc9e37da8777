"""OpenAI-compatible speech through the real `openai` client against a fake `/v1/audio/speech` on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core import cost_policy
from core.records import CostLine
from core.settings import Settings
from engines.script.writer import Script
from engines.speech.timeline import SpeechTimeline
from providers import openai_tts
from providers.billing import charges_to
from providers.context import ProviderContext
from providers.errors import charge_of
from stages import speech
from stages.cost_model import stage_estimates
from telemetry.worker_metrics import WorkerMetrics
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.scripted import Fault
from tests.fakes.server import free_port, serve
from tests.providers.speech_checks import (
    check_timeline,
    out_dir,
    provider_calls,
    script_for,
    stage_input,
    synthesis_failure,
)

KEY = "sk-test-speech-0123456789abcdef"
END_DRIFT_LIMIT = 0.5  # as for espeak-ng and Piper (tests/engines/test_speech.py)


@pytest.fixture
def fake() -> FakeOpenAI:
    return FakeOpenAI(api_key=KEY)


@pytest.fixture
def base_url(fake: FakeOpenAI) -> Iterator[str]:
    with serve(fake.app) as url:
        yield f"{url}/v1"


@pytest.fixture(autouse=True)
def _no_openai_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    script = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "YTEMPIRE_OPENAI_API_KEY", "YTEMPIRE_OPENAI_BASE_URL")
    for name in (*script, "YTEMPIRE_OPENAI_TTS_API_KEY", "YTEMPIRE_OPENAI_TTS_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def context(tmp_path: Path, base_url: str | None, **overrides: Any) -> ProviderContext:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "tts_provider": "openai",
        "openai_tts_api_key": KEY,
        "openai_tts_base_url": base_url,
        "openai_tts_model": "tts-1",
        "openai_tts_voice": "nova",
        "provider_timeout_seconds": 5.0,
        **overrides,
    }
    return ProviderContext.for_worker(Settings(_env_file=None, **values), WorkerMetrics())  # type: ignore[call-arg]


def narration_of(script: Script) -> str:
    return " ".join(" ".join(s.split()) for s in script.narration())


def timeline_of(outcome: Any) -> SpeechTimeline:
    return SpeechTimeline.from_json(json.loads(Path(outcome.artifacts["timeline"]).read_text()))


def sound_end(wav: Path) -> float:
    """Where the sound stops, by ffmpeg's own silencedetect on the final WAV (not the provider's reading of it)."""
    log = subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostdin",
            "-i",
            str(wav),
            "-af",
            "silencedetect=noise=-40dB:d=0.05",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    starts = [float(line.split("silence_start: ")[1]) for line in log.splitlines() if "silence_start: " in line]
    return starts[-1]


def sentence_edges(timeline: SpeechTimeline) -> list[tuple[float, float]]:
    """(first word's start, last word's end) of every sentence, sentences as the fake reads them."""
    edges = []
    words = timeline.words
    k = 0
    while k < len(words):
        first = k
        while not words[k].text.endswith((".", "!", "?")) and k + 1 < len(words):
            k += 1
        edges.append((words[first].start, words[k].end))
        k += 1
    return edges


async def test_speech_and_word_times_through_the_real_client(tmp_path: Path, fake: FakeOpenAI, base_url: str) -> None:
    ctx = context(tmp_path, base_url)
    inp = stage_input(tmp_path)
    script = script_for(inp)
    outcome = await speech.synthesize(ctx, inp, script, out_dir(inp))

    narration = narration_of(script)
    [sent] = fake.speech_requests
    assert sent.path == "/v1/audio/speech" and sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body == {"model": "tts-1", "voice": "nova", "input": narration, "response_format": "wav"}

    timeline = timeline_of(outcome)
    wav = Path(outcome.artifacts["voice"])
    check_timeline(timeline, script, wav)
    # Every sentence sits on its tone: the leading 0.05 s is too short to be a pause, the rest is exact.
    [truth] = fake.spoken
    found = sentence_edges(timeline)
    assert len(found) == len(truth) > 3
    for (start, end), (true_start, true_end) in zip(found, truth, strict=True):
        assert start == pytest.approx(true_start, abs=0.06) and end == pytest.approx(true_end, abs=0.02)
    drift = abs(timeline.words[-1].end - sound_end(wav))
    assert drift < 0.02 < END_DRIFT_LIMIT, f"last word ends {drift:.3f} s away from the speech end"
    assert outcome.details["word_times"] == "silences"
    assert Path(outcome.artifacts["captions"]).read_text().count("Dialogue:") > 0
    assert not [p for p in wav.parent.iterdir() if p.name.startswith(".")]

    assert outcome.cost.service == "openai" and outcome.cost.operation == "text_to_speech"
    assert outcome.cost.metadata["characters"] == len(narration) == fake.billed_characters
    assert outcome.cost.amount_usd == pytest.approx(len(narration) * 15.0 / 1_000_000)
    assert provider_calls(ctx, "openai_tts", "ok") == 1


async def test_mp3_is_decoded_to_the_same_timeline_shape(tmp_path: Path, fake: FakeOpenAI, base_url: str) -> None:
    ctx = context(tmp_path, base_url, openai_tts_response_format="mp3")
    inp = stage_input(tmp_path)
    script = script_for(inp)
    outcome = await speech.synthesize(ctx, inp, script, out_dir(inp))
    assert fake.speech_requests[0].body["response_format"] == "mp3"
    timeline = timeline_of(outcome)
    wav = Path(outcome.artifacts["voice"])
    check_timeline(timeline, script, wav)
    for (start, end), (true_start, true_end) in zip(sentence_edges(timeline), fake.spoken[0], strict=True):
        assert start == pytest.approx(true_start, abs=0.1) and end == pytest.approx(true_end, abs=0.1)
    assert abs(timeline.words[-1].end - sound_end(wav)) < END_DRIFT_LIMIT


async def test_pauses_inside_sentences_do_not_move_the_sentences(
    tmp_path: Path, fake: FakeOpenAI, base_url: str
) -> None:
    """A voice that also pauses at commas: more pauses than sentence breaks, and the breaks are still found."""
    fake.comma_pause_seconds = 0.3
    inp = stage_input(tmp_path)
    script = script_for(inp)
    outcome = await speech.synthesize(context(tmp_path, base_url), inp, script, out_dir(inp))
    timeline = timeline_of(outcome)
    check_timeline(timeline, script, Path(outcome.artifacts["voice"]))
    assert "," in narration_of(script)
    assert outcome.details["word_times"] == "silences"
    for (start, end), (true_start, true_end) in zip(sentence_edges(timeline), fake.spoken[0], strict=True):
        assert start == pytest.approx(true_start, abs=0.06) and end == pytest.approx(true_end, abs=0.02)


async def test_without_pauses_words_are_spread_over_the_whole_audio(
    tmp_path: Path, fake: FakeOpenAI, base_url: str
) -> None:
    fake.sentence_pause_seconds = 0.0  # no silence between sentences: none to split at
    inp = stage_input(tmp_path)
    script = script_for(inp)
    outcome = await speech.synthesize(context(tmp_path, base_url), inp, script, out_dir(inp))
    timeline = timeline_of(outcome)
    wav = Path(outcome.artifacts["voice"])
    check_timeline(timeline, script, wav)
    assert outcome.details["word_times"] == "proportional"
    drift = abs(timeline.words[-1].end - sound_end(wav))
    assert drift < END_DRIFT_LIMIT, f"last word ends {drift:.3f} s away from the speech end"
    # Spread by characters over tones as long as their characters, the sentences land close to where they sound.
    worst = max(abs(a - b[0]) for (a, _), b in zip(sentence_edges(timeline), fake.spoken[0], strict=True))
    assert worst < 0.5


@pytest.mark.parametrize(
    ("model", "usd_per_1m"),
    [("tts-1", 15.0), ("tts-1-hd", 30.0), ("gpt-4o-mini-tts", 20.0), ("kokoro", 0.0)],
)
async def test_each_model_is_charged_per_character_from_the_table(
    tmp_path: Path, fake: FakeOpenAI, base_url: str, model: str, usd_per_1m: float
) -> None:
    ctx = context(tmp_path, base_url, openai_tts_model=model)
    inp = stage_input(tmp_path, duration_seconds=60)
    outcome = await speech.synthesize(ctx, inp, script_for(inp), out_dir(inp))
    characters = len(narration_of(script_for(inp)))
    assert outcome.cost.metadata["characters"] == characters
    assert outcome.cost.amount_usd == pytest.approx(characters * usd_per_1m / 1_000_000)
    estimate = speech.estimate_usd(ctx.settings, inp.request)
    assert outcome.cost.amount_usd <= estimate
    if usd_per_1m:
        assert estimate <= 3 * outcome.cost.amount_usd


async def test_an_unlisted_model_is_charged_the_configured_price(
    tmp_path: Path, fake: FakeOpenAI, base_url: str
) -> None:
    ctx = context(tmp_path, base_url, openai_tts_model="my-voice-model", openai_tts_unlisted_usd_per_1m_chars=4.0)
    inp = stage_input(tmp_path)
    outcome = await speech.synthesize(ctx, inp, script_for(inp), out_dir(inp))
    assert outcome.cost.amount_usd == pytest.approx(len(narration_of(script_for(inp))) * 4.0 / 1_000_000)


async def test_a_repeated_narration_is_served_from_the_cache(tmp_path: Path, fake: FakeOpenAI, base_url: str) -> None:
    ctx = context(tmp_path, base_url)
    first_input = stage_input(tmp_path, video_id="vid-a")
    first = await speech.synthesize(ctx, first_input, script_for(first_input), out_dir(first_input))
    again_input = stage_input(tmp_path, video_id="vid-b")
    again = await speech.synthesize(ctx, again_input, script_for(again_input), out_dir(again_input))

    assert len(fake.speech_requests) == 1
    assert again.details["cache"] == "hit" and again.cost.amount_usd == ctx.settings.overhead_usd_per_stage
    assert Path(again.artifacts["voice"]).read_bytes() == Path(first.artifacts["voice"]).read_bytes()
    assert Path(again.artifacts["timeline"]).read_text() == Path(first.artifacts["timeline"]).read_text()

    # Another voice, model, format or server is another entry: each calls the API.
    for n, change in enumerate(
        [
            {"openai_tts_voice": "alloy"},
            {"openai_tts_model": "tts-1-hd"},
            {"openai_tts_response_format": "mp3"},
            {"openai_tts_base_url": base_url + "/"},  # the same server: a hit
        ]
    ):
        other = stage_input(tmp_path, video_id=f"vid-{n}")
        await speech.synthesize(context(tmp_path, base_url, **change), other, script_for(other), out_dir(other))
    assert len(fake.speech_requests) == 4
    assert [r.body["voice"] for r in fake.speech_requests[1:]] == ["alloy", "nova", "nova"]


def long_script(segments: list[str]) -> Script:
    return Script(
        title="Long", hook=segments[0], segments=segments[1:-1], call_to_action=segments[-1], description="d", tags=[]
    )


def sentences(count: int, start: int = 0) -> str:
    return " ".join(
        f"Sentence {start + k} tells of deep water, cold and dark, where light never goes." for k in range(count)
    )


@pytest.mark.parametrize("shape", ["between-segments", "inside-a-segment"])
async def test_a_narration_over_4096_characters_is_split_and_joined(
    tmp_path: Path, fake: FakeOpenAI, base_url: str, shape: str
) -> None:
    if shape == "between-segments":
        script = long_script([sentences(1), sentences(20, 1), sentences(20, 21), sentences(18, 41), sentences(1, 59)])
    else:
        script = long_script([sentences(1), sentences(58, 1), sentences(1, 59)])  # one segment of ~4260 characters
    narration = narration_of(script)
    assert 4096 < len(narration) <= cost_policy.max_narration_chars(180)
    ctx = context(tmp_path, base_url)
    inp = stage_input(tmp_path, duration_seconds=180)
    outcome = await speech.synthesize(ctx, inp, script, out_dir(inp))

    inputs = [r.body["input"] for r in fake.speech_requests]
    assert len(inputs) == 2 and all(len(text) <= openai_tts.MAX_CHARS_PER_REQUEST for text in inputs)
    assert " ".join(inputs) == narration
    segments = [" ".join(s.split()) for s in script.narration()]
    if shape == "between-segments":  # whole segments in each request
        assert inputs[0] in {" ".join(segments[:k]) for k in range(1, len(segments))}
    else:  # the long segment is split between two of its sentences
        assert not inputs[0].endswith(segments[1]) and inputs[0].endswith(".")
    timeline = timeline_of(outcome)
    wav = Path(outcome.artifacts["voice"])
    check_timeline(timeline, script, wav)
    # The second answer's sentences sit on its tones, shifted by the first answer's length.
    first_length = fake.spoken[0][-1][1] + 0.4  # the fake's tail
    truth = fake.spoken[0] + [(a + first_length, b + first_length) for a, b in fake.spoken[1]]
    found = sentence_edges(timeline)
    assert len(found) == len(truth)
    for (start, end), (true_start, true_end) in zip(found, truth, strict=True):
        assert start == pytest.approx(true_start, abs=0.06) and end == pytest.approx(true_end, abs=0.02)
    assert abs(timeline.words[-1].end - sound_end(wav)) < 0.02
    assert outcome.cost.metadata["requests"] == 2 and outcome.cost.metadata["characters"] == sum(map(len, inputs))


def test_requests_are_packed_by_segment_then_by_sentence() -> None:
    texts = ["One. Two.", "Three is here.", "Four. Five six. Seven!"]
    plan = openai_tts.plan_requests(texts, limit=24)
    assert [r.text for r in plan] == ["One. Two. Three is here.", "Four. Five six. Seven!"]
    plan = openai_tts.plan_requests(texts, limit=16)
    assert [r.text for r in plan] == ["One. Two.", "Three is here.", "Four. Five six.", "Seven!"]
    assert [[s.closes_segment for s in r.sentences] for r in plan] == [[False, True], [True], [False, False], [True]]
    with pytest.raises(ValueError, match="segment 2"):
        openai_tts.plan_requests(["Short.", "A sentence far too long for it."], limit=16)


async def test_a_sentence_over_the_limit_is_refused_before_any_call(
    tmp_path: Path, fake: FakeOpenAI, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(openai_tts, "MAX_CHARS_PER_REQUEST", 40)
    err = await synthesis_failure(context(tmp_path, base_url), tmp_path)
    assert err.type == "ProviderRequestInvalid" and err.non_retryable
    assert fake.speech_requests == []


async def test_a_refused_key_is_final_names_the_setting_and_never_leaks(
    tmp_path: Path, fake: FakeOpenAI, base_url: str
) -> None:
    wrong = "sk-wrong-key-9876543210zyxw"
    ctx = context(tmp_path, base_url, openai_tts_api_key=wrong)
    err = await synthesis_failure(ctx, tmp_path)
    assert err.type == "ProviderAuthFailed" and err.non_retryable
    assert "YTEMPIRE_OPENAI_TTS_API_KEY" in str(err) and "401" in str(err)
    assert wrong not in str(err) and wrong not in repr(err.details) and err.__cause__ is None
    assert fake.speech_requests[-1].headers["authorization"] == f"Bearer {wrong}"
    assert len(fake.speech_requests) == 1  # the client did not retry on its own
    assert provider_calls(ctx, "openai_tts", "ProviderAuthFailed") == 1
    charge = charge_of(err)
    assert charge is not None and charge.amount_usd == 0.0  # an error answer is not billed

    fake.fail_speech(
        Fault(403, {"error": {"message": f"key {KEY} may not use tts-1", "type": "invalid_request_error"}})
    )
    err = await synthesis_failure(context(tmp_path, base_url), tmp_path)
    assert err.type == "ProviderAuthFailed" and err.non_retryable and KEY not in str(err)


async def test_a_server_error_is_retried_and_the_retry_speaks(tmp_path: Path, fake: FakeOpenAI, base_url: str) -> None:
    fake.fail_speech(Fault(500, {"error": {"message": "The server had an error", "type": "server_error"}}))
    ctx = context(tmp_path, base_url)
    inp = stage_input(tmp_path)
    err = await synthesis_failure(ctx, tmp_path)
    assert err.type == "ProviderUnavailable" and not err.non_retryable
    assert len(fake.speech_requests) == 1  # the client did not retry: Temporal's policy does
    assert not (out_dir(inp) / "voice.wav").exists()

    outcome = await speech.synthesize(ctx, inp, script_for(inp), out_dir(inp))  # the stage's next attempt
    assert outcome.details["cache"] == "miss" and len(fake.speech_requests) == 2
    assert (
        provider_calls(ctx, "openai_tts", "ProviderUnavailable") == 1 and provider_calls(ctx, "openai_tts", "ok") == 1
    )


async def test_429_waits_for_retry_after_and_timeouts_are_retryable(
    tmp_path: Path, fake: FakeOpenAI, base_url: str
) -> None:
    fake.fail_speech(Fault(429, {"error": {"message": "Rate limit reached", "type": "requests"}}, {"Retry-After": "7"}))
    err = await synthesis_failure(context(tmp_path, base_url), tmp_path)
    assert err.type == "ProviderRateLimited" and not err.non_retryable
    assert err.next_retry_delay == timedelta(seconds=7)

    fake.fail_speech(Fault(200, {}, delay_seconds=1.5))
    err = await synthesis_failure(context(tmp_path, base_url, provider_timeout_seconds=0.3), tmp_path)
    assert err.type == "ProviderUnavailable" and not err.non_retryable
    charge = charge_of(err)  # the answer may have been billed: charged, marked unconfirmed
    assert charge is not None and charge.metadata["unconfirmed_characters"] > 0

    err = await synthesis_failure(context(tmp_path, f"http://127.0.0.1:{free_port()}/v1"), tmp_path)
    assert err.type == "ProviderUnavailable"
    charge = charge_of(err)
    assert charge is not None and charge.amount_usd == 0.0  # never connected: never billed


@pytest.mark.parametrize("body", ["<html>gateway says hi</html>", "RIFF\x00\x00\x00\x00WAVEjunk"], ids=["html", "junk"])
async def test_audio_that_does_not_decode_is_retryable_charged_and_not_kept(
    tmp_path: Path, fake: FakeOpenAI, base_url: str, body: str
) -> None:
    fake.fail_speech(Fault(200, body))
    ctx = context(tmp_path, base_url)
    inp = stage_input(tmp_path)
    err = await synthesis_failure(ctx, tmp_path)
    assert err.type == "ProviderResponseInvalid" and not err.non_retryable
    assert "does not decode" in str(err)
    charge = charge_of(err)  # a 200 is billed whatever its body
    assert charge is not None and charge.metadata["characters"] == len(narration_of(script_for(inp)))
    assert "unconfirmed_characters" not in charge.metadata
    assert not (out_dir(inp) / "voice.wav").exists()
    assert not (ctx.settings.provider_cache_dir / "speech").exists()
    assert not [p for p in out_dir(inp).iterdir() if p.name.startswith(".openai-speech-")]
    await speech.synthesize(ctx, inp, script_for(inp), out_dir(inp))  # the retry gets a good answer
    assert len(fake.speech_requests) == 2


async def test_a_local_server_without_a_key_works_and_is_never_sent_the_openai_key(tmp_path: Path) -> None:
    local = FakeOpenAI(speech_needs_key=False)
    with serve(local.app) as url:
        ctx = context(
            tmp_path,
            f"{url}/v1",
            openai_tts_api_key=None,
            openai_api_key="sk-the-real-openai-key",  # the script's key, for api.openai.com
            openai_tts_model="kokoro",
            openai_tts_voice="af_bella",
        )
        inp = stage_input(tmp_path)
        outcome = await speech.synthesize(ctx, inp, script_for(inp), out_dir(inp))
    [sent] = local.speech_requests
    assert "authorization" not in sent.headers
    assert sent.body["model"] == "kokoro" and sent.body["voice"] == "af_bella"
    check_timeline(timeline_of(outcome), script_for(inp), Path(outcome.artifacts["voice"]))
    assert outcome.cost.amount_usd == 0.0 and outcome.cost.metadata["characters"] > 0


async def test_the_openai_key_is_used_where_the_speech_server_is_the_same(tmp_path: Path, fake: FakeOpenAI) -> None:
    with serve(fake.app) as url:
        ctx = context(tmp_path, f"{url}/v1", openai_tts_api_key=None, openai_api_key=KEY, openai_base_url=f"{url}/v1/")
        inp = stage_input(tmp_path)
        await speech.synthesize(ctx, inp, script_for(inp), out_dir(inp))
    assert fake.speech_requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_which_key_goes_to_the_speech_server() -> None:
    def key(**values: Any) -> str | None:
        secret = Settings(_env_file=None, **values).openai_tts_key  # type: ignore[call-arg]
        return secret.get_secret_value() if secret is not None else None

    assert key(openai_api_key="sk-a") == "sk-a"  # both at api.openai.com
    assert key(openai_api_key="sk-a", openai_tts_api_key="sk-b") == "sk-b"
    assert key(openai_api_key="sk-a", openai_tts_base_url="http://gpu-box:8880/v1") is None
    assert key(openai_api_key="sk-a", openai_base_url="http://127.0.0.1:11434/v1") is None  # speech: api.openai.com
    assert key(openai_api_key="sk-a", openai_tts_base_url="https://api.openai.com/v1/") == "sk-a"


async def test_no_key_for_openais_own_api_fails_before_any_call(tmp_path: Path) -> None:
    err = await synthesis_failure(context(tmp_path, None, openai_tts_api_key=None), tmp_path)
    assert err.type == "ProviderAuthFailed" and err.non_retryable
    assert "YTEMPIRE_OPENAI_TTS_API_KEY" in str(err)
    assert charge_of(err) is None


async def test_a_tier_can_pick_openai_speech_and_the_cost_guard_sees_its_price(
    tmp_path: Path, fake: FakeOpenAI, base_url: str
) -> None:
    ctx = context(tmp_path, base_url, tts_provider="local", tts_provider_tiers={"complex": "openai"})
    complex_input = stage_input(tmp_path, complexity="complex", duration_seconds=60)
    simple = stage_input(tmp_path, complexity="simple", duration_seconds=60)
    assert stage_estimates(ctx.settings, complex_input.request)["audio_synthesis"] == pytest.approx(
        cost_policy.max_narration_chars(60) * 15.0 / 1_000_000, abs=1e-6
    )
    assert stage_estimates(ctx.settings, simple.request)["audio_synthesis"] == ctx.settings.overhead_usd_per_stage
    outcome = await speech.synthesize(ctx, complex_input, script_for(complex_input), out_dir(complex_input))
    assert outcome.cost.service == "openai" and len(fake.speech_requests) == 1


async def test_a_call_is_charged_before_it_leaves_and_an_error_answer_takes_it_back(
    tmp_path: Path, fake: FakeOpenAI, base_url: str
) -> None:
    reports: list[CostLine] = []

    async def sink(cost: CostLine) -> None:
        reports.append(cost)

    fake.fail_speech(Fault(200, {}, delay_seconds=30))  # an answer that will not arrive in time
    inp = stage_input(tmp_path)
    with charges_to(sink):
        call = asyncio.create_task(speech.synthesize(context(tmp_path, base_url), inp, script_for(inp), out_dir(inp)))
        assert await asyncio.to_thread(fake.speech_requested.wait, 10)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
    text = fake.speech_requests[0].body["input"]
    assert [r.metadata for r in reports] == [{"characters": 0, "requests": 0, "unconfirmed_characters": len(text)}]
    assert reports[0].amount_usd == pytest.approx(len(text) * 15.0 / 1_000_000)

    reports.clear()
    fake.fail_speech(Fault(503, {"error": {"message": "busy", "type": "server_error"}}))
    with charges_to(sink):
        err = await synthesis_failure(context(tmp_path, base_url), tmp_path / "again")
    assert reports[0].metadata["unconfirmed_characters"] == len(text)
    final = charge_of(err)
    assert final is not None and final.amount_usd == 0.0 and "unconfirmed_characters" not in final.metadata

    reports.clear()
    with charges_to(sink):
        await speech.synthesize(context(tmp_path, base_url), inp, script_for(inp), out_dir(inp))
    assert reports[-1].metadata == {"characters": len(text), "requests": 1}


async def test_a_server_that_wants_a_key_and_gets_none_names_the_setting(
    tmp_path: Path, fake: FakeOpenAI, base_url: str
) -> None:
    """A server that wants a key, given none: the 401 says which setting to fill in."""
    err = await synthesis_failure(context(tmp_path, base_url, openai_tts_api_key=None), tmp_path)
    assert err.type == "ProviderAuthFailed" and "YTEMPIRE_OPENAI_TTS_API_KEY" in str(err)
    assert "authorization" not in fake.speech_requests[0].headers
