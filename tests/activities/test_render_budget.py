"""The render is billed by its wall time, which a loaded machine stretches past the estimate: told what the cap
leaves it, it stops there (ffmpeg killed, no partial file), books what it used, and refuses to go on."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.pipeline import PipelineActivities
from activities.rendering import RenderActivities
from core.domain import StageInput
from core.errors import ErrorType
from core.failed_charges import failed_charges_of
from core.settings import Settings
from ledger import Ledger
from telemetry.worker_metrics import WorkerMetrics
from tests.admission import admitted_video
from tests.integration.test_crash_recovery import ffmpeg_children, gone


async def test_a_render_stops_where_the_budget_ends(
    tmp_path: Path, ledger: Ledger, dev_env: WorkflowEnvironment
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", compute_usd_per_render_second=1.0)  # type: ignore[call-arg]
    request = await admitted_video(ledger, "octopus hearts", duration_seconds=30)
    stages = PipelineActivities(settings, ledger, WorkerMetrics())
    env = ActivityEnvironment(client=dev_env.client)
    video_dir = str(settings.artifacts_dir / request.video_id)
    artifacts: dict[str, str] = {}
    for name, run in (
        ("script_generation", stages.generate_script),
        ("audio_synthesis", stages.synthesize_audio),
        ("media_collection", stages.collect_media),
    ):
        result = await env.run(run, StageInput(name, request, video_dir, str(settings.outbox_dir), dict(artifacts)))
        artifacts.update(result.artifacts)

    render = RenderActivities(settings, ledger, prefer_gpu=False, metrics=WorkerMetrics())
    inp = StageInput(
        "video_rendering",
        request,
        video_dir,
        str(settings.outbox_dir),
        artifacts,
        budget_usd=0.8,  # $1 per render second: 0.8 s of a render that takes several
        estimate_usd=0.5,
    )
    with pytest.raises(ApplicationError) as err:
        await env.run(render.render_video, inp)
    assert err.value.type == ErrorType.STAGE_BUDGET_EXHAUSTED and err.value.non_retryable
    billed = failed_charges_of(err.value)
    assert 0.8 <= billed < 1.5, "it ran what the budget paid for, and that much was booked"
    assert await ledger.spent_usd(request.video_id) == pytest.approx(
        billed + sum(c.amount_usd for c in await ledger.stage_costs(request.video_id)), abs=1e-4
    )
    await asyncio.sleep(0.2)
    assert all(gone(pid) for pid in ffmpeg_children(os.getpid())), "no ffmpeg left running"
    assert not list(Path(video_dir).glob("*.partial.mp4")) and not (Path(video_dir) / "final.mp4").exists()
