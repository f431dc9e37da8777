"""The YouTube collection activities against a fake Data + Analytics API through google-api-python-client, on the
real ledger: counters turned into growth, days collected again until they settle, quotas reserved before each call,
and failing credentials or a spent quota reported for one channel without touching another."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.youtube_collection import CollectionInput, CollectionSummary, YouTubeCollectionActivities
from core.records import CostLine
from core.settings import Settings
from core.youtube_metrics import report_days
from ledger import Ledger
from providers.youtube_quota import quota_day
from telemetry.worker_metrics import WorkerMetrics
from tests.admission import finished_video
from tests.fakes.server import serve
from tests.fakes.youtube_metrics_api import FakeYouTubeMetrics

CLIENT_ID, CLIENT_SECRET = "client-123.apps.googleusercontent.com", "client-secret-456"


@dataclass
class Rig:
    fake: FakeYouTubeMetrics
    base_url: str
    tmp_path: Path
    ledger: Ledger
    pool: asyncpg.Pool
    credentials: dict[str, Path]

    def settings(self, **changes: Any) -> Settings:
        return Settings(  # type: ignore[call-arg]
            _env_file=None,
            data_dir=self.tmp_path,
            youtube_base_url=self.base_url,
            youtube_analytics_base_url=self.base_url,
            youtube_channel_credentials=self.credentials,
            provider_timeout_seconds=10,
            **changes,
        )

    def activities(self, **changes: Any) -> YouTubeCollectionActivities:
        return YouTubeCollectionActivities(self.settings(**changes), self.ledger, WorkerMetrics())

    async def channel(self, name: str, videos: int, *, monetary: bool = True, uploaded: datetime | None = None) -> str:
        """A channel of `videos` uploaded videos, with its own credentials at the fake; its id."""
        account = self.fake.add_account(name, f"refresh-{name}", monetary=monetary)
        channel_id = str(uuid.uuid4())
        for n in range(videos):
            request = await finished_video(self.ledger, f"{name} video {n}", channel_id=channel_id)
            youtube_id = f"{name}-{n:03d}"
            account.videos.add(youtube_id)
            self.fake.set_counters(youtube_id, views=100 * n)
            await self.ledger.record_stage_cost(
                request.video_id,
                "upload_preparation",
                CostLine("youtube", "videos.insert", 0.002, {"youtube_video_id": youtube_id}),
            )
            if uploaded is not None:
                await self.pool.execute(
                    "UPDATE pipeline_costs SET timestamp = $1 WHERE video_id = $2",
                    uploaded,
                    uuid.UUID(request.video_id),
                )
        self.credentials[channel_id] = self.fake.credentials_file(name, self.tmp_path / f"{name}.json", self.base_url)
        return channel_id


@pytest.fixture
async def clean_quota(pg_pool: asyncpg.Pool) -> None:
    await pg_pool.execute("DELETE FROM provider_quota WHERE service IN ('youtube', 'youtube.analytics')")


@pytest.fixture
def rig(tmp_path: Path, ledger: Ledger, pg_pool: asyncpg.Pool, clean_quota: None) -> Iterator[Rig]:
    fake = FakeYouTubeMetrics(CLIENT_ID, CLIENT_SECRET)
    with serve(fake.app) as base_url:
        yield Rig(fake, base_url, tmp_path, ledger, pg_pool, {})


async def stats(rig: Rig, channel_id: str, at: datetime, **changes: Any) -> CollectionSummary:
    activities = rig.activities(**changes)
    return await ActivityEnvironment().run(
        activities.collect_youtube_statistics, CollectionInput(channel_id, at.isoformat())
    )


async def reports(rig: Rig, channel_id: str, at: datetime, **changes: Any) -> CollectionSummary:
    activities = rig.activities(**changes)
    return await ActivityEnvironment().run(
        activities.collect_youtube_reports, CollectionInput(channel_id, at.isoformat())
    )


async def readings(pg_pool: asyncpg.Pool, channel_id: str) -> list[asyncpg.Record]:
    return await pg_pool.fetch(
        "SELECT youtube_video_id, read_at, views, views_delta, likes_delta, since FROM youtube_video_stats "
        "WHERE channel_id = $1 ORDER BY read_at, youtube_video_id",
        uuid.UUID(channel_id),
    )


async def test_counters_become_growth_in_batches_of_50_each_run_once(rig: Rig, pg_pool: asyncpg.Pool) -> None:
    channel = await rig.channel("big", 60)
    rig.fake.set_counters("big-059", views=0)  # gone from YouTube below
    del rig.fake.counters["big-059"]
    for n in range(59):
        rig.fake.counters[f"big-{n:03d}"].views_per_call = 7
    rig.fake.page_size = 20  # the client follows nextPageToken
    start = datetime(2026, 12, 1, 10, tzinfo=UTC)

    first = await stats(rig, channel, start)
    assert (first.outcome, first.videos, first.rows_written) == ("ok", 60, 59)
    assert "1 uploaded videos are gone" in first.detail
    lists = rig.fake.calls("videos")
    assert [len(c.query["id"].split(",")) for c in lists] == [50, 50, 50, 10]  # two batches, three pages for 50
    assert first.quota_units == 4

    second = await stats(rig, channel, start + timedelta(hours=1))
    rows = await readings(pg_pool, channel)
    later = [r for r in rows if r["read_at"] == start + timedelta(hours=1)]
    assert len(later) == 59 and all(r["views_delta"] == 7 and r["since"] == start for r in later)
    earliest = [r for r in rows if r["read_at"] == start]
    assert all(r["since"] is None and r["views_delta"] == r["views"] for r in earliest)  # growth since the upload
    assert second.rows_written == 59

    # The same run again replaces its rows; a late run for an hour before the latest reading records nothing.
    assert (await stats(rig, channel, start + timedelta(hours=1))).rows_written == 59
    assert (await stats(rig, channel, start + timedelta(minutes=30))).rows_written == 0
    assert len(await readings(pg_pool, channel)) == 118
    video = [r for r in await readings(pg_pool, channel) if r["youtube_video_id"] == "big-003"]
    assert sum(r["views_delta"] for r in video) == video[-1]["views"]  # the growth adds up to the lifetime count


async def test_days_settle_revenue_when_allowed_and_gaps_are_collected(rig: Rig, pg_pool: asyncpg.Pool) -> None:
    uploaded = datetime(2026, 11, 20, 18, tzinfo=UTC)
    channel = await rig.channel("earner", 2, uploaded=uploaded)
    for n in range(2):
        for d in range(20, 31):
            rig.fake.set_day(
                f"earner-{n:03d}",
                date(2026, 11, d),
                views=10 * d,
                estimatedMinutesWatched=d,
                averageViewDuration=40,
                shares=1,
                subscribersGained=2,
                estimatedRevenue=0.5,
            )
    first = await reports(rig, channel, datetime(2026, 11, 25, 12, tzinfo=UTC))
    # The first run reaches back to the first upload (a Pacific day), through yesterday.
    assert (first.outcome, first.first_day, first.last_day, first.revenue) == ("ok", "2026-11-20", "2026-11-24", True)
    assert first.rows_written == 10

    # YouTube revises a recent day; a week is missed; the next run re-reads the unsettled days and fills the gap.
    rig.fake.set_day("earner-000", date(2026, 11, 24), views=999)
    later = await reports(rig, channel, datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert (later.first_day, later.last_day) == ("2026-11-23", "2026-11-30")
    day = await pg_pool.fetchrow(
        "SELECT views, estimated_revenue_usd FROM youtube_video_days WHERE youtube_video_id = 'earner-000' "
        "AND day = '2026-11-24'"
    )
    assert day["views"] == 999 and float(day["estimated_revenue_usd"]) == 0.5
    count = await pg_pool.fetchval("SELECT count(*) FROM youtube_video_days WHERE channel_id = $1", uuid.UUID(channel))
    assert count == 22  # 11 days of 2 videos, each once however often it was collected

    # The same run again changes nothing but the collection time.
    again = await reports(rig, channel, datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert (again.first_day, again.rows_written) == ("2026-11-28", 6)
    assert (
        await pg_pool.fetchval("SELECT count(*) FROM youtube_video_days WHERE channel_id = $1", uuid.UUID(channel))
        == 22
    )


async def test_a_channel_without_revenue_access_still_reports(rig: Rig, pg_pool: asyncpg.Pool) -> None:
    channel = await rig.channel("hobby", 1, monetary=False, uploaded=datetime(2026, 11, 28, 18, tzinfo=UTC))
    rig.fake.set_day("hobby-000", date(2026, 11, 29), views=5, estimatedMinutesWatched=3)
    run = await reports(rig, channel, datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert (run.outcome, run.revenue, run.rows_written) == ("ok", False, 1)
    assert "monetary" in run.detail
    revenue = await pg_pool.fetchval(
        "SELECT estimated_revenue_usd FROM youtube_video_days WHERE youtube_video_id = 'hobby-000'"
    )
    assert revenue is None  # unknown, not zero


async def test_revoked_credentials_are_reported_and_other_channels_go_on(rig: Rig, ledger: Ledger) -> None:
    revoked = await rig.channel("revoked", 1)
    healthy = await rig.channel("healthy", 1)
    rig.fake.revoke("revoked")
    at = datetime(2026, 12, 1, 10, tzinfo=UTC)

    failed = await stats(rig, revoked, at)
    assert failed.outcome == "auth_failed" and "authorize again" in failed.detail
    assert "refresh-revoked" not in failed.detail
    assert (await stats(rig, healthy, at)).outcome == "ok"
    [event] = [
        e.event
        for e in await ledger.stored_events(since=at - timedelta(days=400), kind="youtube_collection_failed")
        if e.event.channel_id == uuid.UUID(revoked)
    ]
    assert event.level == "error" and event.details["outcome"] == "auth_failed"
    [run] = await ledger.collection_runs(revoked, "data")
    assert run.outcome == "auth_failed"

    # A credentials file that is not one is the same kind of failure, named by its setting.
    rig.credentials[healthy].write_text("not json")
    broken = await stats(rig, healthy, at + timedelta(hours=1))
    assert broken.outcome == "auth_failed" and "YTEMPIRE_YOUTUBE_CHANNEL_CREDENTIALS" in broken.detail


async def test_quota_is_reserved_first_and_a_spent_quota_waits_for_the_next_run(
    rig: Rig, pg_pool: asyncpg.Pool
) -> None:
    channel = await rig.channel("thrifty", 1, uploaded=datetime(2026, 11, 28, 18, tzinfo=UTC))
    at = datetime(2026, 12, 1, 12, tzinfo=UTC)
    # Our own allowance is spent: no call is made.
    refused = await reports(rig, channel, at, youtube_analytics_daily_queries=0)
    assert refused.outcome == "quota_exhausted" and "midnight Pacific" in refused.detail
    assert rig.fake.calls("reports") == []
    # YouTube says the quota is spent.
    rig.fake.fail("videos", 403, "quotaExceeded")
    spent = await stats(rig, channel, at)
    assert spent.outcome == "quota_exhausted" and spent.quota_units == 1
    used = await pg_pool.fetchval(
        "SELECT units FROM provider_quota WHERE service = 'youtube' AND day = $1", quota_day(datetime.now(UTC))
    )
    assert used == 1  # reserved before the call, kept though it failed (YouTube charges failed calls)
    # The report run after the spent one collects every day since the upload: nothing was settled.
    rig.fake.set_day("thrifty-000", date(2026, 11, 29), views=5)
    assert (await reports(rig, channel, at)).first_day == "2026-11-28"


async def test_server_errors_are_retried_by_temporal(rig: Rig) -> None:
    channel = await rig.channel("flaky", 1)
    rig.fake.fail("videos", 503, "backendError")
    with pytest.raises(ApplicationError) as caught:
        await stats(rig, channel, datetime(2026, 12, 1, 10, tzinfo=UTC))
    assert caught.value.type == "ProviderUnavailable" and not caught.value.non_retryable


def test_report_days() -> None:
    upload = date(2026, 11, 1)
    assert report_days(date(2026, 12, 10), 3, None, upload) == (upload, date(2026, 12, 9))
    assert report_days(date(2026, 12, 10), 3, date(2026, 12, 8), upload) == (date(2026, 12, 7), date(2026, 12, 9))
    assert report_days(date(2026, 12, 10), 3, date(2026, 12, 2), upload) == (date(2026, 12, 1), date(2026, 12, 9))
    assert report_days(date(2026, 12, 10), 1, date(2026, 12, 9), upload) == (date(2026, 12, 9), date(2026, 12, 9))
    assert report_days(date(2026, 11, 1), 3, None, upload) is None  # uploaded today: no whole day yet
