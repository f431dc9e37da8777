"""A week of YouTube collection in seconds: each channel's two Schedules on the dev server, backfilled over past
hours and days, run on a pipeline worker against the fake Data + Analytics API. Every run works as of the time it
was scheduled for; a channel whose credentials were revoked is reported run by run while the other is collected."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import ScheduleBackfill, ScheduleOverlapPolicy
from temporalio.testing import WorkflowEnvironment

from core.records import CostLine
from core.settings import Settings
from core.youtube_metrics import CollectionApi, CollectionRun
from ledger import Ledger
from providers.youtube_quota import quota_day
from tests.admission import finished_video
from tests.fakes.server import serve
from tests.fakes.youtube_metrics_api import FakeYouTubeMetrics
from tests.integration.conftest import running_workers
from workflows.client import (
    ROLLUP_SCHEDULE_IDS,
    ensure_rollup_schedules,
    ensure_youtube_collection_schedules,
    youtube_channels,
    youtube_reports_schedule_id,
    youtube_stats_schedule_id,
)

HOURS, DAYS = 24, 7


@pytest.fixture
def fake() -> Iterator[tuple[FakeYouTubeMetrics, str]]:
    api = FakeYouTubeMetrics("client-id", "client-secret")
    with serve(api.app) as base_url:
        yield api, base_url


async def uploaded_channel(ledger: Ledger, pool: asyncpg.Pool, name: str, videos: int, at: datetime) -> str:
    channel_id = str(uuid.uuid4())
    for n in range(videos):
        request = await finished_video(ledger, f"{name} {n}", channel_id=channel_id)
        cost = CostLine("youtube", "videos.insert", 0.002, {"youtube_video_id": f"{name}-{n}"})
        await ledger.record_stage_cost(request.video_id, "upload_preparation", cost)
        await pool.execute("UPDATE pipeline_costs SET timestamp = $1 WHERE video_id = $2", at,
                           uuid.UUID(request.video_id))  # fmt: skip
    return channel_id


async def rollup_runs(pool: asyncpg.Pool, since: datetime, count: int) -> list[asyncpg.Record]:
    """The daily rollups ending in the `count` days after `since` (other tests roll up days of their own)."""
    query = """SELECT * FROM rollup_runs WHERE granularity = 'day' AND window_end > $1 AND window_end <= $2
               ORDER BY window_end"""
    for _ in range(600):
        runs = await pool.fetch(query, since, since + timedelta(days=count))
        if len(runs) >= count:
            return runs
        await asyncio.sleep(0.1)
    raise AssertionError(f"{len(runs)} of {count} daily rollups: {[(r['window_end'], r['seconds']) for r in runs]}")


async def runs_of(ledger: Ledger, channel_id: str, api: CollectionApi, count: int) -> list[CollectionRun]:
    for _ in range(600):
        runs = await ledger.collection_runs(channel_id, api)
        if len(runs) >= count:
            return runs
        await asyncio.sleep(0.1)
    raise AssertionError(f"{len(runs)} of {count} {api} runs of channel {channel_id}")


async def test_a_backfilled_week_collects_every_day_and_hour_and_reports_revoked_credentials(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    ledger: Ledger,
    pg_pool: asyncpg.Pool,
    tmp_path: Path,
    fake: tuple[FakeYouTubeMetrics, str],
) -> None:
    api, base_url = fake
    await pg_pool.execute("DELETE FROM provider_quota WHERE service IN ('youtube', 'youtube.analytics')")
    week_start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=DAYS + 1)
    uploaded = week_start - timedelta(days=3)
    healthy = await uploaded_channel(ledger, pg_pool, "healthy", 2, uploaded)
    revoked = await uploaded_channel(ledger, pg_pool, "revoked", 1, uploaded)
    credentials = {}
    for name, channel_id, videos in (("healthy", healthy, 2), ("revoked", revoked, 1)):
        account = api.add_account(name, f"refresh-{name}")
        for n in range(videos):
            account.videos.add(f"{name}-{n}")
            api.set_counters(f"{name}-{n}", views=10, views_per_call=25)
            day = quota_day(uploaded)
            while day <= quota_day(week_start + timedelta(days=DAYS)):
                api.set_day(f"{name}-{n}", day, views=100, estimatedMinutesWatched=50, estimatedRevenue=0.25)
                day += timedelta(days=1)
        credentials[channel_id] = api.credentials_file(name, tmp_path / f"{name}.json", base_url)
    api.revoke("revoked")
    collecting = settings.model_copy(
        update={
            "youtube_base_url": base_url,
            "youtube_analytics_base_url": base_url,
            "youtube_channel_credentials": credentials,
            "youtube_credentials_file": None,
        }
    )
    assert {healthy, revoked} <= set(await youtube_channels(collecting, ledger))
    channels = [healthy, revoked]
    await ensure_youtube_collection_schedules(dev_env.client, collecting, channels)
    await ensure_youtube_collection_schedules(dev_env.client, collecting, channels)  # every worker start: an update
    handles = [
        dev_env.client.get_schedule_handle(schedule_id(channel))
        for channel in channels
        for schedule_id in (youtube_stats_schedule_id, youtube_reports_schedule_id)
    ]
    try:
        for handle in handles:
            await handle.pause(note="the test backfills instead")
        async with running_workers(dev_env, collecting, ledger, ("pipeline",)):
            for channel in channels:
                await dev_env.client.get_schedule_handle(youtube_reports_schedule_id(channel)).backfill(
                    ScheduleBackfill(
                        week_start, week_start + timedelta(days=DAYS - 1), ScheduleOverlapPolicy.BUFFER_ALL
                    )
                )
                await dev_env.client.get_schedule_handle(youtube_stats_schedule_id(channel)).backfill(
                    ScheduleBackfill(
                        week_start, week_start + timedelta(hours=HOURS - 1), ScheduleOverlapPolicy.BUFFER_ALL
                    )
                )
            reports = await runs_of(ledger, healthy, "analytics", DAYS)
            # The daily rollups of that week, run as of each day, after the reports: views and revenue per channel.
            await ensure_rollup_schedules(dev_env.client, collecting)
            rollups = dev_env.client.get_schedule_handle(ROLLUP_SCHEDULE_IDS["day"])
            handles.append(rollups)
            handles.append(dev_env.client.get_schedule_handle(ROLLUP_SCHEDULE_IDS["hour"]))
            for handle in handles[-2:]:
                await handle.pause(note="the test backfills instead")
            last_action = week_start + timedelta(days=DAYS) - timedelta(seconds=1)  # the daily run is at 01:30
            await rollups.backfill(ScheduleBackfill(week_start, last_action, ScheduleOverlapPolicy.BUFFER_ALL))
            windows = await rollup_runs(pg_pool, week_start, DAYS)
            readings = await runs_of(ledger, healthy, "data", HOURS)
            failed_reports = await runs_of(ledger, revoked, "analytics", DAYS)
            failed_readings = await runs_of(ledger, revoked, "data", HOURS)
            await asyncio.sleep(1)  # a run past the backfill's last would show now
        assert len(await ledger.collection_runs(healthy, "analytics")) == DAYS
        assert len(await ledger.collection_runs(healthy, "data")) == HOURS
        described = await handles[0].describe()
        assert described.schedule.spec.intervals[0].every == timedelta(hours=1)
    finally:
        for handle in handles:
            await handle.delete()

    # Each run worked as of the time it was scheduled for, one a day and one an hour.
    assert [r.scheduled_for for r in reports] == [week_start + timedelta(days=n) for n in range(DAYS)]
    assert [r.scheduled_for for r in readings] == [week_start + timedelta(hours=n) for n in range(HOURS)]
    assert {r.outcome for r in reports + readings} == {"ok"}
    assert {r.outcome for r in failed_reports + failed_readings} == {"auth_failed"}

    # Every day from the upload to the day before the last run, once per video, with its revenue.
    days = await pg_pool.fetch(
        "SELECT youtube_video_id, day, estimated_revenue_usd FROM youtube_video_days WHERE channel_id = $1",
        uuid.UUID(healthy),
    )
    last_day = quota_day(reports[-1].scheduled_for) - timedelta(days=1)
    expected_days = (last_day - quota_day(uploaded)).days + 1
    assert len(days) == 2 * expected_days
    assert {d["day"] for d in days} == {quota_day(uploaded) + timedelta(days=n) for n in range(expected_days)}
    assert all(float(d["estimated_revenue_usd"]) == 0.25 for d in days)
    assert reports[0].first_day == quota_day(uploaded) and reports[-1].last_day == last_day
    assert all(isinstance(r.first_day, date) for r in reports)

    # Each daily rollup ran as of its day (the first reaching back 90 days), and the channel's days add up.
    assert [w["window_end"] for w in windows] == [week_start + timedelta(days=n + 1) for n in range(DAYS)]
    assert windows[1]["window_start"] == week_start + timedelta(days=1) - timedelta(days=4)
    channel_days = await pg_pool.fetch(
        "SELECT bucket, views, revenue_usd FROM channel_rollups WHERE channel_id = $1 AND granularity = 'day'",
        uuid.UUID(healthy),
    )
    assert {r["bucket"].date() for r in channel_days} >= {d["day"] for d in days}
    reported = [r for r in channel_days if r["revenue_usd"] is not None]
    assert reported and all(r["views"] == 200 and float(r["revenue_usd"]) == 0.5 for r in reported)

    # Hour by hour, the growth of each video adds up to its lifetime count.
    for n in range(2):
        rows = await pg_pool.fetch(
            "SELECT views, views_delta FROM youtube_video_stats WHERE youtube_video_id = $1 ORDER BY read_at",
            f"healthy-{n}",
        )
        assert len(rows) == HOURS and all(r["views_delta"] == 25 for r in rows[1:])
        assert sum(r["views_delta"] for r in rows) == rows[-1]["views"] == api.counters[f"healthy-{n}"].views
