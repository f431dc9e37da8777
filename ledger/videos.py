"""`video_queue`: one row per video, from admission to its final status; the queue's depth and order."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from core.domain import FINAL_STATUSES, STATUS_REACHABLE_FROM, VideoRequest, VideoRetry, VideoStatus
from core.encryption import KeyRing
from core.errors import DailySpendLimitReached, QueueFull, RetryRefused
from core.events import pipeline_event_id
from core.records import Admission, DailySpend, VideoRow
from core.stage_table import PRE_RENDER_STAGES, RENDER_STAGE
from core.text import storable, storable_json
from ledger.event_store import append_events
from ledger.events import notable_event
from ledger.tables import Table


def reachable_from(status: VideoStatus) -> list[str]:
    """The statuses a video may move to `status` from (core.domain.STATUS_REACHABLE_FROM): every status write of
    the ledger is guarded by it."""
    return sorted(STATUS_REACHABLE_FROM[status])


def waiting(table: str = "") -> str:
    """SQL condition: the row (of `table` alias, if given) is a waiting video."""
    col = f"{table}." if table else ""
    stages = ", ".join(f"'{stage}'" for stage in PRE_RENDER_STAGES)
    return (
        f"({col}status = 'queued' OR ({col}status = 'processing' AND ({col}stage IS NULL OR {col}stage IN ({stages}))))"
    )


WAITING = waiting()
# What counts against the queue's capacity: waiting videos, and halted ones, which wait for an approval and hold their
# place (tiny caps cannot park workflows past the capacity).
HOLDS_CAPACITY = f"({WAITING} OR status = 'halted')"
_ADMISSION_LOCK = 7_233_002


# Request fields that are credentials (an n8n Wait node's resume URL lets anyone resume that execution): sealed under
# the key ring in request_data, opened as rows are read.
SEALED_REQUEST_FIELDS = ("callback_url",)


def _sealing_context(field: str) -> str:
    return f"video_queue.request_data.{field}"


def seal_request_data(ring: KeyRing, data: dict[str, Any]) -> dict[str, Any]:
    return {
        key: ring.seal_text(value, _sealing_context(key))
        if key in SEALED_REQUEST_FIELDS and isinstance(value, str) and ring.sealed_with(value) is None
        else value
        for key, value in data.items()
    }


def open_request_data(ring: KeyRing, data: dict[str, Any]) -> dict[str, Any]:
    return {
        key: ring.open_text(value, _sealing_context(key))
        if key in SEALED_REQUEST_FIELDS and isinstance(value, str)
        else value
        for key, value in data.items()
    }


def _video_row(row: asyncpg.Record, ring: KeyRing) -> VideoRow:
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
        request_data=open_request_data(ring, json.loads(row["request_data"])),
        attempts=row["attempts"],
    )


_TODAY_UTC = "(date_trunc('day', NOW() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"


async def _within_daily_spend(conn: Any, channel_id: str, spend: DailySpend) -> None:
    """Raise DailySpendLimitReached when this video's cap would take its principal's or its channel's caps queued
    today (UTC) past their limit. Caps, not spending: what may be spent is what a runaway client could cost."""
    for who, column, value, limit, setting in (
        (spend.admitted_by, "admitted_by", spend.admitted_by, spend.principal_limit_usd,
         "YTEMPIRE_DAILY_SPEND_LIMIT_PER_PRINCIPAL_USD, or the key's own"),
        (f"the channel {channel_id}", "channel_id", channel_id, spend.channel_limit_usd,
         "YTEMPIRE_DAILY_SPEND_LIMIT_PER_CHANNEL_USD"),
    ):  # fmt: skip
        queued = float(
            await conn.fetchval(
                f"""SELECT COALESCE(sum(COALESCE(cost_cap, $2)), 0) FROM video_queue
                    WHERE {column} = $1{"::uuid" if column == "channel_id" else ""} AND created_at >= {_TODAY_UTC}""",
                value,
                spend.default_cap_usd,
            )
        )
        if round(queued + spend.cap_usd, 2) > limit:
            raise DailySpendLimitReached(who, queued, spend.cap_usd, limit, setting)


class VideoQueue(Table):
    async def admit(
        self,
        request: VideoRequest,
        request_data: dict[str, Any],
        *,
        capacity: int,
        idempotency_key: str | None,
        idempotency_scope: str | None = None,
        daily_spend: DailySpend | None = None,
    ) -> Admission:
        """Insert the video unless the queue is full; a known idempotency key (of this scope: the principal that sent
        it, or of a row admitted before keys had scopes) returns the earlier video.

        Admissions are serialised by a transaction-scoped advisory lock, so concurrent requests can never
        overshoot the capacity.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _ADMISSION_LOCK)
            depth = int(await conn.fetchval(f"SELECT count(*) FROM video_queue WHERE {WAITING}"))
            held = int(await conn.fetchval(f"SELECT count(*) FROM video_queue WHERE {HOLDS_CAPACITY}"))
            if idempotency_key is not None:
                existing = await conn.fetchval(
                    """SELECT id FROM video_queue WHERE idempotency_key = $1
                       AND (idempotency_scope IS NOT DISTINCT FROM $2 OR idempotency_scope IS NULL)
                       ORDER BY idempotency_scope NULLS LAST LIMIT 1""",
                    idempotency_key,
                    idempotency_scope,
                )
                if existing is not None:
                    return Admission(str(existing), created=False, depth=depth)
            if held >= capacity:
                raise QueueFull(held, capacity)
            if daily_spend is not None:
                await _within_daily_spend(conn, request.channel_id, daily_spend)
            await conn.execute(
                """INSERT INTO video_queue
                       (id, user_id, channel_id, priority, complexity, request_data, idempotency_key, cost_cap,
                        idempotency_scope, admitted_by)
                   VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10)""",
                request.video_id,
                request.user_id,
                request.channel_id,
                request.priority,
                request.complexity,
                json.dumps(seal_request_data(self.key_ring, storable_json(request_data))),
                idempotency_key,
                request.cost_cap_usd,
                idempotency_scope if idempotency_key is not None else None,
                daily_spend.admitted_by if daily_spend is not None else None,
            )
            return Admission(request.video_id, created=True, depth=depth + 1)

    async def rendering_count(self, complexities: tuple[str, ...]) -> int:
        return int(
            await self._pool.fetchval(
                """SELECT count(*) FROM video_queue
                   WHERE status = 'processing' AND stage = $2 AND complexity = ANY($1::text[])""",
                list(complexities),
                RENDER_STAGE,
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

    async def begin_retry(self, video_id: str, max_attempts: int, *, capacity: int | None = None) -> int:
        """Mark a failed video queued again for its next attempt; returns that attempt's number. A retry takes a
        place in the queue like an admission: QueueFull when `capacity` places are held."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _ADMISSION_LOCK)
            row = await conn.fetchrow("SELECT status, attempts FROM video_queue WHERE id = $1 FOR UPDATE", video_id)
            if row is None:
                raise KeyError(video_id)
            if row["status"] != "failed":
                raise RetryRefused(f"only a failed video can be retried; this one is {row['status']}")
            if row["attempts"] >= max_attempts:
                raise RetryRefused(
                    f"this video has had {row['attempts']} attempts; at most {max_attempts} are allowed per video"
                )
            if capacity is not None:
                held = int(await conn.fetchval(f"SELECT count(*) FROM video_queue WHERE {HOLDS_CAPACITY}"))
                if held >= capacity:
                    raise QueueFull(held, capacity)
            await conn.execute(
                """UPDATE video_queue SET status = 'queued', attempts = attempts + 1, completed_at = NULL,
                          processing_time_seconds = NULL
                   WHERE id = $1 AND status = ANY($2::text[])""",
                video_id,
                reachable_from("queued"),
            )
            return int(row["attempts"]) + 1

    async def begin_automatic_retry(self, retry: VideoRetry) -> bool:
        """The workflow retries its video itself: queued again for `retry.attempt`, the failure in the error log and
        an event. Idempotent (a retried activity finds the attempt recorded and returns False)."""
        entry = {
            "stage": retry.stage,
            "video_attempt": retry.attempt - 1,
            "type": retry.error_type,
            "message": storable(retry.message[:2000]),
            "final": False,
            "retried": True,
        }
        async with self._pool.acquire() as conn, conn.transaction():
            updated = await conn.fetchval(
                """UPDATE video_queue SET status = 'queued', stage = $3, attempts = $2,
                          error_log = COALESCE(error_log, '[]'::jsonb) || jsonb_build_array($4::jsonb)
                   WHERE id = $1 AND attempts < $2 AND status = ANY($5::text[])
                   RETURNING id""",
                retry.video_id,
                retry.attempt,
                retry.stage,
                json.dumps({**entry, "at": datetime.now().astimezone().isoformat()}),
                reachable_from("queued"),
            )
            if updated is None:
                return False
            message = (
                f"attempt {retry.attempt} in {retry.delay_seconds:g} s: {retry.stage} failed "
                f"({retry.error_type}: {retry.message[:500]})"
            )
            details = {
                "attempt": retry.attempt,
                "stage": retry.stage,
                "error_type": retry.error_type,
                "delay_seconds": retry.delay_seconds,
            }
            event_id = pipeline_event_id(retry.video_id, retry.attempt, "retry_scheduled")
            await append_events(
                conn, [notable_event("retry_scheduled", "warning", message, details, retry.video_id, event_id)]
            )
            return True

    async def spent_usd(self, video_id: str) -> float:
        """Everything the video was billed, every attempt: stage costs and failed attempts' charges."""
        value = await self._pool.fetchval(
            """SELECT COALESCE((SELECT sum(amount) FROM pipeline_costs WHERE video_id = $1), 0)
                    + COALESCE((SELECT sum(amount) FROM pipeline_failed_charges WHERE video_id = $1), 0)""",
            video_id,
        )
        return round(float(value or 0), 4)

    async def set_status(self, video_id: str, status: VideoStatus, stage: str | None = None) -> None:
        """A halt before `stage` (and the resumption after an approval); final states go through `finalize`."""
        await self._pool.execute(
            """UPDATE video_queue SET status = $2::varchar, stage = COALESCE($4, stage)
               WHERE id = $1 AND status = ANY($3::text[])""",
            video_id,
            status,
            reachable_from(status),
            stage,
        )

    async def unfinished_since(self, seconds: float, limit: int = 500) -> list[VideoRow]:
        """Videos not in a final status whose status has not changed for `seconds`, oldest change first."""
        rows = await self._pool.fetch(
            """SELECT * FROM video_queue
               WHERE status <> ALL($1::text[]) AND status_changed_at < NOW() - make_interval(secs => $2)
               ORDER BY status_changed_at LIMIT $3""",
            sorted(FINAL_STATUSES),
            seconds,
            limit,
        )
        return [_video_row(row, self.key_ring) for row in rows]

    async def reseal_request_secrets(self) -> int:
        """Seal under the ring's encrypting key every request secret stored in clear (rows from before encryption)
        or under an older key (after a rotation, so the old key can retire); the rows changed."""
        rows = await self._pool.fetch(
            "SELECT id, request_data FROM video_queue WHERE request_data ?| $1::text[]", list(SEALED_REQUEST_FIELDS)
        )
        changed = 0
        for row in rows:
            data = json.loads(row["request_data"])
            stale = [
                field
                for field in SEALED_REQUEST_FIELDS
                if isinstance(data.get(field), str)
                and self.key_ring.sealed_with(data[field]) != self.key_ring.active_id
            ]
            if not stale:
                continue
            resealed = seal_request_data(self.key_ring, open_request_data(self.key_ring, data))
            result = await self._pool.execute(
                "UPDATE video_queue SET request_data = $2::jsonb WHERE id = $1 AND request_data = $3::jsonb",
                row["id"],
                json.dumps(resealed),
                row["request_data"],
            )
            changed += result == "UPDATE 1"
        return changed

    async def known_videos(self, video_ids: list[str]) -> set[str]:
        """Those of `video_ids` that have a row."""
        rows = await self._pool.fetch("SELECT id FROM video_queue WHERE id = ANY($1::uuid[])", video_ids)
        return {str(r["id"]) for r in rows}

    async def get_video(self, video_id: str) -> VideoRow | None:
        row = await self._pool.fetchrow("SELECT * FROM video_queue WHERE id = $1", video_id)
        return _video_row(row, self.key_ring) if row is not None else None

    async def list_videos(
        self,
        *,
        channel_id: str | None = None,
        statuses: list[str] | None = None,
        before: tuple[datetime, str] | None = None,
        limit: int = 50,
        channels: list[str] | None = None,
    ) -> list[VideoRow]:
        """Videos newest first, optionally of one channel (or of `channels`) and in some statuses; `before` is the
        (created_at, id) of the last video of the previous page."""
        conditions: list[str] = ["TRUE"]
        args: list[object] = []
        if channel_id is not None:
            args.append(channel_id)
            conditions.append(f"channel_id = ${len(args)}::uuid")
        if channels is not None:
            args.append(channels)
            conditions.append(f"channel_id = ANY(${len(args)}::uuid[])")
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
        return [_video_row(row, self.key_ring) for row in rows]

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

    async def stage_started(self, video_id: str, stage: str, attempt: int) -> None:
        await self._pool.execute(
            """UPDATE video_queue SET
                   status = CASE WHEN status = ANY($4::text[]) THEN 'processing' ELSE status END,
                   stage = CASE WHEN status = ANY($4::text[]) THEN $2 ELSE stage END,
                   processing_started_at = COALESCE(processing_started_at, NOW()),
                   retry_count = retry_count + CASE WHEN $3 > 1 THEN 1 ELSE 0 END
               WHERE id = $1""",
            video_id,
            stage,
            attempt,
            reachable_from("processing"),
        )

    async def stage_failed(
        self,
        video_id: str,
        stage: str,
        attempt: int,
        error_type: str,
        message: str,
        video_attempt: int = 1,
        *,
        infrastructure: bool = False,
    ) -> None:
        """Log a failed attempt; `infrastructure`: the machine failed it (an ffmpeg killed by a signal), so it does
        not count against the stage's own attempts."""
        entry: dict[str, object] = {
            "stage": stage,
            "attempt": attempt,
            "video_attempt": video_attempt,
            "type": error_type,
            "message": storable(message[:2000]),
            **({"infrastructure": True} if infrastructure else {}),
        }
        await self._pool.execute(
            """UPDATE video_queue SET error_log = COALESCE(error_log, '[]'::jsonb) || jsonb_build_array($2::jsonb)
               WHERE id = $1""",
            video_id,
            json.dumps({**entry, "at": datetime.now().astimezone().isoformat()}),
        )

    async def stage_failure_count(self, video_id: str, stage: str, video_attempt: int) -> int:
        """How many attempts of `stage` in whole-video attempt `video_attempt` failed by their own error (each
        recorded once by stage_failed; attempts lost with their worker recorded nothing)."""
        return int(
            await self._pool.fetchval(
                """SELECT count(DISTINCT e ->> 'attempt') FROM video_queue,
                          jsonb_array_elements(COALESCE(error_log, '[]'::jsonb)) AS e
                   WHERE id = $1 AND e ->> 'stage' = $2 AND e ->> 'final' IS NULL AND e ->> 'infrastructure' IS NULL
                     AND COALESCE((e ->> 'video_attempt')::int, 1) = $3""",
                video_id,
                stage,
                video_attempt,
            )
        )

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

    async def finalize(
        self, video_id: str, status: VideoStatus, error_type: str | None = None, error_message: str | None = None
    ) -> None:
        await self._pool.execute(
            """UPDATE video_queue SET
                   status = CASE WHEN status = ANY($5::text[]) THEN $2::varchar ELSE status END,
                   stage = CASE WHEN $2::varchar = 'completed' THEN NULL ELSE stage END,
                   completed_at = NOW(),
                   processing_time_seconds = CASE WHEN processing_started_at IS NULL THEN NULL
                       ELSE CEIL(EXTRACT(EPOCH FROM (NOW() - processing_started_at)))::int END,
                   metadata = metadata || jsonb_strip_nulls(jsonb_build_object(
                       'final_error_type', $3::text, 'final_error', $4::text)),
                   -- A failure no activity raised (a worker lost: a timeout) is in the error log too, once.
                   error_log = CASE
                       WHEN $2::varchar = 'failed' AND $3::text IS NOT NULL
                            AND COALESCE(error_log -> -1 ->> 'type', '') <> $3::text
                       THEN COALESCE(error_log, '[]'::jsonb) || jsonb_build_array(jsonb_build_object(
                           'stage', stage, 'type', $3::text, 'message', left($4::text, 2000), 'final', true,
                           'at', NOW()))
                       ELSE error_log END
               WHERE id = $1""",
            video_id,
            status,
            error_type,
            storable(error_message) if error_message is not None else None,
            reachable_from(status),
        )
