"""A channel's YouTube collection, started by its two Temporal Schedules (`ensure_youtube_collection_schedules` in
workflows/client.py): `YouTubeStatsWorkflow` hourly (videos.list counters) and `YouTubeReportsWorkflow` daily
(reports.query days). Each run works for the time its Schedule meant it for, so a backfilled run collects as of
then; failed credentials and a spent quota come back as the run's outcome, not as a failure retried for nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.youtube_collection import CollectionInput, CollectionSummary, YouTubeCollectionActivities
    from core.search_attributes import SCHEDULED_START

_RETRY = RetryPolicy(initial_interval=timedelta(seconds=10), maximum_interval=timedelta(minutes=2), maximum_attempts=4)


async def _collect(activity: Any, channel_id: str, timeout: timedelta) -> CollectionSummary:
    """Run the collection `activity` for the time the Schedule meant this run for (now, when started by hand)."""
    scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_START) or workflow.now()
    summary: CollectionSummary = await workflow.execute_activity_method(
        activity,
        CollectionInput(channel_id, scheduled.isoformat()),
        start_to_close_timeout=timeout,
        heartbeat_timeout=timedelta(minutes=2),
        retry_policy=_RETRY,
    )
    return summary


@workflow.defn(name="YouTubeStatsWorkflow")
class YouTubeStatsWorkflow:
    @workflow.run
    async def run(self, channel_id: str) -> CollectionSummary:
        return await _collect(YouTubeCollectionActivities.collect_youtube_statistics, channel_id, timedelta(minutes=10))


@workflow.defn(name="YouTubeReportsWorkflow")
class YouTubeReportsWorkflow:
    @workflow.run
    async def run(self, channel_id: str) -> CollectionSummary:
        return await _collect(YouTubeCollectionActivities.collect_youtube_reports, channel_id, timedelta(minutes=30))
