"""Notable pipeline events (queue depth, repairs, retries) as rows of the `events` table, read back per video or
kind; and cost alerts, once per video and kind (`video_cost_alerts`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast
from uuid import UUID, uuid4

from core.events import PIPELINE_SOURCE, Event, EventLevel
from ledger.event_store import append_events
from ledger.tables import Table

_NOTABLE_SQL = """SELECT kind, level, details, occurred_at FROM events
WHERE {where} ORDER BY occurred_at, recorded_at"""


def notable_event(
    kind: str,
    level: str,
    message: str,
    details: dict[str, Any],
    video_id: str | None = None,
    event_id: UUID | None = None,
) -> Event:
    """A pipeline event whose text is `message` (kept in details.message)."""
    return Event(
        event_id=event_id or uuid4(),
        occurred_at=datetime.now(UTC),
        kind=kind,
        source=PIPELINE_SOURCE,
        level=cast(EventLevel, level),
        video_id=UUID(video_id) if video_id else None,
        details={**details, "message": message},
    )


@dataclass(frozen=True)
class StageRun:
    """A stage that finished or failed (a failure Temporal retries is one run; the final one says `final`)."""

    stage: str
    outcome: Literal["finished", "failed"]
    at: datetime
    duration_seconds: float | None  # finished runs: the stage's own time
    cost_usd: float | None
    error_type: str | None  # failed runs
    final: bool


class EventLog(Table):
    async def record_event(
        self,
        kind: str,
        level: str,
        message: str,
        details: dict[str, Any],
        video_id: str | None = None,
        event_id: UUID | None = None,
    ) -> None:
        async with self._pool.acquire() as conn:
            await append_events(conn, [notable_event(kind, level, message, details, video_id, event_id)])

    async def record_video_alert_once(self, video_id: str, kind: str, recorded_by: str | None = None) -> bool:
        """Claim cost alert `kind` for this video unless it has one. True when the alert is this run's to deliver:
        claimed now, or earlier by the same `recorded_by` (the workflow run: a retried activity whose first attempt
        committed must still deliver its alert; a later whole-video attempt must not again)."""
        ours = await self._pool.fetchval(
            """WITH claimed AS (
                   INSERT INTO video_cost_alerts (video_id, kind, recorded_by) VALUES ($1, $2, $3)
                   ON CONFLICT (video_id, kind) DO NOTHING RETURNING 1)
               SELECT EXISTS (SELECT 1 FROM claimed)
                   OR ($3::text IS NOT NULL AND EXISTS (
                       SELECT 1 FROM video_cost_alerts WHERE video_id = $1 AND kind = $2 AND recorded_by = $3))""",
            UUID(video_id),
            kind,
            recorded_by,
        )
        return bool(ours)

    async def video_events(self, video_id: str) -> list[dict[str, Any]]:
        """A video's events, oldest first, as {kind, level, message, details, created_at}."""
        rows = await self._pool.fetch(_NOTABLE_SQL.format(where="video_id = $1"), UUID(video_id))
        return [_notable(r) for r in rows]

    async def stage_runs(self, video_id: str) -> list[StageRun]:
        """What each of the video's stages did, in order: a row per finished stage and per failed stage attempt."""
        rows = await self._pool.fetch(
            """SELECT stage, kind, occurred_at, duration_seconds, cost_usd, details FROM events
               WHERE video_id = $1 AND kind IN ('stage_finished', 'stage_failed') AND stage IS NOT NULL
               ORDER BY occurred_at, recorded_at""",
            UUID(video_id),
        )
        runs = []
        for r in rows:
            details = json.loads(r["details"])
            failed = r["kind"] == "stage_failed"
            runs.append(
                StageRun(
                    stage=r["stage"],
                    outcome="failed" if failed else "finished",
                    at=r["occurred_at"],
                    duration_seconds=r["duration_seconds"],
                    cost_usd=float(r["cost_usd"]) if r["cost_usd"] is not None else None,
                    error_type=str(details.get("error_type")) if failed else None,
                    final=bool(details.get("final", not failed)),
                )
            )
        return runs

    async def events(self, kind: str) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(_NOTABLE_SQL.format(where="kind = $1"), kind)
        return [_notable(r) for r in rows]


def _notable(r: Any) -> dict[str, Any]:
    details = json.loads(r["details"])
    return {
        "kind": r["kind"],
        "level": r["level"],
        "message": str(details.pop("message", "")),
        "details": details,
        "created_at": r["occurred_at"],
    }
