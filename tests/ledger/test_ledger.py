"""The ledger against a real PostgreSQL: idempotent cost rows, positions, final status."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from core.domain import VideoRequest
from core.errors import QueueFull
from core.records import CostLine, Failure
from ledger import Ledger
from ledger.videos import HOLDS_CAPACITY
from tests.admission import admit


def _request(priority: int = 5) -> VideoRequest:
    return VideoRequest(
        video_id=str(uuid.uuid4()),
        topic="octopus hearts",
        channel_id=str(uuid.uuid4()),
        user_id=str(uuid.uuid4()),
        priority=priority,
    )


async def test_cost_row_is_written_once_per_stage(ledger: Ledger) -> None:
    req = _request()
    await admit(ledger, req, {"topic": req.topic})
    await ledger.record_stage_cost(req.video_id, "video_rendering", CostLine("cpu_compute", "ffmpeg_render", 0.0123))
    await ledger.record_stage_cost(req.video_id, "video_rendering", CostLine("cpu_compute", "ffmpeg_render", 0.5))
    await ledger.record_stage_cost(req.video_id, "script_generation", CostLine("compute", "template", 0.002))
    costs = await ledger.stage_costs(req.video_id)
    assert [(c.stage, c.amount_usd) for c in costs] == [
        ("video_rendering", 0.0123),
        ("script_generation", 0.002),
    ]
    row = await ledger.get_video(req.video_id)
    assert row is not None and row.actual_cost == 0.01  # DECIMAL(10,2) of 0.0143


async def test_stage_progress_and_finalize(ledger: Ledger) -> None:
    req = _request()
    await admit(ledger, req, {})
    await ledger.stage_started(req.video_id, "script_generation", 1)
    await ledger.stage_failed(req.video_id, "script_generation", 1, "Boom", "it broke")
    await ledger.stage_started(req.video_id, "script_generation", 2)
    row = await ledger.get_video(req.video_id)
    assert row is not None
    assert (row.status, row.stage, row.retry_count) == ("processing", "script_generation", 1)
    assert row.error_log[0]["type"] == "Boom" and row.error_log[0]["attempt"] == 1
    await ledger.finalize(req.video_id, "failed", "Boom", "it broke")
    row = await ledger.get_video(req.video_id)
    assert row is not None and row.status == "failed" and row.completed_at is not None
    assert row.processing_time_seconds is not None


async def test_queue_position_orders_by_priority_then_age(ledger: Ledger) -> None:
    low, high, high_later = _request(2), _request(9), _request(9)
    for req in (low, high, high_later):
        await admit(ledger, req, {})
    positions = [await ledger.queue_position(r.video_id) for r in (high, high_later, low)]
    assert positions[0] < positions[1] < positions[2]


async def test_cost_alert_is_recorded_once_per_video_and_kind(ledger: Ledger) -> None:
    req = _request()
    await admit(ledger, req, {})
    first = await ledger.record_video_alert_once(req.video_id, "cost_warning")
    again = await ledger.record_video_alert_once(req.video_id, "cost_warning")
    critical = await ledger.record_video_alert_once(req.video_id, "cost_critical")
    assert (first, again, critical) == (True, False, True)
    with pytest.raises(asyncpg.CheckViolationError):  # a halt may come again: never claimed once
        await ledger.record_video_alert_once(req.video_id, "cost_halt")


async def test_a_status_moves_only_along_the_table(ledger: Ledger) -> None:
    """Late or repeated writes (a stage start after the end, a halt of a finished video) change nothing."""
    req = _request()
    await admit(ledger, req)
    await ledger.set_status(req.video_id, "halted")  # halted before its first stage: the ledger says so too
    assert (await status_of(ledger, req)) == "halted"
    await ledger.stage_started(req.video_id, "script_generation", 1)
    assert (await status_of(ledger, req)) == "processing"
    await ledger.finalize(req.video_id, "completed")
    await ledger.stage_started(req.video_id, "upload_preparation", 2)
    await ledger.set_status(req.video_id, "halted")
    row = await ledger.get_video(req.video_id)
    assert row is not None and row.status == "completed" and row.stage is None
    failed = _request()
    await admit(ledger, failed)
    await ledger.finalize(failed.video_id, "failed", "Boom", "it broke")
    await ledger.stage_started(failed.video_id, "script_generation", 2)  # only a retry brings a failed video back
    assert (await status_of(ledger, failed)) == "failed"


async def status_of(ledger: Ledger, request: VideoRequest) -> str:
    row = await ledger.get_video(request.video_id)
    assert row is not None
    return row.status


async def test_a_failure_no_activity_raised_is_in_the_error_log_once(ledger: Ledger) -> None:
    """A render lost with its worker ends in a timeout the workflow saw and no activity raised."""
    lost = _request()
    await admit(ledger, lost)
    await ledger.stage_started(lost.video_id, "video_rendering", 1)
    await ledger.finalize(lost.video_id, "failed", "StageTimeout", "video_rendering: timed out (HEARTBEAT)")
    row = await ledger.get_video(lost.video_id)
    assert row is not None and [(e["stage"], e["type"]) for e in row.error_log] == [("video_rendering", "StageTimeout")]
    assert row.failure == Failure(
        "StageTimeout", "video_rendering", "video_rendering: timed out (HEARTBEAT)", retry_worthwhile=True
    )
    raised = _request()
    await admit(ledger, raised)
    await ledger.stage_started(raised.video_id, "quality_validation", 1)
    await ledger.stage_failed(raised.video_id, "quality_validation", 1, "QualityCheckFailed", "too short")
    await ledger.finalize(raised.video_id, "failed", "QualityCheckFailed", "quality_validation: too short")
    row = await ledger.get_video(raised.video_id)
    assert row is not None and [e["type"] for e in row.error_log] == ["QualityCheckFailed"]
    assert row.failure == Failure("QualityCheckFailed", "quality_validation", "too short", retry_worthwhile=False)


async def test_text_postgresql_refuses_is_stored_replaced_not_retried_forever(ledger: Ledger) -> None:
    req = _request()
    await admit(ledger, req)
    await ledger.record_event("budget_approved", "info", "by ma\x00ria", {"why\x00": "flag\ud800ship"}, req.video_id)
    await ledger.stage_failed(req.video_id, "script_generation", 1, "ScriptRefused", "the model said \x00")
    [event] = await ledger.video_events(req.video_id)
    assert event["message"] == "by ma\ufffdria" and event["details"] == {"why\ufffd": "flag\ufffdship"}
    row = await ledger.get_video(req.video_id)
    assert row is not None and row.error_log[0]["message"] == "the model said \ufffd"


async def test_a_retried_alert_record_is_still_this_runs_alert(ledger: Ledger) -> None:
    """The first attempt committed, then its worker died: the retry must answer True, or the webhook never goes."""
    req = _request()
    await admit(ledger, req)
    first = await ledger.record_video_alert_once(req.video_id, "cost_warning", "run-1")
    retry = await ledger.record_video_alert_once(req.video_id, "cost_warning", "run-1")
    next_attempt = await ledger.record_video_alert_once(req.video_id, "cost_warning", "run-2")
    assert (first, retry, next_attempt) == (True, True, False)


async def test_a_halted_video_holds_its_place_in_the_capacity(ledger: Ledger, pg_pool: asyncpg.Pool) -> None:
    held = f"SELECT count(*) FROM video_queue WHERE {HOLDS_CAPACITY}"
    before = int(await pg_pool.fetchval(held))
    req = _request()
    await admit(ledger, req)
    await ledger.stage_started(req.video_id, "script_generation", 1)
    await ledger.set_status(req.video_id, "halted", "video_rendering")  # waits for an approval, before its render
    after = int(await pg_pool.fetchval(held))
    assert after == before + 1
    with pytest.raises(QueueFull):
        await ledger.admit(_request(), {}, capacity=after, idempotency_key=None)
    await ledger.finalize(req.video_id, "cancelled")  # leave no halted video to later tests


async def test_a_retry_takes_a_place_in_the_queue(ledger: Ledger, pg_pool: asyncpg.Pool) -> None:
    req = _request()
    await admit(ledger, req)
    await ledger.finalize(req.video_id, "failed", "Boom", "it broke")
    held = int(await pg_pool.fetchval(f"SELECT count(*) FROM video_queue WHERE {HOLDS_CAPACITY}"))
    with pytest.raises(QueueFull):
        await ledger.begin_retry(req.video_id, 3, capacity=held)
    assert await ledger.begin_retry(req.video_id, 3, capacity=held + 1) == 2
