"""Hourly and daily aggregates (sql/019_rollups.sql) per video, channel, service and stage: views, likes, comments,
watch minutes, revenue, cost and margin, videos completed and failed, stage p50/p95 durations. A run replaces every
bucket of its window in one transaction, so the same inputs give the same rows however often it runs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from ledger.tables import Table

Granularity = Literal["hour", "day"]
ROLLUP_TABLES = ("video_rollups", "channel_rollups", "service_rollups", "stage_rollups")

# $1 granularity, $2 window start, $3 window end. Charges come from the ledger (paid and failed attempts), views and
# their growth from the hourly readings, and, for days, YouTube Analytics' day (its views win over the readings').
# A day also carries the video's running margin (sql/021_running_margins.sql), from its last day before the window.
_VIDEOS = """
WITH src AS (
    SELECT date_trunc($1, s.read_at, 'UTC') AS bucket, s.video_id, s.channel_id, s.views_delta AS read_views,
           NULL::bigint AS reported_views, s.likes_delta AS likes, s.comments_delta AS comments,
           0::float8 AS watch, NULL::numeric AS revenue, 0::numeric AS cost
    FROM youtube_video_stats s WHERE s.read_at >= $2 AND s.read_at < $3
    UNION ALL
    SELECT d.day::timestamp AT TIME ZONE 'UTC', d.video_id, d.channel_id, 0, d.views, 0, 0, d.watch_minutes,
           d.estimated_revenue_usd, 0
    FROM youtube_video_days d
    WHERE $1 = 'day' AND d.day >= ($2 AT TIME ZONE 'UTC')::date AND d.day < ($3 AT TIME ZONE 'UTC')::date
    UNION ALL
    SELECT date_trunc($1, c.at, 'UTC'), c.video_id, v.channel_id, 0, NULL, 0, 0, 0, NULL, c.amount
    FROM (SELECT video_id, amount, timestamp AS at FROM pipeline_costs WHERE timestamp >= $2 AND timestamp < $3
          UNION ALL
          SELECT video_id, amount, created_at FROM pipeline_failed_charges WHERE created_at >= $2 AND created_at < $3
         ) c JOIN video_queue v ON v.id = c.video_id
),
grouped AS (
    SELECT bucket, video_id, channel_id, COALESCE(sum(reported_views), sum(read_views)) AS views, sum(likes) AS likes,
           sum(comments) AS comments, sum(watch) AS watch, sum(revenue)::numeric(14, 4) AS revenue,
           sum(cost)::numeric(14, 4) AS cost
    FROM src GROUP BY bucket, video_id, channel_id
)
INSERT INTO video_rollups (granularity, bucket, video_id, channel_id, views, likes, comments, watch_minutes,
                           revenue_usd, cost_usd, margin_through_usd)
SELECT $1, g.bucket, g.video_id, g.channel_id, g.views, g.likes, g.comments, g.watch, g.revenue, g.cost,
       CASE WHEN $1 = 'day' THEN
           COALESCE((SELECT p.margin_through_usd FROM video_rollups p
                     WHERE p.video_id = g.video_id AND p.granularity = 'day' AND p.bucket < $2
                     ORDER BY p.bucket DESC LIMIT 1), 0)
           + sum(COALESCE(g.revenue, 0) - g.cost) OVER (PARTITION BY g.video_id ORDER BY g.bucket)
       END
FROM grouped g
"""
# $1 the end of a daily window just rolled up: a video's days after it keep their own margins, so their running
# margins move by what the window changed, re-anchored on the video's last day before $1.
_DAYS_AFTER = """
UPDATE video_rollups r SET margin_through_usd = r.margin_through_usd + s.shift
FROM (SELECT f.video_id,
             COALESCE((SELECT p.margin_through_usd FROM video_rollups p
                       WHERE p.video_id = f.video_id AND p.granularity = 'day' AND p.bucket < $1
                       ORDER BY p.bucket DESC LIMIT 1), 0) - (f.margin_through_usd - f.margin_usd) AS shift
      FROM (SELECT DISTINCT ON (video_id) video_id, margin_through_usd, margin_usd FROM video_rollups
            WHERE granularity = 'day' AND bucket >= $1 ORDER BY video_id, bucket) f) s
WHERE r.granularity = 'day' AND r.bucket >= $1 AND r.video_id = s.video_id AND s.shift <> 0
"""
# $1, $2 a daily window just rolled up: its videos' first and last days widen to cover it.
VIDEO_SPANS = """
INSERT INTO video_rollup_spans (video_id, channel_id, first_day, last_day)
SELECT video_id, (array_agg(channel_id))[1], min(bucket AT TIME ZONE 'UTC')::date,
       max(bucket AT TIME ZONE 'UTC')::date
FROM video_rollups WHERE granularity = 'day' AND bucket >= $1 AND bucket < $2 GROUP BY video_id
ON CONFLICT (video_id) DO UPDATE SET first_day = LEAST(video_rollup_spans.first_day, EXCLUDED.first_day),
                                     last_day = GREATEST(video_rollup_spans.last_day, EXCLUDED.last_day)
