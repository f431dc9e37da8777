"""bench/analytics_queries: how fast GET /analytics answers with 10M events and a year of aggregates loaded.

Loads --events events over the last 90 days (the detailed retention) and a year of hourly and daily aggregates for
--channels channels making --videos-per-day videos (each video's hours for its first 3 days, its days for half a
year), then runs the query behind each GET /analytics endpoint --runs times with random channels, videos and
windows, and prints p50/p95 per endpoint (the spec asks p95 < 150 ms), and the storage the aggregates save.

.venv/bin/python bench/analytics_queries.py [--events 10000000] [--channels 20] [--videos-per-day 50] [--runs 200]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import percentile, run_in_scratch_dir, scratch_ledger  # noqa: E402
from ledger import Ledger, performance  # noqa: E402
from ledger.rollups import VIDEO_SPANS  # noqa: E402
from ledger.storage import analytics_storage  # noqa: E402

EVENT_DAYS = 90
VIDEO_HOURS = 72  # hourly rows per video: its first three days
VIDEO_DAYS = 180  # daily rows per video: its first half year
SERVICES = ("openai", "elevenlabs", "pexels", "compute", "storage", "youtube")
STAGES = ("script_generation", "audio_synthesis", "media_collection", "video_rendering", "quality_validation",
          "upload_preparation")  # fmt: skip

# $1 first day (UTC midnight), $2 events in that day, $3 channels (uuid[]).
_EVENTS_OF_A_DAY = """
INSERT INTO events (event_id, occurred_at, kind, source, level, video_id, channel_id, stage, service,
                    duration_seconds, cost_usd, details)
SELECT md5($1::timestamptz::text || n)::uuid, $1::timestamptz + make_interval(secs => n * 86400.0 / $2::int),
       CASE WHEN n % 7 = 0 THEN 'stage_started' WHEN n % 97 = 0 THEN 'video_completed' ELSE 'stage_finished' END,
       'pipeline', 'info', md5('video' || ($1::timestamptz::date - DATE '2000-01-01') || '/' || n / 12)::uuid,
       ($3::uuid[])[1 + n % array_length($3::uuid[], 1)], (ARRAY['script_generation', 'audio_synthesis',
       'media_collection', 'video_rendering', 'quality_validation', 'upload_preparation'])[1 + n % 6],
       'compute', 1 + (n % 300) / 10.0, 0.0025, '{"video_attempt": 1, "execution": 1}'::jsonb
FROM generate_series(1, $2::int) AS n
"""
# $1 channels (uuid[]), $2 videos per day, $3 the year's first day.
_VIDEOS = """
CREATE TEMP TABLE bench_videos AS
SELECT md5('v' || d || '/' || k)::uuid AS video_id, ($1::uuid[])[1 + k % array_length($1::uuid[], 1)] AS channel_id,
       $3::timestamptz + make_interval(days => d) AS uploaded
FROM generate_series(0, 364) AS d, generate_series(1, $2) AS k
"""
# In bucket order, as the daily rollups write them, with the running margin they keep (sql/021_running_margins.sql).
_VIDEO_DAYS = f"""
INSERT INTO video_rollups (granularity, bucket, video_id, channel_id, views, likes, comments, watch_minutes,
                           revenue_usd, cost_usd, margin_through_usd)
SELECT 'day', bucket, video_id, channel_id, views, 10, 1, watch, revenue, cost,
       sum(revenue - cost) OVER (PARTITION BY video_id ORDER BY bucket)
FROM (SELECT v.uploaded + make_interval(days => a) AS bucket, v.video_id, v.channel_id, 1000 / (a + 1) AS views,
             300.0 / (a + 1) AS watch, (0.8 / (a + 1))::numeric(14, 4) AS revenue,
             (CASE WHEN a = 0 THEN 0.35 + (hashtext(v.video_id::text) % 100) / 1000.0 ELSE 0 END)::numeric(14, 4)
                 AS cost
      FROM bench_videos v, generate_series(0, {VIDEO_DAYS - 1}) AS a
      WHERE v.uploaded + make_interval(days => a) < NOW()) d
