"""The events table's upkeep as a Temporal Schedule on the dev server: a triggered run, on a pipeline worker, makes
the next week's partitions and drops the days past the retention, and a second run changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from temporalio.client import ScheduleActionExecutionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from activities.event_partitions import DAYS_AHEAD, PartitionReport
from core.events import Event
from core.settings import Settings
from ledger import Ledger
from tests.integration.conftest import running_workers
from workflows.client import EVENT_PARTITIONS_INTERVAL, ensure_event_partitions_schedule
from workflows.event_partitions import EventPartitionsWorkflow


async def triggered_run(env: WorkflowEnvironment, schedule_id: str, runs_before: int) -> PartitionReport:
    schedule = env.client.get_schedule_handle(schedule_id)
    await schedule.trigger()
    for _ in range(300):
        described = await schedule.describe()
        if len(described.info.recent_actions) > runs_before:
            break
        await asyncio.sleep(0.1)
    action = described.info.recent_actions[-1].action
    assert isinstance(action, ScheduleActionExecutionStartWorkflow)
    handle = env.client.get_workflow_handle_for(EventPartitionsWorkflow.run, action.workflow_id)
    return await handle.result()


async def test_the_schedule_makes_days_ahead_and_drops_days_past_the_retention(
    dev_env: WorkflowEnvironment, settings: Settings, own_ledger: Ledger
) -> None:
    now = datetime.now(UTC)
    today = now.date()
    old_days = (
        settings.events_retention_days + 30,
        settings.events_retention_days + 1,
        settings.events_retention_days - 1,
    )
    await own_ledger.record_events(
        [Event(uuid.uuid4(), now - timedelta(days=n), "stage_finished", "pipeline") for n in old_days]
    )
    schedule_id = f"event-partitions-{uuid.uuid4().hex[:8]}"
    await ensure_event_partitions_schedule(dev_env.client, settings, schedule_id)
    await ensure_event_partitions_schedule(dev_env.client, settings, schedule_id)  # every worker start: an update
    try:
        async with running_workers(dev_env, settings, own_ledger, ("pipeline",)):
            first = await triggered_run(dev_env, schedule_id, 0)
            second = await triggered_run(dev_env, schedule_id, 1)
        described = await dev_env.client.get_schedule_handle(schedule_id).describe()
        assert described.schedule.spec.intervals[0].every == EVENT_PARTITIONS_INTERVAL
    finally:
        await dev_env.client.get_schedule_handle(schedule_id).delete()

    assert first.kept_from == (today - timedelta(days=settings.events_retention_days)).isoformat()
    assert first.dropped == [(now - timedelta(days=n)).date().isoformat() for n in old_days[:2]]
    assert (second.created, second.dropped) == (0, [])
    days = await own_ledger.event_partition_days()
    assert days[0] == (now - timedelta(days=old_days[2])).date()
    assert {today + timedelta(days=n) for n in range(DAYS_AHEAD + 1)} <= set(days)
