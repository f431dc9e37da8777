"""The read side of the rollups (sql/019_rollups.sql): a channel's and a video's series, videos ranked by margin, and
cost reports. Every query reads one rollup table by its leading index columns, so its cost grows with the rows
asked for, not with the events behind them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal
from uuid import UUID

import asyncpg

from ledger.rollups import Granularity

CostGrouping = Literal["video", "service", "channel", "day"]
RankOrder = Literal["top", "bottom"]


@dataclass(frozen=True)
class Bucket:
    bucket: datetime
    views: int
    likes: int
    comments: int
    watch_minutes: float
    revenue_usd: float | None  # None: YouTube reported no revenue for it
    cost_usd: float
    margin_usd: float
    videos_completed: int | None = None  # channels only
    videos_failed: int | None = None


@dataclass(frozen=True)
class ChannelTotal:
    channel_id: str
    views: int
    watch_minutes: float
    revenue_usd: float | None
    cost_usd: float
    margin_usd: float
    videos_completed: int
    videos_failed: int


@dataclass(frozen=True)
class VideoMargin:
    video_id: str
    channel_id: str
    views: int
    revenue_usd: float | None
    cost_usd: float
    margin_usd: float


@dataclass(frozen=True)
class CostRow:
    key: str  # the video id, service, channel id or day (ISO) the row is of
    cost_usd: float
    charges: int | None  # service and day rows: how many charges; None where the grouping does not count them


def _usd(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _bucket(r: asyncpg.Record, channel: bool) -> Bucket:
    return Bucket(
        bucket=r["bucket"],
        views=r["views"],
        likes=r["likes"],
        comments=r["comments"],
        watch_minutes=r["watch_minutes"],
        revenue_usd=_usd(r["revenue_usd"]),
        cost_usd=float(r["cost_usd"]),
        margin_usd=float(r["margin_usd"]),
        videos_completed=r["videos_completed"] if channel else None,
        videos_failed=r["videos_failed"] if channel else None,
    )


async def channel_series(
    pool: asyncpg.Pool, channel_id: UUID, granularity: Granularity, since: datetime, until: datetime
) -> list[Bucket]:
    return await _series(pool, "channel_rollups", "channel_id", channel_id, granularity, since, until)


async def video_series(
    pool: asyncpg.Pool, video_id: UUID, granularity: Granularity, since: datetime, until: datetime
) -> list[Bucket]:
    return await _series(pool, "video_rollups", "video_id", video_id, granularity, since, until)


async def _series(
    pool: asyncpg.Pool, table: str, key: str, value: UUID, granularity: Granularity, since: datetime, until: datetime
) -> list[Bucket]:
    rows = await pool.fetch(
        f"""SELECT * FROM {table}
            WHERE {key} = $1 AND granularity = $2 AND bucket >= $3 AND bucket < $4 ORDER BY bucket""",  # noqa: S608
        value,
        granularity,
        since,
        until,
    )
    return [_bucket(r, table == "channel_rollups") for r in rows]


async def channel_totals(
    pool: asyncpg.Pool,
    granularity: Granularity,
    since: datetime,
    until: datetime,
    channels: frozenset[UUID] | None = None,
) -> list[ChannelTotal]:
    """Every channel's sums over the buckets in [since, until) (only `channels` when given), best margin first."""
    rows = await pool.fetch(
        """SELECT channel_id, sum(views) AS views, sum(watch_minutes) AS watch_minutes,
                  sum(revenue_usd) AS revenue_usd, sum(cost_usd) AS cost_usd, sum(margin_usd) AS margin_usd,
                  sum(videos_completed) AS completed, sum(videos_failed) AS failed
           FROM channel_rollups
           WHERE granularity = $1 AND bucket >= $2 AND bucket < $3 AND ($4::uuid[] IS NULL OR channel_id = ANY($4))
           GROUP BY channel_id ORDER BY sum(margin_usd) DESC, channel_id""",
        granularity,
        since,
        until,
        sorted(channels) if channels is not None else None,
    )
    return [
        ChannelTotal(
            str(r["channel_id"]),
            int(r["views"]),
            float(r["watch_minutes"]),
            _usd(r["revenue_usd"]),
            float(r["cost_usd"]),
            float(r["margin_usd"]),
            int(r["completed"]),
            int(r["failed"]),
        )
        for r in rows
    ]


async def video_channel(pool: asyncpg.Pool, video_id: UUID) -> UUID | None:
    value = await pool.fetchval("SELECT channel_id FROM video_queue WHERE id = $1", video_id)
    return value if isinstance(value, UUID) else None