ORDER BY bucket
"""
_VIDEO_HOURS = f"""
INSERT INTO video_rollups (granularity, bucket, video_id, channel_id, views, likes, comments, watch_minutes,
                           revenue_usd, cost_usd)
SELECT 'hour', v.uploaded + make_interval(hours => h), v.video_id, v.channel_id, 100 / (h + 1), 1, 0, 0, NULL,
       CASE WHEN h = 0 THEN 0.35 ELSE 0 END
FROM bench_videos v, generate_series(0, {VIDEO_HOURS - 1}) AS h
WHERE v.uploaded + make_interval(hours => h) < NOW()
ORDER BY 2
"""
_CHANNELS = """
INSERT INTO channel_rollups (granularity, bucket, channel_id, views, likes, comments, watch_minutes, revenue_usd,
                             cost_usd, videos_completed, videos_failed)
SELECT g.granularity, g.bucket, c, 5000, 50, 5, 900.0, 2.5, 1.75, 2, 0
FROM unnest($1::uuid[]) AS c,
     (SELECT 'hour' AS granularity, b AS bucket FROM generate_series($2::timestamptz, NOW(), interval '1 hour') AS b
      UNION ALL
      SELECT 'day', b FROM generate_series($2::timestamptz, NOW(), interval '1 day') AS b) g
"""
_SERVICES = """
INSERT INTO service_rollups (granularity, bucket, channel_id, service, charges, cost_usd)
SELECT g.granularity, g.bucket, c, s, 12, 0.42
FROM unnest($1::uuid[]) AS c, unnest($3::text[]) AS s,
     (SELECT 'hour' AS granularity, b AS bucket FROM generate_series($2::timestamptz, NOW(), interval '1 hour') AS b
      UNION ALL
      SELECT 'day', b FROM generate_series($2::timestamptz, NOW(), interval '1 day') AS b) g
"""
_STAGES = """
INSERT INTO stage_rollups (granularity, bucket, channel_id, stage, runs, p50_seconds, p95_seconds)
SELECT g.granularity, g.bucket, c, s, 2, 3.5, 9.0
FROM unnest($1::uuid[]) AS c, unnest($3::text[]) AS s,
     (SELECT 'hour' AS granularity, b AS bucket FROM generate_series($2::timestamptz, NOW(), interval '1 hour') AS b
      UNION ALL
      SELECT 'day', b FROM generate_series($2::timestamptz, NOW(), interval '1 day') AS b) g
