"""`youtube_video_stats`, `youtube_video_days`, `youtube_collection_runs` (sql/018_youtube_metrics.sql): what the
collection Schedules read from YouTube, and how each run went."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg

from core.text import storable
from core.youtube_metrics import CollectionApi, CollectionRun, UploadedVideo, VideoCounters, VideoDay
from ledger.tables import Table

_UPLOADS_SQL = """
SELECT DISTINCT ON (c.metadata ->> 'youtube_video_id')
       c.video_id, v.channel_id, c.metadata ->> 'youtube_video_id' AS youtube_video_id, c.timestamp AS uploaded_at
FROM pipeline_costs c JOIN video_queue v ON v.id = c.video_id
WHERE c.stage = 'upload_preparation' AND c.metadata ? 'youtube_video_id' AND ($1::uuid IS NULL OR v.channel_id = $1)
ORDER BY c.metadata ->> 'youtube_video_id', c.timestamp
"""

# A reading's deltas are against the latest reading before it; a run scheduled before a reading already taken (a late
# backfill) learns nothing (the counters it reads are today's), so it records nothing.
_READING_SQL = """
INSERT INTO youtube_video_stats AS s (youtube_video_id, read_at, video_id, channel_id, views, likes, comments,
                                      views_delta, likes_delta, comments_delta, since)
SELECT r.youtube_video_id, $1, r.video_id, r.channel_id, r.views, r.likes, r.comments,
       r.views - COALESCE(p.views, 0), r.likes - COALESCE(p.likes, 0), r.comments - COALESCE(p.comments, 0), p.read_at
FROM unnest($2::text[], $3::uuid[], $4::uuid[], $5::bigint[], $6::bigint[], $7::bigint[])
     AS r (youtube_video_id, video_id, channel_id, views, likes, comments)
LEFT JOIN LATERAL (SELECT read_at, views, likes, comments FROM youtube_video_stats
                   WHERE youtube_video_id = r.youtube_video_id AND read_at < $1 ORDER BY read_at DESC LIMIT 1) p ON TRUE
WHERE NOT EXISTS (SELECT 1 FROM youtube_video_stats WHERE youtube_video_id = r.youtube_video_id AND read_at > $1)
ON CONFLICT (youtube_video_id, read_at) DO UPDATE SET
    views = EXCLUDED.views, likes = EXCLUDED.likes, comments = EXCLUDED.comments,
    views_delta = EXCLUDED.views_delta, likes_delta = EXCLUDED.likes_delta, comments_delta = EXCLUDED.comments_delta,
    since = EXCLUDED.since, collected_at = NOW()
"""

_DAYS_SQL = """
INSERT INTO youtube_video_days (youtube_video_id, day, video_id, channel_id, views, watch_minutes,
                                average_view_seconds, shares, subscribers_gained, estimated_revenue_usd)
SELECT * FROM unnest($1::text[], $2::date[], $3::uuid[], $4::uuid[], $5::bigint[], $6::float8[], $7::float8[],
                     $8::bigint[], $9::bigint[], $10::numeric[])
ON CONFLICT (youtube_video_id, day) DO UPDATE SET
    views = EXCLUDED.views, watch_minutes = EXCLUDED.watch_minutes,
    average_view_seconds = EXCLUDED.average_view_seconds, shares = EXCLUDED.shares,
    subscribers_gained = EXCLUDED.subscribers_gained, estimated_revenue_usd = EXCLUDED.estimated_revenue_usd,
    collected_at = NOW()
"""


@dataclass(frozen=True)
class CollectionStatus:
    """The latest run of a channel's collection from one API, and its latest successful one."""

    channel_id: str
    api: CollectionApi
    last_outcome: str
    last_finished_at: datetime
    last_success_at: datetime | None
    last_rows_written: int