"""
_CHANNELS = """
INSERT INTO channel_rollups (granularity, bucket, channel_id, views, likes, comments, watch_minutes, revenue_usd,
                             cost_usd, videos_completed, videos_failed)
SELECT $1, bucket, channel_id, sum(views), sum(likes), sum(comments), sum(watch), sum(revenue), sum(cost),
       sum(completed), sum(failed)
FROM (SELECT bucket, channel_id, views, likes, comments, watch_minutes AS watch, revenue_usd AS revenue,
             cost_usd AS cost, 0 AS completed, 0 AS failed
      FROM video_rollups WHERE granularity = $1 AND bucket >= $2 AND bucket < $3
      UNION ALL
      SELECT date_trunc($1, occurred_at, 'UTC'), channel_id, 0, 0, 0, 0, NULL, 0,
             (kind = 'video_completed')::int, (kind = 'video_failed')::int
      FROM events WHERE kind IN ('video_completed', 'video_failed') AND channel_id IS NOT NULL
                    AND occurred_at >= $2 AND occurred_at < $3) x
GROUP BY bucket, channel_id
"""
_SERVICES = """
INSERT INTO service_rollups (granularity, bucket, channel_id, service, charges, cost_usd)
SELECT $1, date_trunc($1, c.at, 'UTC'), v.channel_id, c.service, count(*), sum(c.amount)
FROM (SELECT video_id, service, amount, timestamp AS at FROM pipeline_costs WHERE timestamp >= $2 AND timestamp < $3
      UNION ALL
      SELECT video_id, service, amount, created_at FROM pipeline_failed_charges
      WHERE created_at >= $2 AND created_at < $3) c
JOIN video_queue v ON v.id = c.video_id
GROUP BY 2, 3, 4
"""
_STAGES = """
INSERT INTO stage_rollups (granularity, bucket, channel_id, stage, runs, p50_seconds, p95_seconds)
SELECT $1, date_trunc($1, occurred_at, 'UTC'), channel_id, stage, count(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_seconds),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_seconds)
FROM events
WHERE kind = 'stage_finished' AND duration_seconds IS NOT NULL AND channel_id IS NOT NULL AND stage IS NOT NULL
  AND occurred_at >= $2 AND occurred_at < $3
GROUP BY 2, 3, 4
"""


@dataclass(frozen=True)
class RollupRun:
    granularity: Granularity
    window_start: datetime
    window_end: datetime
    rows_written: int
    seconds: float


def bucket_start(at: datetime, granularity: Granularity) -> datetime:
    """The start of the UTC hour or day `at` falls in."""
    start = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return start.replace(hour=0) if granularity == "day" else start


class Rollups(Table):
    async def roll_up(self, granularity: Granularity, window_start: datetime, window_end: datetime) -> RollupRun:
        """Replace every `granularity` bucket in [window_start, window_end) (bucket-aligned, UTC) from the sources."""
        started = time.monotonic()
        rows = 0
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.fetchval(
                "SELECT ensure_rollup_partitions($1, $2)",
                window_start.date(),
                (window_end - timedelta(seconds=1)).date(),
            )
            for table, sql in zip(ROLLUP_TABLES, (_VIDEOS, _CHANNELS, _SERVICES, _STAGES), strict=True):
                await conn.execute(
                    f"DELETE FROM {table} WHERE granularity = $1 AND bucket >= $2 AND bucket < $3",  # noqa: S608
                    granularity,
                    window_start,
                    window_end,
                )
                status = await conn.execute(sql, granularity, window_start, window_end)
                rows += int(status.rsplit(" ", 1)[1])
                if table == "video_rollups" and granularity == "day":
                    await conn.execute(_DAYS_AFTER, window_end)
                    await conn.execute(VIDEO_SPANS, window_start, window_end)
            run = RollupRun(granularity, window_start, window_end, rows, time.monotonic() - started)
            await conn.execute(
                """INSERT INTO rollup_runs (granularity, window_start, window_end, rows_written, seconds)
                   VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (granularity, window_end, window_start) DO UPDATE SET
                       rows_written = EXCLUDED.rows_written, seconds = EXCLUDED.seconds, finished_at = NOW()""",
                granularity,
                window_start,
                window_end,
                rows,
                run.seconds,
            )
        return run

    async def last_rollup_end(self, granularity: Granularity) -> datetime | None:
        value = await self._pool.fetchval("SELECT max(window_end) FROM rollup_runs WHERE granularity = $1", granularity)
        return value if isinstance(value, datetime) else None

    async def drop_rollup_partitions_before(self, keep_from: date) -> list[date]:
        """Drop the rollup months that end on or before `keep_from` (never within the last 90 days); the months."""
        async with self._pool.acquire() as conn, conn.transaction():
            dropped = await conn.fetch("SELECT month FROM drop_rollup_partitions_before($1) AS month", keep_from)
            months = [r["month"] for r in dropped]
            if months:
                newest_end = _next_month(max(months))
                await conn.execute("DELETE FROM video_rollup_spans WHERE last_day < $1", newest_end)
        return months


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)