"""


async def bench(args: argparse.Namespace, root: Path) -> None:
    async with scratch_ledger(root) as ledger:
        await run(args, ledger)


async def run(args: argparse.Namespace, ledger: Ledger) -> None:
    pool = ledger.pool
    rng = random.Random(7)
    channels = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(args.channels)]
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    year_start = today - timedelta(days=365)

    started = time.monotonic()
    await pool.fetchval("SELECT ensure_event_partitions($1, $2)", (today - timedelta(days=EVENT_DAYS)).date(),
                        today.date())  # fmt: skip
    per_day = args.events // EVENT_DAYS
    for d in range(EVENT_DAYS, 0, -1):
        await pool.execute(_EVENTS_OF_A_DAY, today - timedelta(days=d), per_day, channels)
    events = per_day * EVENT_DAYS
    print(f"loaded {events} events over {EVENT_DAYS} days in {time.monotonic() - started:.0f} s", flush=True)

    started = time.monotonic()
    await pool.fetchval("SELECT ensure_rollup_partitions($1, $2)", year_start.date(), today.date())
    async with pool.acquire() as conn:
        await conn.execute(_VIDEOS, channels, args.videos_per_day, year_start)
        for sql in (_VIDEO_DAYS, _VIDEO_HOURS):
            await conn.execute(sql)
        await conn.execute(VIDEO_SPANS, year_start, today + timedelta(days=1))  # as the daily rollups widen them
        videos = [r["video_id"] for r in await conn.fetch("SELECT video_id FROM bench_videos")]
        # The queue knows every video (GET /analytics/videos/{id} looks its channel up there).
        await conn.execute(
            """INSERT INTO video_queue (id, channel_id, user_id, status, request_data)
               SELECT video_id, channel_id, channel_id, 'completed', '{}' FROM bench_videos"""
        )
    await pool.execute(_CHANNELS, channels, year_start)
    await pool.execute(_SERVICES, channels, year_start, list(SERVICES))
    await pool.execute(_STAGES, channels, year_start, list(STAGES))
    for table in ("events", "video_rollups", "video_rollup_spans", "channel_rollups", "service_rollups",
                  "stage_rollups", "video_queue"):  # fmt: skip
        await pool.execute(f"VACUUM ANALYZE {table}")
    counts = {
        t: await pool.fetchval(f"SELECT count(*) FROM {t}")  # noqa: S608
        for t in ("video_rollups", "channel_rollups", "service_rollups", "stage_rollups")
    }
    print(f"loaded a year of aggregates in {time.monotonic() - started:.0f} s: {counts}", flush=True)

    # A rollup batch over the loaded events (the spec: hourly and daily batches in < 10 min).
    day = today - timedelta(days=2)
    for granularity, start, end in (("hour", day + timedelta(hours=12), day + timedelta(hours=13)),
                                    ("day", day, day + timedelta(days=1))):  # fmt: skip
        run = await ledger.roll_up(granularity, start, end)  # type: ignore[arg-type]
        print(f"{granularity} rollup over {per_day if granularity == 'day' else per_day // 24} events: "
              f"{run.rows_written} rows in {run.seconds:.2f} s", flush=True)  # fmt: skip

    def window(days: int) -> tuple[datetime, datetime]:
        end = today - timedelta(days=rng.randrange(0, 300))
        return end - timedelta(days=days), end

    endpoints: dict[str, Callable[[], Awaitable[object]]] = {
        "GET /analytics/channels/{id}/series?granularity=day (90 days)": lambda: performance.channel_series(
            pool, rng.choice(channels), "day", *window(90)
        ),
        "GET /analytics/channels/{id}/series?granularity=hour (2 days)": lambda: performance.channel_series(
            pool, rng.choice(channels), "hour", *window(2)
        ),
        "GET /analytics/videos/{id}/series?granularity=day (its life)": lambda: video_then_series(pool, rng, videos),
        "GET /analytics/videos/ranked (30 days, every channel)": lambda: performance.ranked_videos(
            pool, None, *window(30), rng.choice(["top", "bottom"]), 10
        ),
        "GET /analytics/videos/ranked?channel_id (30 days)": lambda: performance.ranked_videos(
            pool, rng.choice(channels), *window(30), "top", 10
        ),
        "GET /analytics/costs?group_by=service (30 days)": lambda: performance.cost_report(
            pool, "service", None, *window(30)
        ),
        "GET /analytics/costs?group_by=video&channel_id (30 days)": lambda: performance.cost_report(
            pool, "video", rng.choice(channels), *window(30)
        ),
        "GET /analytics/costs?group_by=day (90 days)": lambda: performance.cost_report(pool, "day", None, *window(90)),
    }
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {args.runs} runs per endpoint")
    worst = 0.0
    for name, query in endpoints.items():
        await query()  # warm
        timings = []
        for _ in range(args.runs):
            began = time.perf_counter()
            await query()
            timings.append((time.perf_counter() - began) * 1000)
        p95 = percentile(timings, 95)
        worst = max(worst, p95)
        print(f"{name}: p50 {percentile(timings, 50):.1f} ms, p95 {p95:.1f} ms")
    for line in (await analytics_storage(pool)).lines():
        print(f"storage: {line}")
    print(f"worst p95 ms {worst:.1f}")


async def video_then_series(pool: asyncpg.Pool, rng: random.Random, videos: list[uuid.UUID]) -> object:
    video = rng.choice(videos)
    await performance.video_channel(pool, video)
    uploaded_recently = datetime.now(UTC)
    return await performance.video_series(pool, video, "day", uploaded_recently - timedelta(days=400),
                                          uploaded_recently)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--videos-per-day", type=int, default=50)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    run_in_scratch_dir(bench, args, "ytempire-analytics-")


if __name__ == "__main__":
    main()
