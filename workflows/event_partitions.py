"""EventPartitionsWorkflow: the events table's upkeep, started by the `ytempire-event-partitions` Temporal Schedule
(`ensure_event_partitions_schedule` in workflows/client.py) every hour: a missed run only means the next one does
more, and an event whose day has no partition yet makes it on its way in."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.event_partitions import EventPartitionActivities, PartitionReport


@workflow.defn(name="EventPartitionsWorkflow")
class EventPartitionsWorkflow:
    @workflow.run
    async def run(self) -> PartitionReport:
        return await workflow.execute_activity_method(
            EventPartitionActivities.maintain_event_partitions,
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_attempts=5, initial_interval=timedelta(seconds=10)),
        )
