"""The pipeline's own events for the events table: what a stage and a video did, each with an id fixed by what it
records (core.events.pipeline_event_id), so an activity retried after writing one adds nothing."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from core import cost_policy
from core.domain import CostAlert, FinalizeInput, StageInput, StageResult, VideoStatusChange
from core.events import PIPELINE_SOURCE, Event, EventLevel, pipeline_event_id
from ledger import Ledger

log = logging.getLogger(__name__)
MESSAGE_CHARS = 500


def stage_started(inp: StageInput, attempt: int) -> Event:
    return _stage_event(
        inp, "stage_started", pipeline_event_id(*_stage_key(inp), attempt, "started"), details={"attempt": attempt}
    )


def stage_finished(inp: StageInput, result: StageResult) -> Event:
    """One per stage and whole-video attempt, whichever activity attempt booked it."""
    seconds = result.details.get("seconds")
    service = result.details.get("service")
    return _stage_event(
        inp,
        "stage_finished",
        pipeline_event_id(*_stage_key(inp), "finished"),
        service=str(service) if service else None,
        duration_seconds=float(seconds) if isinstance(seconds, int | float) else None,
        cost_usd=result.cost_usd,
        details={"video_attempt": inp.video_attempt, "execution": inp.execution},
    )


def stage_finished_events(inp: StageInput, result: StageResult) -> list[Event]:
    """The stage's `stage_finished`, and for an upload to YouTube its `video_uploaded` (with the YouTube id)."""
    events = [stage_finished(inp, result)]
    youtube_id = result.details.get("youtube_video_id")
    if youtube_id:
        events.append(
            _stage_event(
                inp,
                "video_uploaded",
                pipeline_event_id(*_stage_key(inp), "uploaded"),
                service="youtube",
                details={"youtube_video_id": str(youtube_id), "quota_units": result.details.get("quota_units")},
            )
        )
    return events


def stage_failed(
    inp: StageInput, attempt: int, error_type: str, message: str, *, final: bool, infrastructure: bool
) -> Event:
    return _stage_event(
        inp,
        "stage_failed",
        pipeline_event_id(*_stage_key(inp), attempt, "failed"),
        level="error" if final else "warning",
        details={
            "attempt": attempt,
            "error_type": error_type,
            "message": message[:MESSAGE_CHARS],
            "final": final,
            "infrastructure": infrastructure,
        },
    )


def video_status_changed(change: VideoStatusChange, run_id: str | None, activity_id: str) -> Event:
    """A halt for an approval, or the resumption after one."""
    return Event(
        event_id=pipeline_event_id(change.video_id, run_id, activity_id, change.status),
        occurred_at=datetime.now(UTC),
        kind="budget_approved" if change.status == "processing" else f"video_{change.status}",
        source=PIPELINE_SOURCE,
        video_id=UUID(change.video_id),
        stage=change.stage,
        details={"status": change.status, **({"message": change.note} if change.note else {})},
    )


def cost_alert(alert: CostAlert, run_id: str | None, activity_id: str) -> Event:
    """The alert itself: once per video and kind, a halt once per halt."""
    once = alert.kind in cost_policy.ALERTS_ONCE_PER_VIDEO
    return Event(
        event_id=pipeline_event_id(alert.video_id, alert.kind, "alert")
        if once
        else pipeline_event_id(alert.video_id, run_id, activity_id, alert.kind),
        occurred_at=datetime.now(UTC),
        kind=alert.kind,
        source=PIPELINE_SOURCE,
        level=cast(EventLevel, alert.level),
        video_id=UUID(alert.video_id),
        cost_usd=alert.spent_usd,
        details={"cap_usd": alert.cap_usd, "threshold_usd": alert.threshold_usd, "message": alert.message},
    )


def video_finished(inp: FinalizeInput, run_id: str | None) -> Event:
    return Event(
        event_id=pipeline_event_id(inp.video_id, run_id, "final"),
        occurred_at=datetime.now(UTC),
        kind=f"video_{inp.status}",
        source=PIPELINE_SOURCE,
        level="error" if inp.status == "failed" else "info",
        video_id=UUID(inp.video_id),
        stage=inp.stage,
        details={
            k: v
            for k, v in (("error_type", inp.error_type), ("message", (inp.error_message or "")[:MESSAGE_CHARS]))
            if v
        },
    )


async def record_quietly(ledger: Ledger, event: Event) -> None:
    """Write `event`, and only log when that fails: for the failure path, where raising would hide the stage's own
    error (and its retry policy) behind the database's."""
    try:
        await ledger.record_events([event])
    except Exception as err:  # noqa: BLE001 - the stage's error is the one to raise
        log.warning("event %s of video %s not recorded: %s", event.kind, event.video_id, err)


def _stage_key(inp: StageInput) -> tuple[object, ...]:
    return (inp.request.video_id, inp.video_attempt, inp.stage, inp.execution)


def _stage_event(
    inp: StageInput,
    kind: str,
    event_id: UUID,
    *,
    level: EventLevel = "info",
    service: str | None = None,
    duration_seconds: float | None = None,
    cost_usd: float | None = None,
    details: dict[str, Any],
) -> Event:
    return Event(
        event_id=event_id,
        occurred_at=datetime.now(UTC),
        kind=kind,
        source=PIPELINE_SOURCE,
        level=level,
        video_id=UUID(inp.request.video_id),
        channel_id=UUID(inp.request.channel_id),
        stage=inp.stage,
        service=service,
        duration_seconds=duration_seconds,
        cost_usd=cost_usd,
        details=details,
    )
