"""Videos ranked by margin from running margins (sql/021_running_margins.sql) on real PostgreSQL rank exactly as the
sums of their days do: over random days with gaps, windows rolled up out of order, YouTube revising and dropping
days, reruns, and retention dropping the oldest months; a database from before them gets them when it migrates."""

from __future__ import annotations

import random
import shutil
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from core.youtube_metrics import UploadedVideo, VideoDay
from devstack.postgres import PostgresServer
from ledger import Ledger, create_pool, performance
from ledger.migrations import SQL_DIR, apply_migrations
from ledger.performance import RankOrder
from tests.admission import finished_video
from tests.ledger.test_rollups import charge


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


async def channel_videos(ledger: Ledger, topic: str, count: int) -> list[UploadedVideo]:
    first = await finished_video(ledger, f"{topic} 0")
    requests = [first] + [
        await finished_video(ledger, f"{topic} {n}", channel_id=first.channel_id) for n in range(1, count)
    ]
    return [
        UploadedVideo(r.video_id, r.channel_id, f"yt-{r.video_id[:8]}", midnight(date(2026, 1, 1))) for r in requests
    ]


async def youtube_days(ledger: Ledger, rng: random.Random, video: UploadedVideo, days: list[date]) -> None:
    """The video's days from its random first one, some missing, some without revenue."""
    first = rng.randrange(len(days))
    lived = [d for d in days[first : first + rng.randint(1, len(days))] if rng.random() > 0.15]
    await ledger.record_video_days(
        video,
        [
            VideoDay(
                video.youtube_video_id,
                d,
                rng.randint(0, 900),
                10.0,
                30.0,
                0,
                0,
                None if rng.random() < 0.2 else round(rng.uniform(0, 3), 4),
            )  # fmt: skip
            for d in lived
        ],
    )


async def roll_up_in_random_windows(ledger: Ledger, rng: random.Random, days: list[date]) -> None:
    cuts = sorted(rng.sample(range(1, len(days)), 4))
    windows = [(days[a], days[b - 1]) for a, b in zip([0, *cuts], [*cuts, len(days)], strict=True)]
    rng.shuffle(windows)
    for first, last in windows:
        await ledger.roll_up("day", midnight(first), midnight(last) + timedelta(days=1))


async def summed(
    pool: asyncpg.Pool, channel: uuid.UUID | None, since: datetime, until: datetime, order: RankOrder, limit: int
) -> list[tuple[str, Decimal]]:
    """The ranking straight from the sums of each video's days in the window."""
    rows = await pool.fetch(
        f"""SELECT video_id::text, sum(margin_usd) AS margin FROM video_rollups
            WHERE granularity = 'day' AND bucket >= $2 AND bucket < $3 AND ($1::uuid IS NULL OR channel_id = $1)
            GROUP BY video_id ORDER BY 2 {"DESC" if order == "top" else "ASC"}, 1 LIMIT $4""",  # noqa: S608
        channel,
        since,
        until,
        limit,
    )
    return [(r["video_id"], r["margin"]) for r in rows]


async def assert_ranks_as_summed(
    pool: asyncpg.Pool, rng: random.Random, channels: list[uuid.UUID], days: list[date], windows: int
) -> None:
    for _ in range(windows):
        since = midnight(rng.choice(days)) + timedelta(hours=rng.choice([0, 0, 7]))
        until = since + timedelta(days=rng.randint(1, 30), hours=rng.choice([0, 0, 13]))
        order: RankOrder = rng.choice(["top", "bottom"])
        channel = rng.choice([None, *channels])
        limit = rng.choice([3, 50])
        ranked = await performance.ranked_videos(pool, channel, since, until, order, limit)
        expected = await summed(pool, channel, since, until, order, limit)
        assert [(v.video_id, v.margin_usd) for v in ranked] == [(video, float(margin)) for video, margin in expected], (
            since,
            until,
            order,
            channel,
        )


