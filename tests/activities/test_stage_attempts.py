"""A stage's own failures spend the spec's attempts, and only they: the attempt that fails for the spec's last time
makes its error final, whatever attempt number Temporal is at after attempts lost with their workers. While a stage
runs it heartbeats, so a lost worker is noticed within seconds and a cancel reaches it."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.pipeline import PipelineActivities
from activities.stage_runner import run_stage
from core.domain import StageInput, VideoRetry
from core.errors import ErrorType
from core.failed_charges import failed_charges_of
from core.records import CostLine, StageOutcome
from core.settings import Settings
from core.stage_table import STAGES_BY_NAME
from engines.render.runner import FFmpegError
from ledger import Ledger
from providers.errors import attach_charge
from telemetry.worker_metrics import WorkerMetrics
from tests.admission import admitted_video


async def failing_body() -> StageOutcome:
    raise ApplicationError("ElevenLabs answered 503", type=ErrorType.PROVIDER_UNAVAILABLE)


async def test_the_last_own_failure_is_final_after_lost_attempts(tmp_path: Path, ledger: Ledger) -> None:
    spec = STAGES_BY_NAME["audio_synthesis"]
    request = await admitted_video(ledger, "octopus hearts")
    inp = StageInput(spec.name, request, str(tmp_path / "video"), str(tmp_path / "outbox"))
    env = ActivityEnvironment()
    lost = 2  # attempts 1 and 2 died with their workers: they raised nothing, recorded nothing
    retryable: list[bool] = []
    for attempt in range(lost + 1, lost + spec.max_attempts + 1):
        env.info = dataclasses.replace(env.info, attempt=attempt)
        with pytest.raises(ApplicationError) as err:
            await env.run(run_stage, ledger, inp, failing_body, WorkerMetrics())
        assert err.value.type == ErrorType.PROVIDER_UNAVAILABLE and "503" in err.value.message
        retryable.append(not err.value.non_retryable)
    assert retryable == [True] * (spec.max_attempts - 1) + [False]
    assert await ledger.stage_failure_count(request.video_id, spec.name, 1) == spec.max_attempts
    # A whole-video retry (attempt 2 of the video) starts with the stage's own attempts whole again.
    assert await ledger.stage_failure_count(request.video_id, spec.name, 2) == 0


async def test_a_running_stage_heartbeats_and_hears_a_cancel(tmp_path: Path, ledger: Ledger) -> None:
    request = await admitted_video(ledger, "octopus hearts")
    inp = StageInput("media_collection", request, str(tmp_path / "video"), str(tmp_path / "outbox"))
    beats: list[Any] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details)

    async def slow_body() -> StageOutcome:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    task = asyncio.ensure_future(env.run(run_stage, ledger, inp, slow_body, WorkerMetrics()))
    await asyncio.sleep(2.5)
    assert len(beats) >= 2 and beats[-1][0]["stage"] == "media_collection"
    asked = time.monotonic()
    env.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - asked < 1.0


async def test_an_attempt_that_could_cross_the_cap_is_refused(tmp_path: Path, ledger: Ledger) -> None:
    """Billed failures (ElevenLabs and OpenAI charge failed requests) eat the stage's budget: once another attempt
    could cross the cap, the stage refuses it, non-retryably, without calling the provider, and says what its
    failed attempts were billed (the workflow adds that and halts for an approval)."""
    request = await admitted_video(ledger, "octopus hearts")
    calls: list[int] = []

    async def billed_failure() -> StageOutcome:
        calls.append(1)
        raise attach_charge(
            ApplicationError("ElevenLabs answered 500 after billing", type=ErrorType.PROVIDER_UNAVAILABLE),
            CostLine("elevenlabs", "tts_failed", 0.04),
        )

    inp = StageInput(
        "audio_synthesis",
        request,
        str(tmp_path / "video"),
        str(tmp_path / "outbox"),
        budget_usd=0.10,
        estimate_usd=0.04,
    )
    env = ActivityEnvironment()
    outcomes: list[tuple[str | None, bool, float]] = []
    for attempt in (1, 2, 3):
        env.info = dataclasses.replace(env.info, attempt=attempt)
        with pytest.raises(ApplicationError) as err:
            await env.run(run_stage, ledger, inp, billed_failure, WorkerMetrics())
        outcomes.append((err.value.type, err.value.non_retryable, failed_charges_of(err.value)))
    assert outcomes[0] == (ErrorType.PROVIDER_UNAVAILABLE, False, pytest.approx(0.04))
    assert outcomes[1] == (ErrorType.PROVIDER_UNAVAILABLE, False, pytest.approx(0.08))
    assert outcomes[2] == (ErrorType.STAGE_BUDGET_EXHAUSTED, True, pytest.approx(0.08))  # 0.08 + 0.04 > 0.10
    assert len(calls) == 2, "the refused attempt never reached the provider"
    # After an approval the stage runs again (execution 2): its own failed attempts start from zero, and the
    # first execution's charges, counted by the workflow already, are not counted twice.
    again = dataclasses.replace(inp, budget_usd=0.50, execution=2)
    env.info = dataclasses.replace(env.info, attempt=1)
    with pytest.raises(ApplicationError) as err:
        await env.run(run_stage, ledger, again, billed_failure, WorkerMetrics())
    assert err.value.type == ErrorType.PROVIDER_UNAVAILABLE and len(calls) == 3
    assert await ledger.spent_usd(request.video_id) == pytest.approx(0.12)


async def test_a_retry_inherits_what_the_ledger_booked(tmp_path: Path, own_ledger: Ledger) -> None:
    """The render was booked, then its worker died before Temporal heard, and the render ran out of attempts: the
    whole-video retry counts its cost and reuses it instead of rendering (and paying) again."""
    ledger = own_ledger  # its made-up stage durations stay out of the shared ledger's ETA medians
    request = await admitted_video(ledger, "octopus hearts")
    output = tmp_path / "out.bin"
    output.write_bytes(b"x")
    await ledger.stage_started(request.video_id, "video_rendering", 6)
    for stage, amount in (("script_generation", 0.01), ("audio_synthesis", 0.02), ("video_rendering", 0.03)):
        line = CostLine("fake", "stage", amount, {"artifacts": {stage: str(output)}})
        await ledger.record_stage_cost(request.video_id, stage, line, 1)
    await ledger.record_failed_charge(request.video_id, "media_collection", 1, 1, CostLine("fake", "failed", 0.005))
    line = CostLine("fake", "stage", 0.04, {"artifacts": {"media_collection": str(output)}})
    await ledger.record_stage_cost(request.video_id, "media_collection", line, 1)
    stages = PipelineActivities(Settings(_env_file=None), ledger, WorkerMetrics())  # type: ignore[call-arg]
    retry = VideoRetry(request.video_id, 2, "video_rendering", ErrorType.STAGE_TIMEOUT, "timed out", 1.0)
    plan = await ActivityEnvironment().run(stages.schedule_video_retry, retry)
    assert plan.spent_usd == pytest.approx(0.105)
    assert list(plan.resume) == ["script_generation", "audio_synthesis", "media_collection", "video_rendering"]
    row = await ledger.get_video(request.video_id)
    assert row is not None and (row.status, row.attempts) == ("queued", 2)


async def test_an_ffmpeg_killed_by_a_signal_does_not_spend_the_renders_own_attempts(
    tmp_path: Path, ledger: Ledger
) -> None:
    """SIGKILL (the OOM killer) under the render is the machine's fault: however often, it stays retryable within
    the retry policy's infrastructure budget; an ffmpeg that fails by itself spends the render's own attempts."""
    request = await admitted_video(ledger, "octopus hearts")
    inp = StageInput("video_rendering", request, str(tmp_path / "video"), str(tmp_path / "outbox"))
    env = ActivityEnvironment()

    def failing(returncode: int) -> Callable[[], Awaitable[StageOutcome]]:
        async def body() -> StageOutcome:
            raise FFmpegError(returncode, "Conversion failed!")

        return body

    for attempt in (1, 2, 3):
        env.info = dataclasses.replace(env.info, attempt=attempt)
        with pytest.raises(ApplicationError) as killed:
            await env.run(run_stage, ledger, inp, failing(-9), WorkerMetrics())
        assert not killed.value.non_retryable
    assert await ledger.stage_failure_count(request.video_id, "video_rendering", 1) == 0
    outcomes = []
    for attempt in (4, 5):
        env.info = dataclasses.replace(env.info, attempt=attempt)
        with pytest.raises(ApplicationError) as failed:
            await env.run(run_stage, ledger, inp, failing(1), WorkerMetrics())
        outcomes.append(failed.value.non_retryable)
    assert outcomes == [False, True]  # the render's two own attempts
