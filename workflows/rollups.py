"""RollupWorkflow: the hourly and daily aggregates, started by the `ytempire-rollups-hourly` and
`ytempire-rollups-daily` Temporal Schedules (`ensure_rollup_schedules` in workflows/client.py). Each run works for
the time its Schedule meant it for; a missed run is made up by the next one's window."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.rollups import RollupActivities, RollupInput, RollupSummary
    from core.search_attributes import SCHEDULED_START


@workflow.defn(name="RollupWorkflow")
class RollupWorkflow:
    @workflow.run
    async def run(self, granularity: str) -> RollupSummary:
        scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_START) or workflow.now()
        return await workflow.execute_activity_method(
            RollupActivities.roll_up,
            RollupInput(granularity, scheduled.isoformat()),
            start_to_close_timeout=timedelta(minutes=10),  # the spec's batch bound
            heartbeat_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=10), maximum_attempts=5),
        )
