"""A stage's own failures spend the spec's attempts, and only they: the attempt that fails for the spec's last time
makes its error final, whatever attempt number Temporal is at after attempts lost with their workers. While a stage
runs it heartbeats, so a lost worker is noticed within seconds and a cancel reaches it."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.stage_runner import run_stage
from core.domain import StageInput
from core.errors import ErrorType
from core.records import StageOutcome
from core.stage_table import STAGES_BY_NAME
from ledger import Ledger
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