async def assert_running_margins_add_up(pool: asyncpg.Pool, videos: list[UploadedVideo]) -> None:
    """Each day's running margin is the day before's plus its own margin."""
    broken = await pool.fetchval(
        """SELECT count(*) FROM (
               SELECT margin_through_usd - margin_usd
                      - lag(margin_through_usd) OVER (PARTITION BY video_id ORDER BY bucket) AS gap
               FROM video_rollups WHERE granularity = 'day' AND video_id = ANY($1::uuid[])) t
           WHERE gap <> 0""",
        [uuid.UUID(v.video_id) for v in videos],
    )
    assert broken == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_rankings_equal_the_sums_of_the_days_through_revisions_and_reruns(
    ledger: Ledger, pg_pool: asyncpg.Pool, seed: int
) -> None:
    rng = random.Random(seed)
    days = [date(2026, 8, 20) + timedelta(days=n) for n in range(45)]
    first_channel = await channel_videos(ledger, f"running margins {seed} a", 5)
    second_channel = await channel_videos(ledger, f"running margins {seed} b", 4)
    videos = first_channel + second_channel
    for video in videos:
        await youtube_days(ledger, rng, video, days)
        await charge(ledger, pg_pool, video.video_id, "script_generation", "openai", round(rng.uniform(0.1, 0.9), 4),
                     midnight(rng.choice(days)) + timedelta(hours=5))  # fmt: skip
    channels = [uuid.UUID(first_channel[0].channel_id), uuid.UUID(second_channel[0].channel_id)]

    await roll_up_in_random_windows(ledger, rng, days)
    await assert_running_margins_add_up(pg_pool, videos)
    await assert_ranks_as_summed(pg_pool, rng, channels, days, 25)

    # YouTube revises some days and drops others; the days are rolled up again, out of order, some windows twice.
    for video in rng.sample(videos, 4):
        await youtube_days(ledger, rng, video, days)
    await pg_pool.execute(
        "DELETE FROM youtube_video_days WHERE video_id = ANY($1::uuid[]) AND day = ANY($2::date[])",
        [uuid.UUID(v.video_id) for v in rng.sample(videos, 3)],
        rng.sample(days, 10),
    )
    await roll_up_in_random_windows(ledger, rng, days)
    await roll_up_in_random_windows(ledger, rng, days[: len(days) // 2])
    await assert_running_margins_add_up(pg_pool, videos)
    await assert_ranks_as_summed(pg_pool, rng, channels, days, 25)


async def test_rankings_hold_after_the_retention_drops_the_oldest_months(ledger: Ledger, pg_pool: asyncpg.Pool) -> None:
    rng = random.Random(11)
    days = [date(2025, 1, 10) + timedelta(days=n) for n in range(60)]  # into March 2025
    videos = await channel_videos(ledger, "running margins retention", 6)
    await youtube_days(ledger, rng, videos[0], days[:15])  # January's only
    for video in videos[1:]:
        await youtube_days(ledger, rng, video, days)
    await roll_up_in_random_windows(ledger, rng, days)
    lived_in_january = {
        str(r["video_id"])
        for r in await pg_pool.fetch(
            "SELECT video_id FROM video_rollup_spans WHERE video_id = ANY($1::uuid[]) AND last_day < '2025-02-01'",
            [uuid.UUID(v.video_id) for v in videos],
        )
    }

    assert videos[0].video_id in lived_in_january
    assert date(2025, 1, 1) in await ledger.drop_rollup_partitions_before(date(2025, 2, 1))

    later = [d for d in days if d >= date(2025, 2, 1)]
    await assert_ranks_as_summed(pg_pool, rng, [uuid.UUID(videos[0].channel_id)], later, 20)
    kept = await pg_pool.fetchval(
        "SELECT count(*) FROM video_rollup_spans WHERE video_id = ANY($1::uuid[])",
        [uuid.UUID(v) for v in lived_in_january],
    )
    assert kept == 0


async def test_the_migration_gives_existing_days_their_running_margins_and_spans(
    pg_server: PostgresServer, owner_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    earlier = tmp_path / "sql"
    earlier.mkdir()
    for path in SQL_DIR.glob("[0-9][0-9][0-9]_*.sql"):
        if path.name < "021":
            shutil.copy(path, earlier)
    name = f"own_{uuid.uuid4().hex[:12]}"
    pg_server.ensure_database(name)
    pool = await create_pool(pg_server.owner_login(name), max_size=1)
    try:
        await apply_migrations(pool, earlier)
        video, channel = uuid.uuid4(), uuid.uuid4()
        await pool.execute("SELECT ensure_rollup_partitions('2026-10-30', '2026-11-02')")
        await pool.execute(
            """INSERT INTO video_rollups (granularity, bucket, video_id, channel_id, views, likes, comments,
                                          watch_minutes, revenue_usd, cost_usd)
               VALUES ('day', '2026-10-30Z', $1, $2, 0, 0, 0, 0, NULL, 0.5),
                      ('day', '2026-10-31Z', $1, $2, 0, 0, 0, 0, 1.25, 0),
                      ('day', '2026-11-02Z', $1, $2, 0, 0, 0, 0, 2, 0.25),
                      ('hour', '2026-10-31T05:00Z', $1, $2, 0, 0, 0, 0, NULL, 0)""",
            video,
            channel,
        )

        assert await apply_migrations(pool) == sorted(p.name for p in SQL_DIR.glob("02[1-9]_*.sql"))

        running = await pool.fetch(
            "SELECT granularity, margin_through_usd FROM video_rollups WHERE video_id = $1 ORDER BY bucket", video
        )
        assert [(r["granularity"], r["margin_through_usd"]) for r in running] == [
            ("day", Decimal("-0.5")), ("day", Decimal("0.75")), ("hour", None), ("day", Decimal("2.5")),
        ]  # fmt: skip
        span = await pool.fetchrow("SELECT * FROM video_rollup_spans WHERE video_id = $1", video)
        assert tuple(span) == (video, channel, date(2026, 10, 30), date(2026, 11, 2))
    finally:
        await pool.close()
        await owner_pool.execute(f'DROP DATABASE "{name}"')
