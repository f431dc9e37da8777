"""A stage that succeeded and was booked, then lost its worker before Temporal heard, is not run again: its retry
returns what the ledger recorded (artifacts and cost), and the provider is not billed twice."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import asyncpg
import pytest
from temporalio.testing import ActivityEnvironment

from activities.pipeline import PipelineActivities
from core.domain import StageInput
from core.settings import Settings
from ledger import Ledger
from telemetry.worker_metrics import WorkerMetrics
from tests.admission import admitted_video
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.server import serve


async def test_a_booked_stage_retried_after_a_crash_returns_the_ledgers_result(
    tmp_path: Path, ledger: Ledger, pg_pool: asyncpg.Pool
) -> None:
    fake = FakeOpenAI(narration_words=75)
    request = await admitted_video(ledger, "octopus hearts", duration_seconds=30)
    inp = StageInput("script_generation", request, str(tmp_path / "video"), str(tmp_path / "outbox"))
    with serve(fake.app) as url:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp_path / "data",
            script_provider="openai",
            openai_api_key=fake.api_key,
            openai_base_url=f"{url}/v1",
            cache_enabled=False,  # nothing may serve the retry but the ledger
        )
        activities = PipelineActivities(settings, ledger, WorkerMetrics())
        env = ActivityEnvironment()
        first = await env.run(activities.generate_script, inp)  # booked; then, say, the worker was SIGKILLed
        env.info = dataclasses.replace(env.info, attempt=2)
        retried = await env.run(activities.generate_script, inp)

    assert len(fake.requests) == 1, "the provider is billed once"
    [row] = await ledger.stage_costs(request.video_id)
    assert retried.cost_usd == pytest.approx(row.amount_usd) == pytest.approx(first.cost_usd)
    assert retried.artifacts == first.artifacts
    assert retried.details["booked_earlier"] == 1.0
