"""The hourly and daily rollups on real PostgreSQL: what a channel's videos cost, drew and earned per bucket, stage
durations, completed and failed videos; the same inputs give the same rows however often a window is rolled up, and
months past the retention are dropped whole."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from activities.rollups import FIRST_RUN_SPAN, rollup_window
from core.events import PIPELINE_SOURCE, Event
from core.records import CostLine
from core.youtube_metrics import UploadedVideo, VideoCounters, VideoDay
from ledger import Ledger
from ledger.rollups import bucket_start
from tests.admission import finished_video

T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)  # an hour of the past, inside the events' retention


async def channel_with_two_videos(ledger: Ledger, pool: asyncpg.Pool) -> tuple[str, list[UploadedVideo]]:
    first = await finished_video(ledger, "rollup one")
    second = await finished_video(ledger, "rollup two", channel_id=first.channel_id)
    channel = first.channel_id
    videos = [
        UploadedVideo(first.video_id, channel, f"yt-{first.video_id[:8]}", T0),
        UploadedVideo(second.video_id, channel, f"yt-{second.video_id[:8]}", T0),
    ]
    return channel, videos


async def charge(
    ledger: Ledger, pool: asyncpg.Pool, video: str, stage: str, service: str, usd: float, at: datetime
) -> None:
    await ledger.record_stage_cost(video, stage, CostLine(service, "call", usd, {}))
    await pool.execute(
        "UPDATE pipeline_costs SET timestamp = $1 WHERE video_id = $2 AND stage = $3", at, uuid.UUID(video), stage
    )


def event(kind: str, channel: str, video: str, at: datetime, **fields: Any) -> Event:
    return Event(
        uuid.uuid4(), at, kind, PIPELINE_SOURCE, video_id=uuid.UUID(video), channel_id=uuid.UUID(channel), **fields
    )


async def rows(pool: asyncpg.Pool, table: str, channel: str, granularity: str) -> list[dict[str, Any]]:
    found = await pool.fetch(
        f"SELECT * FROM {table} WHERE channel_id = $1 AND granularity = $2 ORDER BY 1, 2, 3, 4",  # noqa: S608
        uuid.UUID(channel),
        granularity,
    )
    return [dict(r) for r in found]


@pytest.fixture
async def filled(ledger: Ledger, pg_pool: asyncpg.Pool) -> tuple[str, list[UploadedVideo]]:
    """Two videos of a channel: charges, stage runs and ends at T0 and an hour later, readings and YouTube days."""
    channel, (one, two) = await channel_with_two_videos(ledger, pg_pool)
    await charge(ledger, pg_pool, one.video_id, "script_generation", "openai", 0.10, T0 + timedelta(minutes=5))
    await charge(ledger, pg_pool, one.video_id, "audio_synthesis", "elevenlabs", 0.30, T0 + timedelta(minutes=20))
    await charge(ledger, pg_pool, two.video_id, "script_generation", "openai", 0.20, T0 + timedelta(hours=1, minutes=1))
    await ledger.record_events(
        [
            event("stage_finished", channel, one.video_id, T0 + timedelta(minutes=5), stage="script_generation",
                  duration_seconds=2.0),
            event("stage_finished", channel, two.video_id, T0 + timedelta(minutes=9), stage="script_generation",
                  duration_seconds=4.0),
            event("video_completed", channel, one.video_id, T0 + timedelta(minutes=30)),
            event("video_failed", channel, two.video_id, T0 + timedelta(hours=1, minutes=30)),
        ]
    )  # fmt: skip
    await ledger.record_video_readings(T0, [(one, VideoCounters(100, 10, 1)), (two, VideoCounters(50, 5, 0))])
    await ledger.record_video_readings(T0 + timedelta(hours=1), [(one, VideoCounters(160, 12, 3))])
    day = T0.date()
    await ledger.record_video_days(one, [VideoDay(one.youtube_video_id, day, 150, 300.0, 40.0, 2, 1, 1.25)])
    return channel, [one, two]


async def test_hourly_buckets_sum_views_costs_and_stage_durations(
    ledger: Ledger, pg_pool: asyncpg.Pool, filled: tuple[str, list[UploadedVideo]]
) -> None:
    channel, (one, two) = filled
    run = await ledger.roll_up("hour", T0, T0 + timedelta(hours=2))
    assert run.rows_written > 0

    videos = {(r["bucket"], str(r["video_id"])): r for r in await rows(pg_pool, "video_rollups", channel, "hour")}
    first = videos[(T0, one.video_id)]
    assert (first["views"], first["likes"], first["comments"]) == (100, 10, 1)
    assert float(first["cost_usd"]) == pytest.approx(0.40) and first["revenue_usd"] is None
    assert float(first["margin_usd"]) == pytest.approx(-0.40)
    assert videos[(T0 + timedelta(hours=1), one.video_id)]["views"] == 60  # the growth of that hour
    assert float(videos[(T0 + timedelta(hours=1), two.video_id)]["cost_usd"]) == pytest.approx(0.20)

    channels = await rows(pg_pool, "channel_rollups", channel, "hour")
    assert [
        (r["bucket"], r["views"], float(r["cost_usd"]), r["videos_completed"], r["videos_failed"]) for r in channels
    ] == [
        (T0, 150, pytest.approx(0.40), 1, 0),
        (T0 + timedelta(hours=1), 60, pytest.approx(0.20), 0, 1),
    ]
    services = await rows(pg_pool, "service_rollups", channel, "hour")
    assert [(r["bucket"], r["service"], r["charges"], float(r["cost_usd"])) for r in services] == [
        (T0, "elevenlabs", 1, pytest.approx(0.30)),
        (T0, "openai", 1, pytest.approx(0.10)),
        (T0 + timedelta(hours=1), "openai", 1, pytest.approx(0.20)),
    ]
    [stage] = await rows(pg_pool, "stage_rollups", channel, "hour")
    assert (stage["stage"], stage["runs"], stage["p50_seconds"], stage["p95_seconds"]) == (
        "script_generation", 2, pytest.approx(3.0), pytest.approx(3.9),
    )  # fmt: skip


async def test_a_day_takes_youtubes_reported_views_and_revenue_and_reruns_change_nothing(
    ledger: Ledger, pg_pool: asyncpg.Pool, filled: tuple[str, list[UploadedVideo]]
) -> None:
    channel, (one, two) = filled
    day = bucket_start(T0, "day")
    await ledger.roll_up("day", day, day + timedelta(days=1))
    before = {table: await rows(pg_pool, table, channel, "day") for table in ("video_rollups", "channel_rollups")}
    by_video = {str(r["video_id"]): r for r in before["video_rollups"]}
    reported = by_video[one.video_id]
    assert (reported["views"], reported["watch_minutes"], float(reported["revenue_usd"])) == (150, 300.0, 1.25)
    assert float(reported["margin_usd"]) == pytest.approx(1.25 - 0.40)
    assert by_video[two.video_id]["views"] == 50  # no YouTube day for it yet: the readings' growth
    [whole] = before["channel_rollups"]
    assert (whole["views"], float(whole["margin_usd"]), whole["videos_completed"], whole["videos_failed"]) == (
        200, pytest.approx(1.25 - 0.60), 1, 1,
    )  # fmt: skip

    await ledger.roll_up("day", day, day + timedelta(days=1))
    after = {table: await rows(pg_pool, table, channel, "day") for table in ("video_rollups", "channel_rollups")}
    assert after == before

    # A late charge is in the next run of its window.
    await charge(ledger, pg_pool, two.video_id, "video_rendering", "compute", 0.05, T0 + timedelta(hours=3))
    await ledger.roll_up("day", day, day + timedelta(days=1))
    [whole] = await rows(pg_pool, "channel_rollups", channel, "day")
    assert float(whole["cost_usd"]) == pytest.approx(0.65)


def test_the_window_reaches_back_over_late_data_and_missed_runs() -> None:
    at = datetime(2026, 12, 7, 10, 5, tzinfo=UTC)
    hour = datetime(2026, 12, 7, 10, tzinfo=UTC)
    assert rollup_window("hour", at, hour, 3) == (hour - timedelta(hours=3), hour + timedelta(hours=1))
    missed = hour - timedelta(hours=9)
    assert rollup_window("hour", at, missed, 3) == (missed - timedelta(hours=1), hour + timedelta(hours=1))
    first = rollup_window("hour", at, None, 3)
    assert first == (hour + timedelta(hours=1) - FIRST_RUN_SPAN["hour"], hour + timedelta(hours=1))
    day = datetime(2026, 12, 7, tzinfo=UTC)
    assert rollup_window("day", at, day, 3) == (day - timedelta(days=4), day + timedelta(days=1))
    assert rollup_window("day", at, day - timedelta(days=1000), 3)[0] == day + timedelta(days=1) - timedelta(days=400)


async def test_months_past_the_retention_are_dropped_whole(ledger: Ledger, pg_pool: asyncpg.Pool) -> None:
    old = date(2024, 3, 1)
    assert await pg_pool.fetchval("SELECT ensure_rollup_partitions($1, $1)", old) in (0, 4)
    today = datetime.now(UTC).date()
    with pytest.raises(asyncpg.RaiseError, match="last 90 days"):
        await ledger.drop_rollup_partitions_before(today)
    dropped = await ledger.drop_rollup_partitions_before(today - timedelta(days=365))
    assert old in dropped and all(month < today - timedelta(days=365) for month in dropped)
    assert await pg_pool.fetchval("SELECT to_regclass('channel_rollups_p202403')") is None
