"""How much room the analytics take: the events table's day partitions against the aggregates that summarise the
same days (the spec asks the aggregates to take at most a tenth), and what retention leaves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import asyncpg

from ledger.rollups import ROLLUP_TABLES

_PARTITION_BYTES = """
SELECT p.relname AS parent, c.relname AS partition, pg_total_relation_size(c.oid) AS bytes
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
WHERE p.relname = ANY($1::text[])
"""
# The aggregates of the days `$1`: their rows' share of each rollup table's bytes (indexes included).
_ROLLUP_BYTES_OF_DAYS = """
SELECT coalesce(sum(t.bytes * t.rows_of_days / nullif(t.rows_all, 0)), 0) FROM (
    SELECT '{table}' AS name,
           (SELECT count(*) FROM {table} WHERE (bucket AT TIME ZONE 'UTC')::date = ANY($1::date[])) AS rows_of_days,
           (SELECT count(*) FROM {table}) AS rows_all,
           (SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0) FROM pg_inherits i
            WHERE i.inhparent = '{table}'::regclass) AS bytes
) t
"""


@dataclass(frozen=True)
class AnalyticsStorage:
    event_days: int
    event_bytes: int
    rollup_months: int
    rollup_bytes: int
    compared_days: int  # days both the events and the aggregates hold
    events_bytes_of_compared: int
    rollup_bytes_of_compared: int

    @property
    def reduction(self) -> float | None:
        """1 - what the aggregates of the compared days take / what their events take (the spec: >= 0.9)."""
        if not self.events_bytes_of_compared:
            return None
        return 1 - self.rollup_bytes_of_compared / self.events_bytes_of_compared

    def lines(self) -> list[str]:
        reduction = f"{self.reduction:.1%}" if self.reduction is not None else "n/a (no day holds both)"
        return [
            f"events: {self.event_days} days, {_mb(self.event_bytes)} MB",
            f"aggregates: {self.rollup_months} months, {_mb(self.rollup_bytes)} MB",
            f"the {self.compared_days} days both hold: events {_mb(self.events_bytes_of_compared)} MB, aggregates "
            f"{_mb(self.rollup_bytes_of_compared, 3)} MB: reduction {reduction}",
        ]


def _mb(n: int, digits: int = 1) -> str:
    return f"{n / 1e6:.{digits}f}"


async def analytics_storage(pool: asyncpg.Pool) -> AnalyticsStorage:
    rows = await pool.fetch(_PARTITION_BYTES, ["events", *ROLLUP_TABLES])
    event_bytes_by_day = {
        date(int(r["partition"][8:12]), int(r["partition"][12:14]), int(r["partition"][14:16])): int(r["bytes"])
        for r in rows
        if r["parent"] == "events"
    }
    rollups = [r for r in rows if r["parent"] != "events"]
    rolled_days = {
        r["day"]
        for table in ROLLUP_TABLES
        for r in await pool.fetch(
            f"SELECT DISTINCT (bucket AT TIME ZONE 'UTC')::date AS day FROM {table} WHERE granularity = 'day'"  # noqa: S608
        )
    }
    compared = sorted(set(event_bytes_by_day) & rolled_days)
    # The videos' spans are not by day: all of them counted against the compared days, and in the aggregates.
    spans = int(await pool.fetchval("SELECT pg_total_relation_size('video_rollup_spans')"))
    rollup_of_compared = spans if compared else 0
    for table in ROLLUP_TABLES:
        rollup_of_compared += int(await pool.fetchval(_ROLLUP_BYTES_OF_DAYS.format(table=table), compared))
    return AnalyticsStorage(
        event_days=len(event_bytes_by_day),
        event_bytes=sum(event_bytes_by_day.values()),
        rollup_months=len({r["partition"][-6:] for r in rollups}),
        rollup_bytes=sum(int(r["bytes"]) for r in rollups) + spans,
        compared_days=len(compared),
        events_bytes_of_compared=sum(event_bytes_by_day[d] for d in compared),
        rollup_bytes_of_compared=rollup_of_compared,
    )