class YouTubeMetrics(Table):
    async def uploaded_videos(self, channel_id: str | None = None) -> list[UploadedVideo]:
        """The videos this pipeline uploaded to YouTube (of one channel, or all), each once."""
        rows = await self._pool.fetch(_UPLOADS_SQL, UUID(channel_id) if channel_id else None)
        return [
            UploadedVideo(str(r["video_id"]), str(r["channel_id"]), r["youtube_video_id"], r["uploaded_at"])
            for r in rows
        ]

    async def record_video_readings(
        self, read_at: datetime, readings: Sequence[tuple[UploadedVideo, VideoCounters]]
    ) -> int:
        """Store the counters the run scheduled for `read_at` read, with their growth since the reading before;
        how many rows."""
        if not readings:
            return 0
        status = await self._pool.execute(
            _READING_SQL,
            read_at,
            [v.youtube_video_id for v, _ in readings],
            [UUID(v.video_id) for v, _ in readings],
            [UUID(v.channel_id) for v, _ in readings],
            [c.views for _, c in readings],
            [c.likes for _, c in readings],
            [c.comments for _, c in readings],
        )
        return int(status.rsplit(" ", 1)[1])

    async def record_video_days(self, video: UploadedVideo, days: Sequence[VideoDay]) -> int:
        """Store (or replace, for days YouTube revised) a video's days; how many rows."""
        if not days:
            return 0
        await self._pool.execute(
            _DAYS_SQL,
            [d.youtube_video_id for d in days],
            [d.day for d in days],
            [UUID(video.video_id)] * len(days),
            [UUID(video.channel_id)] * len(days),
            [d.views for d in days],
            [d.watch_minutes for d in days],
            [d.average_view_seconds for d in days],
            [d.shares for d in days],
            [d.subscribers_gained for d in days],
            [d.estimated_revenue_usd for d in days],
        )
        return len(days)

    async def record_collection_run(self, run: CollectionRun) -> None:
        """One row per scheduled run; a retried activity replaces its own row."""
        await self._pool.execute(
            """INSERT INTO youtube_collection_runs (channel_id, api, scheduled_for, outcome, videos, rows_written,
                                                   quota_units, first_day, last_day, revenue, detail)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
               ON CONFLICT (channel_id, api, scheduled_for) DO UPDATE SET
                   outcome = EXCLUDED.outcome, videos = EXCLUDED.videos, rows_written = EXCLUDED.rows_written,
                   quota_units = youtube_collection_runs.quota_units + EXCLUDED.quota_units,
                   first_day = EXCLUDED.first_day, last_day = EXCLUDED.last_day, revenue = EXCLUDED.revenue,
                   detail = EXCLUDED.detail, finished_at = NOW()""",
            UUID(run.channel_id),
            run.api,
            run.scheduled_for,
            run.outcome,
            run.videos,
            run.rows_written,
            run.quota_units,
            run.first_day,
            run.last_day,
            run.revenue,
            storable(run.detail[:2000]),
        )

    async def last_collected_day(self, channel_id: str) -> date | None:
        """The last day the channel's latest successful report run collected."""
        value = await self._pool.fetchval(
            """SELECT last_day FROM youtube_collection_runs
               WHERE channel_id = $1 AND api = 'analytics' AND outcome = 'ok' AND last_day IS NOT NULL
               ORDER BY last_day DESC LIMIT 1""",
            UUID(channel_id),
        )
        return value if isinstance(value, date) else None

    async def collection_runs(self, channel_id: str, api: CollectionApi) -> list[CollectionRun]:
        rows = await self._pool.fetch(
            """SELECT * FROM youtube_collection_runs WHERE channel_id = $1 AND api = $2 ORDER BY scheduled_for""",
            UUID(channel_id),
            api,
        )
        return [
            CollectionRun(
                channel_id=str(r["channel_id"]),
                api=r["api"],
                scheduled_for=r["scheduled_for"],
                outcome=r["outcome"],
                videos=r["videos"],
                rows_written=r["rows_written"],
                quota_units=r["quota_units"],
                first_day=r["first_day"],
                last_day=r["last_day"],
                revenue=r["revenue"],
                detail=r["detail"],
            )
            for r in rows
        ]


async def collection_status(pool: asyncpg.Pool) -> list[CollectionStatus]:
    """Each channel's latest run per API, with when it last succeeded."""
    rows = await pool.fetch(
        """SELECT DISTINCT ON (channel_id, api) channel_id, api, outcome, finished_at, rows_written,
                  max(finished_at) FILTER (WHERE outcome IN ('ok', 'no_videos'))
                      OVER (PARTITION BY channel_id, api) AS last_success_at
           FROM youtube_collection_runs ORDER BY channel_id, api, finished_at DESC"""
    )
    return [
        CollectionStatus(
            str(r["channel_id"]), r["api"], r["outcome"], r["finished_at"], r["last_success_at"], r["rows_written"]
        )
        for r in rows
    ]
