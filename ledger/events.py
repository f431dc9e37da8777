"""`pipeline_events`: alerts and notable events, per video or pipeline-wide."""

from __future__ import annotations

import json
from typing import Any

from core.text import storable, storable_json
from ledger.tables import Table


class EventLog(Table):
    async def record_event(
        self, kind: str, level: str, message: str, details: dict[str, Any], video_id: str | None = None
    ) -> None:
        await self._pool.execute(
            "INSERT INTO pipeline_events (video_id, kind, level, message, details) VALUES ($1, $2, $3, $4, $5::jsonb)",
            video_id,
            kind,
            level,
            storable(message),
            json.dumps(storable_json(details)),
        )

    async def record_video_alert_once(
        self,
        video_id: str,
        kind: str,
        level: str,
        message: str,
        details: dict[str, Any],
        recorded_by: str | None = None,
    ) -> bool:
        """Record a cost alert unless this video already has one of this kind. True when this alert is the video's:
        recorded now, or recorded earlier by the same `recorded_by` (the workflow run: a retried activity whose
        first attempt committed must still deliver its alert; a later whole-video attempt must not again)."""
        stored = {**details, "recorded_by": recorded_by} if recorded_by else details
        ours = await self._pool.fetchval(
            """WITH inserted AS (
                   INSERT INTO pipeline_events (video_id, kind, level, message, details)
                   VALUES ($1, $2, $3, $4, $5::jsonb)
                   ON CONFLICT (video_id, kind) WHERE kind IN ('cost_warning', 'cost_critical') DO NOTHING
                   RETURNING id)
               SELECT EXISTS (SELECT 1 FROM inserted)
                   OR ($6::text IS NOT NULL AND EXISTS (
                       SELECT 1 FROM pipeline_events
                       WHERE video_id = $1 AND kind = $2 AND details ->> 'recorded_by' = $6::text))""",
            video_id,
            kind,
            level,
            storable(message),
            json.dumps(storable_json(stored)),
            recorded_by,
        )
        return bool(ours)

    async def video_events(self, video_id: str) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(
            "SELECT kind, level, message, details, created_at FROM pipeline_events WHERE video_id = $1 ORDER BY id",
            video_id,
        )
        return [{**dict(r), "details": json.loads(r["details"])} for r in rows]

    async def events(self, kind: str) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(
            "SELECT kind, level, message, details, created_at FROM pipeline_events WHERE kind = $1 ORDER BY id", kind
        )
        return [{**dict(r), "details": json.loads(r["details"])} for r in rows]
