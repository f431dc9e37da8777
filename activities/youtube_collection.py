"""A channel's scheduled YouTube collection: every uploaded video's lifetime counters (hourly, `videos.list`) and its
days (daily, `reports.query`, the recent days again until they settle and any days a missed run left). Credentials
that fail and a spent quota end the run as reported outcomes (a collection run row, an event, a metric): retrying
within minutes cannot help, and the next run picks up what this one could not read. Safe to rerun: readings and days
are upserts keyed by video and time."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from uuid import UUID

from temporalio import activity
from temporalio.exceptions import ApplicationError

from core import activity_names
from core.errors import ErrorType
from core.events import PIPELINE_SOURCE, Event, pipeline_event_id
from core.settings import Settings
from core.youtube_metrics import CollectionApi, CollectionOutcome, CollectionRun, quota_day, report_days
from ledger import Ledger
from providers.youtube_metrics import YouTubeMetricsClient
from telemetry.worker_metrics import WorkerMetrics

_REPORTED: dict[str, CollectionOutcome] = {
    ErrorType.PROVIDER_AUTH_FAILED: "auth_failed",
    ErrorType.YOUTUBE_QUOTA_EXHAUSTED: "quota_exhausted",
}


@dataclass(frozen=True)
class CollectionInput:
    channel_id: str
    scheduled_for: str  # ISO time the Schedule meant the run for (a backfilled run's is in the past)


@dataclass(frozen=True)
class CollectionSummary:
    channel_id: str
    api: str
    outcome: str
    videos: int
    rows_written: int
    quota_units: int
    first_day: str | None
    last_day: str | None
    revenue: bool | None
    detail: str


class YouTubeCollectionActivities:
    def __init__(self, settings: Settings, ledger: Ledger, metrics: WorkerMetrics) -> None:
        self._settings = settings
        self._ledger = ledger
        self._metrics = metrics

    @activity.defn(name=activity_names.COLLECT_YOUTUBE_STATISTICS)
    async def collect_youtube_statistics(self, inp: CollectionInput) -> CollectionSummary:
        scheduled_for = datetime.fromisoformat(inp.scheduled_for)
        videos = await self._ledger.uploaded_videos(inp.channel_id)
        if not videos:
            return await self._finish(CollectionRun(inp.channel_id, "data", scheduled_for, "no_videos"))
        client: YouTubeMetricsClient | None = None
        try:
            client = YouTubeMetricsClient(self._settings, self._ledger, inp.channel_id)
            counters = await client.video_counters([v.youtube_video_id for v in videos])
            activity.heartbeat()
            readings = [(v, counters[v.youtube_video_id]) for v in videos if v.youtube_video_id in counters]
            rows = await self._ledger.record_video_readings(scheduled_for, readings)
        except ApplicationError as err:
            return await self._reported(inp, "data", scheduled_for, err, len(videos), client)
        missing = len(videos) - len(readings)
        detail = f"{missing} uploaded videos are gone from YouTube" if missing else ""
        run = CollectionRun(
            inp.channel_id, "data", scheduled_for, "ok", len(videos), rows, client.spent.units, detail=detail
        )
        return await self._finish(run)

    @activity.defn(name=activity_names.COLLECT_YOUTUBE_REPORTS)
    async def collect_youtube_reports(self, inp: CollectionInput) -> CollectionSummary:
        scheduled_for = datetime.fromisoformat(inp.scheduled_for)
        videos = await self._ledger.uploaded_videos(inp.channel_id)
        first_upload = min((v.uploaded_at for v in videos), default=None)
        days = None
        if first_upload is not None:
            days = report_days(
                quota_day(scheduled_for),  # YouTube Analytics days are Pacific days too
                self._settings.youtube_reports_settle_days,
                await self._ledger.last_collected_day(inp.channel_id),
                quota_day(first_upload),
            )
        if days is None:
            return await self._finish(CollectionRun(inp.channel_id, "analytics", scheduled_for, "no_videos"))
        first, last = days
        client: YouTubeMetricsClient | None = None
        rows = 0
        revenue = True
        try:
            client = YouTubeMetricsClient(self._settings, self._ledger, inp.channel_id)
            for video in videos:
                video_first = max(first, quota_day(video.uploaded_at))
                if video_first > last:
                    continue
                video_days, revenue = await client.video_days(
                    video.youtube_video_id, video_first, last, with_revenue=revenue
                )
                rows += await self._ledger.record_video_days(video, video_days)
                activity.heartbeat(rows)
        except ApplicationError as err:
            return await self._reported(inp, "analytics", scheduled_for, err, len(videos), client, rows)
        run = CollectionRun(
            inp.channel_id,
            "analytics",
            scheduled_for,
            "ok",
            len(videos),
            rows,
            client.spent.units,
            first,
            last,
            revenue,
            "" if revenue else "the channel's credentials may not read revenue (yt-analytics-monetary.readonly)",
        )
        return await self._finish(run)

    async def _reported(
        self,
        inp: CollectionInput,
        api: CollectionApi,
        scheduled_for: datetime,
        err: ApplicationError,
        videos: int,
        client: YouTubeMetricsClient | None,
        rows: int = 0,
    ) -> CollectionSummary:
        """A failure the next run cannot avoid by retrying now: recorded, logged and counted; others raise."""
        outcome = _REPORTED.get(err.type or "")
        if outcome is None:
            raise err
        spent = client.spent.units if client else 0
        run = CollectionRun(inp.channel_id, api, scheduled_for, outcome, videos, rows, spent, detail=err.message)
        activity.logger.warning("YouTube %s collection of channel %s: %s", api, inp.channel_id, err.message)
        await self._ledger.record_events(
            [
                Event(
                    event_id=pipeline_event_id(inp.channel_id, api, inp.scheduled_for, "collection_failed"),
                    occurred_at=datetime.now(UTC),
                    kind="youtube_collection_failed",
                    source=PIPELINE_SOURCE,
                    level="error" if outcome == "auth_failed" else "warning",
                    channel_id=UUID(inp.channel_id),
                    service="youtube",
                    details={"api": api, "outcome": outcome, "message": err.message[:500]},
                )
            ]
        )
        return await self._finish(run)

    async def _finish(self, run: CollectionRun) -> CollectionSummary:
        await self._ledger.record_collection_run(run)
        self._metrics.youtube_collection_runs.labels(run.api, run.outcome).inc()
        self._metrics.youtube_collection_rows.labels(run.api).inc(run.rows_written)
        fields = asdict(run)
        fields.pop("scheduled_for")
        return CollectionSummary(
            **{
                **fields,
                "first_day": run.first_day.isoformat() if run.first_day else None,
                "last_day": run.last_day.isoformat() if run.last_day else None,
            }
        )
