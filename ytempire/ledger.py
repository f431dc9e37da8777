"""The PostgreSQL ledger: `video_queue` rows and `pipeline_costs`, written by the API and the activities."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from ytempire.domain import VideoRequest


@dataclass(frozen=True)
class CostLine:
    service: str
    operation: str
    amount_usd: float
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VideoRow:
    video_id: str
    channel_id: str
    status: str
    stage: str | None
    priority: int
    complexity: str
    actual_cost: float | None
    created_at: datetime
    processing_started_at: datetime | None
    completed_at: datetime | None
    processing_time_seconds: int | None
    retry_count: int
    error_log: list[dict[str, Any]]
    request_data: dict[str, Any]


@dataclass(frozen=True)
class CostRow:
    stage: str
    service: str
    operation: str
    amount_usd: float


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
    assert pool is not None
    return pool


class Ledger:
    """Queue and cost bookkeeping. Every write is idempotent so a retried activity can repeat it safely."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def insert_video(self, request: VideoRequest, request_data: dict[str, Any]) -> None:
        await self._pool.execute(
            """INSERT INTO video_queue (id, user_id, channel_id, priority, complexity, request_data)
               VALUES ($1, $2, $3, $4, $5, $6::jsonb)""",
            request.video_id,
            request.user_id,
            request.channel_id,
            request.priority,
            request.complexity,
            json.dumps(request_data),
        )

    async def delete_video(self, video_id: str) -> None:
        """Undo an insert whose workflow could not be started (nothing half-created stays behind)."""
        await self._pool.execute("DELETE FROM video_queue WHERE id = $1 AND status = 'queued'", video_id)

    async def get_video(self, video_id: str) -> VideoRow | None:
        row = await self._pool.fetchrow("SELECT * FROM video_queue WHERE id = $1", video_id)
        if row is None:
            return None
        return VideoRow(
            video_id=str(row["id"]),
            channel_id=str(row["channel_id"]),
            status=row["status"],
            stage=row["stage"],
            priority=row["priority"],
            complexity=row["complexity"],
            actual_cost=float(row["actual_cost"]) if row["actual_cost"] is not None else None,
            created_at=row["created_at"],
            processing_started_at=row["processing_started_at"],
            completed_at=row["completed_at"],
            processing_time_seconds=row["processing_time_seconds"],
            retry_count=row["retry_count"],
            error_log=json.loads(row["error_log"]) if row["error_log"] else [],
            request_data=json.loads(row["request_data"]),
        )

    async def queue_position(self, video_id: str) -> int:
        """1-based rank among queued videos by the spec's order (priority DESC, created_at ASC); 0 if not queued."""
        value = await self._pool.fetchval(
            """SELECT CASE WHEN me.status <> 'queued' THEN 0 ELSE (
                   SELECT count(*) FROM video_queue q
                   WHERE q.status = 'queued'
                     AND (q.priority > me.priority OR (q.priority = me.priority AND q.created_at <= me.created_at))
               ) END
               FROM video_queue me WHERE me.id = $1""",
            video_id,
        )
        return int(value or 0)

    async def count_active(self) -> tuple[int, int]:
        row = await self._pool.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'queued') AS queued,"
            " count(*) FILTER (WHERE status = 'processing') AS processing FROM video_queue"
        )
        assert row is not None
        return int(row["queued"]), int(row["processing"])

    async def recent_processing_seconds(self, limit: int = 20) -> list[int]:
        rows = await self._pool.fetch(
            """SELECT processing_time_seconds FROM video_queue
               WHERE status = 'completed' AND processing_time_seconds IS NOT NULL
               ORDER BY completed_at DESC LIMIT $1""",
            limit,
        )
        return [int(r["processing_time_seconds"]) for r in rows]

    async def stage_started(self, video_id: str, stage: str, attempt: int) -> None:
        await self._pool.execute(
            """UPDATE video_queue SET
                   status = CASE WHEN status IN ('cancelled', 'completed') THEN status ELSE 'processing' END,
                   stage = $2,
                   processing_started_at = COALESCE(processing_started_at, NOW()),
                   retry_count = retry_count + CASE WHEN $3 > 1 THEN 1 ELSE 0 END
               WHERE id = $1""",
            video_id,
            stage,
            attempt,
        )

    async def stage_failed(self, video_id: str, stage: str, attempt: int, error_type: str, message: str) -> None:
        entry = {"stage": stage, "attempt": attempt, "type": error_type, "message": message[:2000]}
        await self._pool.execute(
            """UPDATE video_queue SET error_log = COALESCE(error_log, '[]'::jsonb) || jsonb_build_array($2::jsonb)
               WHERE id = $1""",
            video_id,
            json.dumps({**entry, "at": datetime.now().astimezone().isoformat()}),
        )

    async def record_stage_cost(self, video_id: str, stage: str, cost: CostLine) -> None:
        """Write the stage's cost row once (a retry after a crash is a no-op) and refresh the video's totals."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO pipeline_costs (video_id, stage, service, operation, amount, metadata)
                   VALUES ($1, $2, $3, $4, $5, $6::jsonb)
                   ON CONFLICT (video_id, stage) DO NOTHING""",
                video_id,
                stage,
                cost.service,
                cost.operation,
                round(cost.amount_usd, 4),
                json.dumps(cost.metadata),
            )
            await conn.execute(
                """UPDATE video_queue v SET
                       actual_cost = c.total,
                       cost_breakdown = c.breakdown
                   FROM (SELECT COALESCE(sum(amount), 0) AS total,
                                jsonb_object_agg(stage, amount) AS breakdown
                         FROM pipeline_costs WHERE video_id = $1) c
                   WHERE v.id = $1""",
                video_id,
            )

    async def stage_costs(self, video_id: str) -> list[CostRow]:
        rows = await self._pool.fetch(
            "SELECT stage, service, operation, amount FROM pipeline_costs WHERE video_id = $1 ORDER BY id",
            video_id,
        )
        return [CostRow(r["stage"], r["service"], r["operation"], float(r["amount"])) for r in rows]

    async def finalize(
        self, video_id: str, status: str, error_type: str | None = None, error_message: str | None = None
    ) -> None:
        await self._pool.execute(
            """UPDATE video_queue SET
                   status = $2::varchar,
                   stage = CASE WHEN $2::varchar = 'completed' THEN NULL ELSE stage END,
                   completed_at = NOW(),
                   processing_time_seconds = CASE WHEN processing_started_at IS NULL THEN NULL
                       ELSE CEIL(EXTRACT(EPOCH FROM (NOW() - processing_started_at)))::int END,
                   metadata = metadata || jsonb_strip_nulls(jsonb_build_object(
                       'final_error_type', $3::text, 'final_error', $4::text))
               WHERE id = $1""",
            video_id,
            status,
            error_type,
            error_message,
        )
