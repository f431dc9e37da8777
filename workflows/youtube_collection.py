"""A channel's YouTube collection, started by its two Temporal Schedules (`ensure_youtube_collection_schedules` in
workflows/client.py): `YouTubeStatsWorkflow` hourly (videos.list counters) and `YouTubeReportsWorkflow` daily
(reports.query days). Each run works for the time its Schedule meant it for, so a backfilled run collects as of
then; failed credentials and a spent quota come back as the run's outcome, not as a failure retried for nothing."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.youtube_collection import CollectionInput, CollectionSummary, YouTubeCollectionActivities
    from core.search_attributes import SCHEDULED_START

_RETRY = RetryPolicy(initial_interval=timedelta(seconds=10), maximum_interval=timedelta(minutes=2), maximum_attempts=4)


def _input(channel_id: str) -> CollectionInput:
    scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_START) or workflow.now()
    return CollectionInput(channel_id, scheduled.isoformat())


@workflow.defn(name="YouTubeStatsWorkflow")
class YouTubeStatsWorkflow:
    @workflow.run
    async def run(self, channel_id: str) -> CollectionSummary:
        return await workflow.execute_activity_method(
            YouTubeCollectionActivities.collect_youtube_statistics,
            _input(channel_id),
            start_to_close_timeout=timedelta(minutes=10),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=_RETRY,
        )


@workflow.defn(name="YouTubeReportsWorkflow")
class YouTubeReportsWorkflow:
    @workflow.run
    async def run(self, channel_id: str) -> CollectionSummary:
        return await workflow.execute_activity_method(
            YouTubeCollectionActivities.collect_youtube_reports,
            _input(channel_id),
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=_RETRY,
        )
