"""Waiting renders start by priority, then age, and one channel cannot starve another: proof on the real dev server.

The dev server silently ignores misspelled dynamic-config keys, so these tests are what shows that each key of
`devstack.temporal_server.DYNAMIC_CONFIG` takes effect: a misspelled `matching.priorityLevels`,
`matching.enableFairness` or partition count each makes one of them fail.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import PollerBehaviorSimpleMaximum, Worker

from core.domain import VideoRequest, VideoResult
from core.settings import Settings
from tests.integration.queue_fakes import RecordingRender
from tests.workflows.fakes import FakeStages
from workflows.client import TOP_PRIORITY, start_video
from workflows.video import VideoWorkflow

# 24 videos, every priority at least twice, 5/7/10 more often: ties whose age order must hold.
PRIORITIES = list(range(1, 11)) * 2 + [5, 5, 7, 10]
random.Random(2024).shuffle(PRIORITIES)


def video(channel_id: str, priority: int) -> VideoRequest:
    return VideoRequest(
        video_id=str(uuid.uuid4()),
        topic="queue order",
        channel_id=channel_id,
        user_id="queue-test",
        priority=priority,
        complexity="simple",  # → the cpu render queue
    )


@asynccontextmanager
async def pipeline_worker(env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[FakeStages]:
    """The workflow and instant fake non-render stages; no render worker, so renders wait in the cpu queue."""
    fakes = FakeStages()
    async with Worker(
        env.client,
        task_queue=settings.task_queue_pipeline,
        workflows=[VideoWorkflow],
        activities=fakes.pipeline_activities(),
        max_concurrent_activities=settings.pipeline_max_concurrent,
    ):
        yield fakes


async def render_scheduled(handle: WorkflowHandle[Any, VideoResult]) -> None:
    while True:
        description = await handle.describe()
        if any(a.activity_type.name == "render_video" for a in description.raw_description.pending_activities):
            return
        await asyncio.sleep(0.01)


async def enqueue_one_by_one(
    env: WorkflowEnvironment, settings: Settings, requests: Sequence[VideoRequest]
) -> list[WorkflowHandle[Any, VideoResult]]:
    """Start each video only after the previous one's render is scheduled, so enqueue order is the list order.

    The next video then needs a workflow task and three activities before its own render is scheduled (~0.1 s),
    far longer than the server takes to hand the previous render task to matching.
    """
    handles = []
    for request in requests:
        handle = await start_video(env.client, settings, request)
        await asyncio.wait_for(render_scheduled(handle), timeout=10)
        handles.append(handle)
    return handles


async def backlog_priority_keys(env: WorkflowEnvironment, task_queue: str) -> set[int]:
    """The priority keys of the backlog subqueues that hold tasks, as the server reports them."""
    response = await env.client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=env.client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
            report_stats=True,
        )
    )
    return {key for key, stats in response.stats_by_priority_key.items() if stats.approximate_backlog_count > 0}


async def render_all(
    env: WorkflowEnvironment, settings: Settings, handles: Sequence[WorkflowHandle[Any, VideoResult]]
) -> RecordingRender:
    """Start the cpu render worker with the real slot limit and wait until every video has completed.

    One poller instead of the default five: the server then hands out one task per poll, one poll at a time, so
    the order the fake records is the server's dispatch order even when a loaded machine stalls this process and
    several slots free up at once (with five pollers such renders would race each other to the recorder).
    """
    render = RecordingRender()
    async with Worker(
        env.client,
        task_queue=settings.task_queue_cpu,
        activities=[render.render_video],
        max_concurrent_activities=settings.cpu_max_concurrent,
        activity_task_poller_behavior=PollerBehaviorSimpleMaximum(maximum=1),
    ):
        results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), timeout=30)
    assert [r.status for r in results] == ["completed"] * len(handles)
    assert render.attempts == [1] * len(handles), "a retried render would start out of order"
    assert render.peak == settings.cpu_max_concurrent, "the render slots should have been full"
    return render


async def test_waiting_renders_start_by_priority_then_age(dev_env: WorkflowEnvironment, settings: Settings) -> None:
    channel = str(uuid.uuid4())
    requests = [video(channel, priority) for priority in PRIORITIES]
    enqueued = {request.video_id: index for index, request in enumerate(requests)}
    async with pipeline_worker(dev_env, settings) as fakes:
        handles = await enqueue_one_by_one(dev_env, settings, requests)
        backlog_keys = await backlog_priority_keys(dev_env, settings.task_queue_cpu)
        render = await render_all(dev_env, settings, handles)

    # Waiting tasks are stored in one subqueue per level, keys above `matching.priorityLevels` (default 5) folded
    # into the last one. The dispatch order below cannot show that (the server orders the tasks it has in memory
    # by their real key), but a backlog larger than one read batch would mix the folded levels: all ten must exist.
    # (The counts are approximate, one task short has been seen; every priority is enqueued at least twice.)
    assert backlog_keys == {TOP_PRIORITY + 1 - p for p in PRIORITIES}, "is matching.priorityLevels=10 set?"
    # FIFO (priorities ignored) would start (PRIORITIES[0], 0), (PRIORITIES[1], 1), …; reversed priorities would
    # start the 1s first; several partitions start a mix: each differs from this order in its first places.
    started = [(request.priority, enqueued[request.video_id]) for request in render.started]
    expected = sorted(((p, i) for i, p in enumerate(PRIORITIES)), key=lambda pi: (-pi[0], pi[1]))
    assert started == expected
    assert len(fakes.finalized) == len(requests)


async def test_one_channel_cannot_starve_another(dev_env: WorkflowEnvironment, settings: Settings) -> None:
    flooder, other = str(uuid.uuid4()), str(uuid.uuid4())
    requests = [video(flooder, 5) for _ in range(30)] + [video(other, 5) for _ in range(5)]
    async with pipeline_worker(dev_env, settings) as fakes:
        handles = await enqueue_one_by_one(dev_env, settings, requests)
        render = await render_all(dev_env, settings, handles)

    positions = [n for n, request in enumerate(render.started) if request.channel_id == other]
    # Strict FIFO would start the other channel's renders last (positions 30-34); round-robin over fairness keys
    # interleaves them with the flooder's from the start (seen: every second render, positions 1, 3, 5, 7, 9).
    assert len(positions) == 5
    assert max(positions) < 12, f"the other channel's renders started at {positions} of 35"
    assert sorted(f.video_id for f in fakes.finalized) == sorted(r.video_id for r in requests)
    assert {f.status for f in fakes.finalized} == {"completed"}
