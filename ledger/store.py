"""The PostgreSQL ledger: `video_queue` rows and `pipeline_costs`, written by the API and the activities."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from core.domain import VideoRequest
from core.records import CostLine, CostRow, GpuSnapshot

# A video waits (counts against the queue's capacity, has a position) until its render starts: the cheap
# preparation stages run ahead while it waits for one of the render slots.
PRE_RENDER_STAGES = ("script_generation", "audio_synthesis", "media_collection")


def waiting(table: str = "") -> str:
    """SQL condition: the row (of `table` alias, if given) is a waiting video."""
    col = f"{table}." if table else ""
    stages = ", ".join(f"'{stage}'" for stage in PRE_RENDER_STAGES)
    return (
        f"({col}status = 'queued' OR ({col}status = 'processing' AND ({col}stage IS NULL OR {col}stage IN ({stages}))))"
    )


WAITING = waiting()
_ADMISSION_LOCK = 7_233_002
NO_GPU = "-"  # gpu_status.gpu of the one row a worker without a usable GPU writes
GPU_STATUS_KEEP_SECONDS = 86_400  # rows of workers gone for this long are deleted (readers ignore them after 60 s)


class QueueFull(Exception):
    """The queue already holds `capacity` waiting videos."""

    def __init__(self, depth: int, capacity: int) -> None:
        super().__init__(f"the queue is full: {depth} videos waiting (capacity {capacity})")
        self.depth = depth
        self.capacity = capacity


class RetryRefused(Exception):
    """A whole-video retry that is not allowed (wrong status, or out of attempts)."""


# A video's totals: its stages' cost rows plus what failed attempts were billed (keys `stage:failed`).
_REFRESH_TOTALS_SQL = """
UPDATE video_queue v SET actual_cost = c.total, cost_breakdown = c.breakdown
FROM (SELECT COALESCE(sum(amount), 0) AS total, jsonb_object_agg(name, amount) AS breakdown
      FROM (SELECT stage || CASE WHEN video_attempt > 1 THEN '#' || video_attempt ELSE '' END AS name, amount
            FROM pipeline_costs WHERE video_id = $1
            UNION ALL
            SELECT stage || ':failed', sum(amount) FROM pipeline_failed_charges WHERE video_id = $1 GROUP BY stage
           ) lines) c
