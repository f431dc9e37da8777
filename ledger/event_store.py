"""`events`: the append-only, day-partitioned home of events (sql/016_events.sql). A batch is copied into a
session's staging table with COPY and moved in with one INSERT that skips what its day already holds."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from core.events import Event
from core.text import storable, storable_json
from ledger.tables import Table

_COLUMNS = (
    "event_id", "occurred_at", "kind", "source", "level", "video_id", "channel_id", "stage", "service",
    "duration_seconds", "cost_usd", "details",
)  # fmt: skip
# ON COMMIT DELETE ROWS: the staging table stays with the pooled connection, empty between batches.
_STAGING = "CREATE TEMP TABLE IF NOT EXISTS events_incoming (LIKE events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
# An event of a video the queue knows gets that video's channel when it names none.
_MOVE_IN = f"""INSERT INTO events ({", ".join(_COLUMNS)})
SELECT {", ".join("COALESCE(i.channel_id, v.channel_id)" if c == "channel_id" else "i." + c for c in _COLUMNS)}
FROM events_incoming i LEFT JOIN video_queue v ON v.id = i.video_id ORDER BY i.occurred_at
ON CONFLICT DO NOTHING"""
_NO_PARTITION = "no partition of relation"
_ENSURE_PARTITIONS = "SELECT ensure_event_partitions($1, $2)"


@dataclass(frozen=True)
class StoredEvent:
    event: Event
    recorded_at: datetime


class EventStore(Table):
    async def record_events(self, events: Sequence[Event]) -> int:
        """Append `events` in one transaction; an event whose id its day already holds (a resend) is skipped.
        The days' partitions are made when missing. Returns how many rows are new."""
        async with self._pool.acquire() as conn:
            return await append_events(conn, events)

    async def ensure_event_partitions(self, first_day: date, last_day: date) -> int:
        """Make the partitions of the days from `first_day` to `last_day` (UTC) that are missing; how many."""
        return int(await self._pool.fetchval(_ENSURE_PARTITIONS, first_day, last_day))

    async def drop_event_partitions_before(self, keep_from: date) -> list[date]:
        """Drop every day's partition before `keep_from` (never one of the last seven days); the days dropped."""
        rows = await self._pool.fetch("SELECT day FROM drop_event_partitions_before($1) AS day", keep_from)
        return [r["day"] for r in rows]

    async def event_partition_days(self) -> list[date]:
        rows = await self._pool.fetch(
            """SELECT to_date(substr(c.relname, 9), 'YYYYMMDD') AS day FROM pg_inherits i
               JOIN pg_class c ON c.oid = i.inhrelid
               WHERE i.inhparent = 'events'::regclass ORDER BY 1"""
        )
        return [r["day"] for r in rows]

    async def stored_events(
        self,
        *,
        since: datetime,
        until: datetime | None = None,
        video_id: UUID | None = None,
        kind: str | None = None,
        limit: int = 1000,
    ) -> list[StoredEvent]:
        """Events that happened in [since, until), oldest first."""
        rows = await self._pool.fetch(
            f"""SELECT {", ".join(_COLUMNS)}, recorded_at FROM events
                WHERE occurred_at >= $1 AND ($2::timestamptz IS NULL OR occurred_at < $2)
                  AND ($3::uuid IS NULL OR video_id = $3) AND ($4::text IS NULL OR kind = $4)
                ORDER BY occurred_at, event_id LIMIT $5""",
            since,
            until,
            video_id,
            kind,
            limit,
        )
        return [StoredEvent(_event(r), r["recorded_at"]) for r in rows]


async def append_events(conn: asyncpg.Connection, events: Sequence[Event]) -> int:
    """`record_events` on `conn`, inside its transaction when it has one (so an event commits with the change it
    records); how many rows are new."""
    if not events:
        return 0
    records = [_record(e) for e in events]
    try:
        return await _copy_in(conn, records)
    except asyncpg.CheckViolationError as err:
        if _NO_PARTITION not in str(err):
            raise
    for day in sorted({e.day for e in events}):
        await conn.fetchval(_ENSURE_PARTITIONS, day, day)
    return await _copy_in(conn, records)


async def _copy_in(conn: asyncpg.Connection, records: list[tuple[Any, ...]]) -> int:
    nested = conn.is_in_transaction()
    async with conn.transaction():
        await conn.execute(_STAGING)
        await conn.copy_records_to_table("events_incoming", records=records, columns=_COLUMNS)
        status = await conn.execute(_MOVE_IN)
        if nested:  # no commit of ours empties the staging table
            await conn.execute("DELETE FROM events_incoming")
    return int(status.rsplit(" ", 1)[1])


def _record(e: Event) -> tuple[Any, ...]:
    return (
        e.event_id,
        e.occurred_at.astimezone(UTC),
        e.kind,
        storable(e.source),
        e.level,
        e.video_id,
        e.channel_id,
        e.stage,
        e.service,
        e.duration_seconds,
        e.cost_usd,
        json.dumps(storable_json(e.details)),
    )


def _event(r: asyncpg.Record) -> Event:
    cost = r["cost_usd"]
    return Event(
        event_id=r["event_id"],
        occurred_at=r["occurred_at"],
        kind=r["kind"],
        source=r["source"],
        level=r["level"],
        video_id=r["video_id"],
        channel_id=r["channel_id"],
        stage=r["stage"],
        service=r["service"],
        duration_seconds=r["duration_seconds"],
        cost_usd=float(cost) if cost is not None else None,
        details=json.loads(r["details"]),
    )
