"""The stages write their events as they go (started, finished with duration and cost, each failure), once each
however often Temporal runs the activity: an attempt that finds its stage already booked adds no second 'finished',
and a stage whose event write fails on the failure path still raises its own error."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.pipeline import PipelineActivities
from activities.stage_runner import run_stage
from core.domain import CostAlert, FinalizeInput, StageInput, VideoStatusChange
from core.errors import ErrorType
from core.events import Event
from core.records import CostLine, StageOutcome
from core.settings import Settings
from ledger import Ledger
from telemetry.worker_metrics import WorkerMetrics
from tests.admission import admitted_video


async def events_of(ledger: Ledger, video_id: str) -> list[Event]:
    stored = await ledger.stored_events(since=datetime.now(UTC) - timedelta(hours=1), video_id=UUID(video_id))
    return [s.event for s in stored]


async def test_a_stage_writes_started_and_finished_once_however_often_it_runs(tmp_path: Path, ledger: Ledger) -> None:
    request = await admitted_video(ledger, "octopus hearts")
    inp = StageInput("media_collection", request, str(tmp_path / "video"), str(tmp_path / "outbox"))

    manifest = tmp_path / "media.json"
    manifest.write_text("{}")

    async def body() -> StageOutcome:
        return StageOutcome({"media": str(manifest)}, CostLine("pexels", "search", 0.003), {"items": 6})

    env = ActivityEnvironment()
    first = await env.run(run_stage, ledger, inp, body, WorkerMetrics())
    env.info = dataclasses.replace(env.info, attempt=2)  # its reply was lost: Temporal runs it again
    again = await env.run(run_stage, ledger, inp, body, WorkerMetrics())
    assert again.details["booked_earlier"] == 1.0 and again.cost_usd == first.cost_usd

    events = await events_of(ledger, request.video_id)
    assert [e.kind for e in events] == ["stage_started", "stage_finished"]
    started, finished = events
    assert started.stage == finished.stage == "media_collection"
    assert finished.channel_id == UUID(request.channel_id) and finished.service == "pexels"
    assert finished.cost_usd == pytest.approx(0.003) and finished.duration_seconds == first.details["seconds"]


async def test_an_upload_to_youtube_is_an_event_with_its_youtube_id(tmp_path: Path, ledger: Ledger) -> None:
    request = await admitted_video(ledger, "octopus hearts")
    inp = StageInput("upload_preparation", request, str(tmp_path / "video"), str(tmp_path / "outbox"))

    async def body() -> StageOutcome:
        details = {"provider": "youtube", "youtube_video_id": "dQw4w9WgXcQ", "quota_units": 51}
        return StageOutcome(
            {}, CostLine("youtube", "videos.insert", 0.002, {"youtube_video_id": "dQw4w9WgXcQ"}), details
        )

    env = ActivityEnvironment()
    await env.run(run_stage, ledger, inp, body, WorkerMetrics())
    await env.run(run_stage, ledger, inp, body, WorkerMetrics())  # its reply lost: run again, nothing new
    events = await events_of(ledger, request.video_id)
    assert [e.kind for e in events] == ["stage_started", "stage_finished", "video_uploaded"]
    uploaded = events[-1]
    assert uploaded.details == {"youtube_video_id": "dQw4w9WgXcQ", "quota_units": 51} and uploaded.service == "youtube"


async def test_each_failed_attempt_is_an_event_and_the_last_says_final(tmp_path: Path, ledger: Ledger) -> None:
    request = await admitted_video(ledger, "octopus hearts")
    inp = StageInput("audio_synthesis", request, str(tmp_path / "video"), str(tmp_path / "outbox"))

    async def failing() -> StageOutcome:
        raise ApplicationError("ElevenLabs answered 503", type=ErrorType.PROVIDER_UNAVAILABLE)

    env = ActivityEnvironment()
    for attempt in (1, 2, 3):
        env.info = dataclasses.replace(env.info, attempt=attempt)
        with pytest.raises(ApplicationError):
            await env.run(run_stage, ledger, inp, failing, WorkerMetrics())
    failures = [e for e in await events_of(ledger, request.video_id) if e.kind == "stage_failed"]
    assert [(e.details["attempt"], e.details["final"], e.level) for e in failures] == [
        (1, False, "warning"),
        (2, False, "warning"),
        (3, True, "error"),
    ]
    assert {e.details["error_type"] for e in failures} == {ErrorType.PROVIDER_UNAVAILABLE}
    assert "503" in failures[0].details["message"]


async def test_halts_approvals_alerts_and_the_end_are_events(tmp_path: Path, ledger: Ledger) -> None:
    request = await admitted_video(ledger, "octopus hearts")
    activities = PipelineActivities(Settings(_env_file=None, data_dir=tmp_path), ledger, WorkerMetrics())  # type: ignore[call-arg]
    env = ActivityEnvironment()
    alert = CostAlert(request.video_id, "cost_halt", "critical", "halted at $1.02 of $1.00", 1.02, 1.0, 1.0)
    assert await env.run(activities.record_cost_alert, alert)
    assert await env.run(activities.record_cost_alert, alert)  # the same run's retry delivers it again
    await env.run(activities.set_video_status, VideoStatusChange(request.video_id, "halted", None, "video_rendering"))
    await env.run(activities.set_video_status, VideoStatusChange(request.video_id, "processing", "ops: approved $2"))
    await env.run(activities.finalize_video, FinalizeInput(request.video_id, "completed"))

    events = await events_of(ledger, request.video_id)
    assert [e.kind for e in events] == ["cost_halt", "video_halted", "budget_approved", "video_completed"]
    halt = events[0]
    assert (halt.level, halt.cost_usd, halt.details["cap_usd"]) == ("critical", pytest.approx(1.02), 1.0)
    assert events[1].stage == "video_rendering" and events[2].details["message"] == "ops: approved $2"
    assert {e.channel_id for e in events} == {UUID(request.channel_id)}  # from the video, where none was named

    # Approved, it may halt again: a later halt is an event of its own.
    env.info = dataclasses.replace(env.info, activity_id="a-later-halt")
    assert await env.run(activities.record_cost_alert, alert)
    assert [e.kind for e in await events_of(ledger, request.video_id)].count("cost_halt") == 2