WHERE v.id = $1
"""


@dataclass(frozen=True)
class Admission:
    video_id: str
    created: bool  # False: an earlier request with the same idempotency key made this video
    depth: int  # waiting videos after this admission


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
    attempts: int


def _video_row(row: asyncpg.Record) -> VideoRow:
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
        attempts=row["attempts"],
    )


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
    assert pool is not None
    return pool


class Ledger:
    """Queue and cost bookkeeping. Every write is idempotent so a retried activity can repeat it safely."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

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

    async def admit(
        self, request: VideoRequest, request_data: dict[str, Any], *, capacity: int, idempotency_key: str | None
    ) -> Admission:
        """Insert the video unless the queue is full; a known idempotency key returns the earlier video.

        Admissions are serialised by a transaction-scoped advisory lock, so concurrent requests can never
        overshoot the capacity.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _ADMISSION_LOCK)
            depth = int(await conn.fetchval(f"SELECT count(*) FROM video_queue WHERE {WAITING}"))
            if idempotency_key is not None:
                existing = await conn.fetchval("SELECT id FROM video_queue WHERE idempotency_key = $1", idempotency_key)
                if existing is not None:
                    return Admission(str(existing), created=False, depth=depth)
            if depth >= capacity:
                raise QueueFull(depth, capacity)
            await conn.execute(
                """INSERT INTO video_queue
                       (id, user_id, channel_id, priority, complexity, request_data, idempotency_key, cost_cap)
                   VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)""",
                request.video_id,
                request.user_id,
                request.channel_id,
                request.priority,
                request.complexity,
                json.dumps(request_data),
                idempotency_key,
                request.cost_cap_usd,
            )
            return Admission(request.video_id, created=True, depth=depth + 1)

    async def waiting_depth(self) -> int:
        return int(await self._pool.fetchval(f"SELECT count(*) FROM video_queue WHERE {WAITING}"))

    async def rendering_count(self, complexities: tuple[str, ...]) -> int:
        return int(
            await self._pool.fetchval(
                """SELECT count(*) FROM video_queue
                   WHERE status = 'processing' AND stage = 'video_rendering' AND complexity = ANY($1::text[])""",
                list(complexities),
            )
        )

    async def waiting_ahead(self, video_id: str, complexities: tuple[str, ...]) -> int:
        """Waiting videos ahead of this one for the same render queue (priority DESC, created_at ASC)."""
        return int(
            await self._pool.fetchval(
                f"""SELECT count(*) FROM video_queue q, video_queue me
                    WHERE me.id = $1 AND q.id <> me.id AND {waiting("q")}
                      AND q.complexity = ANY($2::text[])
                      AND (q.priority > me.priority OR (q.priority = me.priority AND q.created_at < me.created_at))""",
                video_id,
                list(complexities),
            )
        )

    async def stage_medians(self, limit: int = 50) -> dict[str, float]:
        """Median measured wall seconds per stage over its most recent successful runs."""
        rows = await self._pool.fetch(
            """SELECT stage, percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median
               FROM (SELECT stage, (metadata->>'seconds')::float AS seconds,
                            row_number() OVER (PARTITION BY stage ORDER BY id DESC) AS recent
                     FROM pipeline_costs WHERE metadata ? 'seconds') runs
               WHERE recent <= $1 GROUP BY stage""",
            limit,
        )
        return {r["stage"]: float(r["median"]) for r in rows}

    async def begin_retry(self, video_id: str, max_attempts: int) -> int:
        """Mark a failed video queued again for its next attempt; returns that attempt's number."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow("SELECT status, attempts FROM video_queue WHERE id = $1 FOR UPDATE", video_id)
            if row is None:
                raise KeyError(video_id)
            if row["status"] != "failed":
                raise RetryRefused(f"only a failed video can be retried; this one is {row['status']}")
            if row["attempts"] >= max_attempts:
                raise RetryRefused(
                    f"this video has had {row['attempts']} attempts; at most {max_attempts} are allowed per video"
                )
            await conn.execute(
                """UPDATE video_queue SET status = 'queued', attempts = attempts + 1, completed_at = NULL,
                          processing_time_seconds = NULL
                   WHERE id = $1""",
                video_id,
            )
            return int(row["attempts"]) + 1

    async def undo_retry(self, video_id: str) -> None:
        await self._pool.execute(
            "UPDATE video_queue SET status = 'failed', attempts = attempts - 1 WHERE id = $1 AND status = 'queued'",
            video_id,
        )

    async def record_event(
        self, kind: str, level: str, message: str, details: dict[str, Any], video_id: str | None = None
    ) -> None:
        await self._pool.execute(
            "INSERT INTO pipeline_events (video_id, kind, level, message, details) VALUES ($1, $2, $3, $4, $5::jsonb)",
            video_id,
            kind,
            level,
            message,
            json.dumps(details),
        )

    async def record_video_alert_once(
        self, video_id: str, kind: str, level: str, message: str, details: dict[str, Any]
    ) -> bool:
        """Record a cost alert unless this video already has one of this kind; True when recorded now."""
        row = await self._pool.fetchval(
            """INSERT INTO pipeline_events (video_id, kind, level, message, details)
               VALUES ($1, $2, $3, $4, $5::jsonb)
               ON CONFLICT (video_id, kind) WHERE kind IN ('cost_warning', 'cost_critical') DO NOTHING
               RETURNING id""",
            video_id,
            kind,
            level,
            message,
            json.dumps(details),
        )
        return row is not None

    async def set_status(self, video_id: str, status: str) -> None:
        """A halt (and the resumption after an approval); final states go through `finalize`."""
        await self._pool.execute(
            "UPDATE video_queue SET status = $2::varchar WHERE id = $1 AND status IN ('processing', 'halted')",
            video_id,
            status,
        )

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

    async def delete_video(self, video_id: str) -> None:
        """Undo an insert whose workflow could not be started (nothing half-created stays behind)."""
        await self._pool.execute("DELETE FROM video_queue WHERE id = $1 AND status = 'queued'", video_id)

    async def get_video(self, video_id: str) -> VideoRow | None:
        row = await self._pool.fetchrow("SELECT * FROM video_queue WHERE id = $1", video_id)
        return _video_row(row) if row is not None else None

    async def list_videos(
        self,
        *,
        channel_id: str | None = None,
        statuses: list[str] | None = None,
        before: tuple[datetime, str] | None = None,
        limit: int = 50,
    ) -> list[VideoRow]:
        """Videos newest first, optionally of one channel and in some statuses; `before` is the (created_at, id) of
        the last video of the previous page."""
        conditions: list[str] = ["TRUE"]
        args: list[object] = []
        if channel_id is not None:
            args.append(channel_id)
            conditions.append(f"channel_id = ${len(args)}::uuid")
        if statuses:
            args.append(statuses)
            conditions.append(f"status = ANY(${len(args)}::text[])")
        if before is not None:
            args += [before[0], before[1]]
            conditions.append(f"(created_at, id) < (${len(args) - 1}, ${len(args)}::uuid)")
        args.append(limit)
        rows = await self._pool.fetch(
            f"SELECT * FROM video_queue WHERE {' AND '.join(conditions)} "
            f"ORDER BY created_at DESC, id DESC LIMIT ${len(args)}",
            *args,
        )
        return [_video_row(row) for row in rows]

    async def queue_position(self, video_id: str) -> int:
        """1-based rank among waiting videos (priority DESC, created_at ASC); 0 once its render has started."""
        value = await self._pool.fetchval(
            f"""SELECT CASE WHEN NOT {waiting("me")} THEN 0 ELSE (
                   SELECT count(*) FROM video_queue q
                   WHERE {waiting("q")}
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

    async def record_stage_cost(self, video_id: str, stage: str, cost: CostLine, video_attempt: int = 1) -> None:
        """Write the stage's cost row once (a retry after a crash is a no-op) and refresh the video's totals."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO pipeline_costs (video_id, stage, service, operation, amount, metadata, video_attempt)
                   VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
                   ON CONFLICT (video_id, stage, video_attempt) DO NOTHING""",
                video_id,
                stage,
                cost.service,
                cost.operation,
                round(cost.amount_usd, 4),
                json.dumps(cost.metadata),
                video_attempt,
            )
            await conn.execute(_REFRESH_TOTALS_SQL, video_id)

    async def record_failed_charge(
        self, video_id: str, stage: str, video_attempt: int, activity_attempt: int, cost: CostLine
    ) -> bool:
        """Record what a failed attempt was billed, once per activity attempt; False when it was already recorded."""
        async with self._pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetchval(
                """INSERT INTO pipeline_failed_charges
                       (video_id, stage, video_attempt, activity_attempt, service, operation, amount, metadata)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
                   ON CONFLICT (video_id, stage, video_attempt, activity_attempt) DO NOTHING
                   RETURNING id""",
                video_id,
                stage,
                video_attempt,
                activity_attempt,
                cost.service,
                cost.operation,
                round(cost.amount_usd, 4),
                json.dumps(cost.metadata),
            )
            await conn.execute(_REFRESH_TOTALS_SQL, video_id)
        return inserted is not None

    async def failed_charges_usd(self, video_id: str, stage: str, video_attempt: int) -> float:
        """What the failed attempts of this stage (in this whole-video attempt) were billed."""
        total = await self._pool.fetchval(
            """SELECT COALESCE(sum(amount), 0) FROM pipeline_failed_charges
               WHERE video_id = $1 AND stage = $2 AND video_attempt = $3""",
            video_id,
            stage,
            video_attempt,
        )
        return float(total)

    async def reserve_quota(self, service: str, day: date, units: int, limit: int) -> bool:
        """Add `units` to `service`'s quota use on `day` unless that would pass `limit`; True when reserved.

        One statement, so concurrent reservations on many workers can never overshoot the limit together.
        """
        row = await self._pool.fetchval(
            """INSERT INTO provider_quota (service, day, units)
               SELECT $1::text, $2::date, $3::bigint WHERE $3::bigint <= $4::bigint
               ON CONFLICT (service, day)
               DO UPDATE SET units = provider_quota.units + EXCLUDED.units, updated_at = NOW()
               WHERE provider_quota.units + EXCLUDED.units <= $4::bigint
               RETURNING units""",
            service,
            day,
            units,
            limit,
        )
        return row is not None

    async def quota_used(self, service: str, day: date) -> int:
        value = await self._pool.fetchval(
            "SELECT units FROM provider_quota WHERE service = $1 AND day = $2", service, day
        )
        return int(value or 0)

    async def stage_costs(self, video_id: str) -> list[CostRow]:
        return await self._cost_rows(
            """SELECT stage, service, operation, amount, video_attempt, metadata
               FROM pipeline_costs WHERE video_id = $1 ORDER BY id""",
            video_id,
        )

    async def _cost_rows(self, query: str, video_id: str) -> list[CostRow]:
        rows = await self._pool.fetch(query, video_id)
        return [
            CostRow(
                r["stage"],
                r["service"],
                r["operation"],
                float(r["amount"]),
                r["video_attempt"],
                json.loads(r["metadata"]) if r["metadata"] else {},
            )
            for r in rows
        ]

    async def finished_before(self, video_ids: list[str], statuses: tuple[str, ...], seconds: float) -> list[str]:
        """Those of `video_ids` whose status is one of `statuses` and that finished more than `seconds` ago."""
        rows = await self._pool.fetch(
            """SELECT id FROM video_queue
               WHERE id = ANY($1::uuid[]) AND status = ANY($2::text[])
                 AND completed_at < NOW() - make_interval(secs => $3)""",
            video_ids,
            list(statuses),
            seconds,
        )
        return [str(r["id"]) for r in rows]

    async def failed_charges(self, video_id: str) -> list[CostRow]:
        """What failed attempts were billed, one row per activity attempt (metadata has `activity_attempt`)."""
        return await self._cost_rows(
            """SELECT stage, service, operation, amount, video_attempt,
                      jsonb_build_object('activity_attempt', activity_attempt)::text AS metadata
               FROM pipeline_failed_charges WHERE video_id = $1 ORDER BY id""",
            video_id,
        )

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

    async def save_gpu_status(self, host: str, snapshot: GpuSnapshot) -> None:
        """Replace `host`'s rows in gpu_status (sql/006) with the snapshot, in one transaction, stamped NOW().

        An unavailable snapshot (or one without readings) is one row, gpu '-', with the reason.
        """
        if snapshot.available and snapshot.readings:
            rows = [
                (
                    host,
                    r.gpu,
                    True,
                    snapshot.reason,
                    r.utilization_percent,
                    r.memory_used_bytes,
                    r.memory_total_bytes,
                    r.encoder_sessions,
                    r.encoder_utilization_percent,
                )
                for r in snapshot.readings
            ]
        else:
            rows = [(host, NO_GPU, False, snapshot.reason, None, None, None, None, None)]
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                await conn.execute("DELETE FROM gpu_status WHERE host = $1", host)
                await conn.executemany(
                    """INSERT INTO gpu_status (host, gpu, available, reason, utilization_percent, memory_used_bytes,
                                               memory_total_bytes, encoder_sessions, encoder_utilization_percent)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
                    rows,
                )
            # Housekeeping outside the transaction: workers that never came back (a pid in their host name).
            await conn.execute(
                "DELETE FROM gpu_status WHERE sampled_at < NOW() - make_interval(secs => $1::float8)",
                float(GPU_STATUS_KEEP_SECONDS),
            )

    async def clear_gpu_status(self, host: str) -> None:
        """Remove `host`'s rows (a gpu worker stopping cleanly), so its GPUs leave the API's /metrics at once."""
        await self._pool.execute("DELETE FROM gpu_status WHERE host = $1", host)
