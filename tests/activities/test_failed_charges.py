"""A stage attempt that the provider billed but that failed anyway (an OpenAI script rejected by the content
checks) is paid by the video: one ledger row per activity attempt, in the video's totals, in the stage's result."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import asyncpg
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.pipeline import PipelineActivities
from core.domain import StageInput
from core.records import CostLine
from core.settings import Settings
from ledger import Ledger
from telemetry.worker_metrics import WorkerMetrics
from tests.admission import admitted_video
from tests.fakes.openai_api import FakeOpenAI, Scripted
from tests.fakes.server import serve


async def test_a_rejected_but_billed_script_is_charged_once_and_counted(
    tmp_path: Path, ledger: Ledger, pg_pool: asyncpg.Pool
) -> None:
    fake = FakeOpenAI(narration_words=75)
    request = await admitted_video(ledger, "octopus hearts", duration_seconds=30)
    inp = StageInput("script_generation", request, str(tmp_path / "video"), str(tmp_path / "outbox"))
    metrics = WorkerMetrics()
    with serve(fake.app) as url:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp_path / "data",
            script_provider="openai",
            openai_api_key=fake.api_key,
            openai_base_url=f"{url}/v1",
        )
        activities = PipelineActivities(settings, ledger, metrics)
        env = ActivityEnvironment()
        fake.push(Scripted(words=10))  # far too short for 30 s: rejected after the tokens were billed
        with pytest.raises(ApplicationError) as info:
            await env.run(activities.generate_script, inp)
        assert info.value.type == "ScriptContentInvalid"
        env.info = dataclasses.replace(env.info, attempt=2)
        result = await env.run(activities.generate_script, inp)

    rows = await pg_pool.fetch(
        "SELECT stage, activity_attempt, service, operation, amount, metadata FROM pipeline_failed_charges "
        "WHERE video_id = $1",
        request.video_id,
    )
    assert [(r["stage"], r["activity_attempt"], r["service"], r["operation"]) for r in rows] == [
        ("script_generation", 1, "openai", "chat_completion_rejected")
    ]
    failed = float(rows[0]["amount"])
    assert failed > 0
    success = (await ledger.stage_costs(request.video_id))[0].amount_usd
    assert result.cost_usd == pytest.approx(success + failed, abs=1e-4)
    assert result.details["failed_attempts_usd"] == pytest.approx(failed, abs=1e-4)
    breakdown = await pg_pool.fetchval("SELECT cost_breakdown FROM video_queue WHERE id = $1", request.video_id)
    assert '"script_generation:failed"' in breakdown
    # The same failed attempt's bookkeeping retried (a lost worker) is not charged twice.
    again = CostLine(rows[0]["service"], rows[0]["operation"], failed)
    assert not await ledger.record_failed_charge(request.video_id, "script_generation", 1, 1, again)