async def ranked_videos(
    pool: asyncpg.Pool,
    channel_id: UUID | None,
    since: datetime,
    until: datetime,
    order: RankOrder,
    limit: int,
) -> list[VideoMargin]:
    """The videos with the highest (top) or lowest (bottom) margin over the days in [since, until)."""
    first_day = _day_ceiling(since)
    last_day = _day_ceiling(until) - timedelta(days=1)
    if first_day > last_day:
        return []
    direction = "DESC" if order == "top" else "ASC"
    rows = await pool.fetch(
        f"""WITH ranked AS ({_RANKED_BY_RUNNING_MARGIN.format(direction=direction)})
            SELECT r.video_id, min(r.channel_id::text) AS channel_id, sum(r.views) AS views,
                   sum(r.revenue_usd) AS revenue_usd, sum(r.cost_usd) AS cost_usd, sum(r.margin_usd) AS margin_usd
            FROM video_rollups r JOIN ranked USING (video_id)
            WHERE r.granularity = 'day' AND r.bucket >= $2 AND r.bucket <= $3
            GROUP BY r.video_id ORDER BY sum(r.margin_usd) {direction}, r.video_id""",  # noqa: S608
        channel_id,
        first_day,
        last_day,
        limit,
    )
    return [
        VideoMargin(
            str(r["video_id"]),
            str(r["channel_id"]),
            int(r["views"]),
            _usd(r["revenue_usd"]),
            float(r["cost_usd"]),
            float(r["margin_usd"]),
        )
        for r in rows
    ]


# $1 channel or NULL, $2 the window's first day bucket, $3 its last, $4 how many. A video's margin over the window is
# its running margin on its last day in it less the one before its first (sql/021_running_margins.sql): two rows
# per video, read for most videos by the days' own index, whatever the window's length. A video with no row on the
# window's first or last day (it began or ended inside, or missed a day) has its own first or last looked up.
_RANKED_BY_RUNNING_MARGIN = """
WITH alive AS (
    SELECT video_id FROM video_rollup_spans
    WHERE first_day <= ($3 AT TIME ZONE 'UTC')::date AND last_day >= ($2 AT TIME ZONE 'UTC')::date
      AND ($1::uuid IS NULL OR channel_id = $1)),
firsts AS (SELECT video_id, margin_through_usd - margin_usd AS before FROM video_rollups
           WHERE granularity = 'day' AND bucket = $2),
lasts AS (SELECT video_id, margin_through_usd AS through FROM video_rollups WHERE granularity = 'day' AND bucket = $3),
margins AS MATERIALIZED (
    SELECT a.video_id,
           COALESCE(l.through, (SELECT p.margin_through_usd FROM video_rollups p
                                WHERE p.video_id = a.video_id AND p.granularity = 'day' AND p.bucket >= $2
                                  AND p.bucket <= $3 ORDER BY p.bucket DESC LIMIT 1))
         - COALESCE(f.before, (SELECT p.margin_through_usd - p.margin_usd FROM video_rollups p
                               WHERE p.video_id = a.video_id AND p.granularity = 'day' AND p.bucket >= $2
                                 AND p.bucket <= $3 ORDER BY p.bucket LIMIT 1)) AS margin
    FROM alive a LEFT JOIN firsts f USING (video_id) LEFT JOIN lasts l USING (video_id))
SELECT video_id FROM margins WHERE margin IS NOT NULL ORDER BY margin {direction}, video_id LIMIT $4
"""


def _day_ceiling(at: datetime) -> datetime:
    """The first UTC midnight at or after `at`: the first day bucket that starts inside a window from `at`."""
    day = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day if day == at else day + timedelta(days=1)


_COSTS = {
    "video": """SELECT video_id::text AS key, sum(cost_usd) AS cost_usd, NULL::bigint AS charges FROM video_rollups
                WHERE granularity = 'day' AND bucket >= $2 AND bucket < $3 AND ($1::uuid IS NULL OR channel_id = $1)
                GROUP BY video_id HAVING sum(cost_usd) > 0 ORDER BY 2 DESC, 1""",
    "service": """SELECT service AS key, sum(cost_usd) AS cost_usd, sum(charges) AS charges FROM service_rollups
                  WHERE granularity = 'day' AND bucket >= $2 AND bucket < $3 AND ($1::uuid IS NULL OR channel_id = $1)
                  GROUP BY service ORDER BY 2 DESC, 1""",
    "channel": """SELECT channel_id::text AS key, sum(cost_usd) AS cost_usd, sum(charges) AS charges
                  FROM service_rollups
                  WHERE granularity = 'day' AND bucket >= $2 AND bucket < $3 AND ($1::uuid IS NULL OR channel_id = $1)
                  GROUP BY channel_id ORDER BY 2 DESC, 1""",
    "day": """SELECT to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS key, sum(cost_usd) AS cost_usd,
                     sum(charges) AS charges FROM service_rollups
              WHERE granularity = 'day' AND bucket >= $2 AND bucket < $3 AND ($1::uuid IS NULL OR channel_id = $1)
              GROUP BY bucket ORDER BY bucket""",
}


async def cost_report(
    pool: asyncpg.Pool, group_by: CostGrouping, channel_id: UUID | None, since: datetime, until: datetime
) -> list[CostRow]:
    """What was spent over the days in [since, until), per video, service, channel or day."""
    rows = await pool.fetch(_COSTS[group_by], channel_id, since, until)
    return [
        CostRow(r["key"], float(r["cost_usd"]), int(r["charges"]) if r["charges"] is not None else None) for r in rows
    ]
