"""Record the histories of the workflows Schedules start, for the replay test:
`python -m tests.workflows.record_schedule_histories`.

Each workflow is started by a Schedule of its own (so its run carries the time the Schedule meant it for, as in
production) on a dev server, with activities of the same names answering fixed reports, and its history is saved to
`tests/workflows/histories/schedules/<workflow>.json`. Record again before changing one of these workflows, and guard
the change with `workflow.patched`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.worker import Worker

from activities.event_partitions import PartitionReport
from activities.rollups import RollupInput, RollupSummary
from activities.youtube_collection import CollectionInput, CollectionSummary
from core import activity_names
from tests.workflows.record_histories import recording_server, save_history
from workflows.event_partitions import EventPartitionsWorkflow
from workflows.rollups import RollupWorkflow
from workflows.youtube_collection import YouTubeReportsWorkflow, YouTubeStatsWorkflow

HISTORIES = Path(__file__).parent / "histories" / "schedules"
SCHEDULE_WORKFLOWS = [EventPartitionsWorkflow, YouTubeStatsWorkflow, YouTubeReportsWorkflow, RollupWorkflow]
CHANNEL = "3f2b6c1e-9a41-4d7e-8c55-0a6f1d2e7b90"


def _summary(api: str, inp: CollectionInput) -> CollectionSummary:
    return CollectionSummary(inp.channel_id, api, "ok", 2, 2, 1, None, None, None, "")


@activity.defn(name=activity_names.MAINTAIN_EVENT_PARTITIONS)
async def maintain_event_partitions() -> PartitionReport:
    return PartitionReport(8, [], "2026-09-08")


@activity.defn(name=activity_names.COLLECT_YOUTUBE_STATISTICS)
async def collect_youtube_statistics(inp: CollectionInput) -> CollectionSummary:
    return _summary("data", inp)


@activity.defn(name=activity_names.COLLECT_YOUTUBE_REPORTS)
async def collect_youtube_reports(inp: CollectionInput) -> CollectionSummary:
    return _summary("analytics", inp)


@activity.defn(name=activity_names.ROLL_UP)
async def roll_up(inp: RollupInput) -> RollupSummary:
    return RollupSummary(inp.granularity, inp.scheduled_for, inp.scheduled_for, 4, 0.01, [])


async def run_by_schedule(client: Client, run: Any, args: list[Any], task_queue: str) -> str:
    """Start `run` once through a paused Schedule's trigger; the id of the workflow it started."""
    schedule_id = f"record-{uuid.uuid4().hex[:8]}"
    handle = await client.create_schedule(
        schedule_id,
        Schedule(
            action=ScheduleActionStartWorkflow(run, args=args, id=schedule_id, task_queue=task_queue),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(days=1))]),
            state=ScheduleState(paused=True),
        ),
    )
    try:
        await handle.trigger()
        for _ in range(300):
            actions = (await handle.describe()).info.recent_actions
            if actions:
                action = actions[-1].action
                assert isinstance(action, ScheduleActionExecutionStartWorkflow)
                return action.workflow_id
            await asyncio.sleep(0.1)
        raise TimeoutError(f"{schedule_id} started nothing")
    finally:
        await handle.delete()


async def record() -> None:
    env = await recording_server()
    HISTORIES.mkdir(parents=True, exist_ok=True)
    queue = f"schedules-{uuid.uuid4().hex[:8]}"
    activities: list[Callable[..., Any]] = [
        maintain_event_partitions,
        collect_youtube_statistics,
        collect_youtube_reports,
        roll_up,
    ]
    runs: list[tuple[str, Any, list[Any]]] = [
        ("EventPartitionsWorkflow", EventPartitionsWorkflow.run, []),
        ("YouTubeStatsWorkflow", YouTubeStatsWorkflow.run, [CHANNEL]),
        ("YouTubeReportsWorkflow", YouTubeReportsWorkflow.run, [CHANNEL]),
        ("RollupWorkflow", RollupWorkflow.run, ["day"]),
    ]
    try:
        async with Worker(env.client, task_queue=queue, workflows=SCHEDULE_WORKFLOWS, activities=activities):
            for name, run, args in runs:
                workflow_id = await run_by_schedule(env.client, run, args, queue)
                handle = env.client.get_workflow_handle(workflow_id)
                await handle.result()
                await save_history(handle, HISTORIES / f"{name}.json")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record())
