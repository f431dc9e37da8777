"""Record VideoWorkflow histories for the replay test: `python -m tests.workflows.record_histories [name ...]`.

Each scenario runs the real workflow with the fake stages (tests/workflows/fakes.py) on a dev server of its own and
saves `tests/workflows/histories/<name>.json`. Record the scenarios a change touches *before* changing the workflow,
so the replay test proves the new code still replays what the deployed one wrote (guard the change with
`workflow.patched`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core import search_attributes
from core.domain import BudgetApproval, CarriedBudget, StageResult, TaskQueues, VideoBudget, VideoWorkflowInput
from devstack.temporal_server import SERVER_STARTUP_TIMEOUT, dynamic_config_args, temporal_cli
from tests.conftest import TEST_KEY_RING
from tests.workflows.fakes import FakeStages
from tests.workflows.test_video import make_input, workers
from workflows.payload_codec import encrypting_converter
from workflows.video import VideoWorkflow

HISTORIES = Path(__file__).parent / "histories"
COSTS = {"script_generation": 1.2, "audio_synthesis": 1.0, "media_collection": 0.8, "video_rendering": 0.5}


def fresh_queues() -> TaskQueues:
    suffix = uuid.uuid4().hex[:8]
    return TaskQueues(pipeline=f"pipeline-{suffix}", cpu=f"cpu-{suffix}", gpu=f"gpu-{suffix}")


async def start(client: Client, inp: VideoWorkflowInput) -> WorkflowHandle[VideoWorkflow, object]:
    return await client.start_workflow(
        VideoWorkflow.run, inp, id=f"video-{inp.request.video_id}", task_queue=inp.queues.pipeline
    )


async def finish(handle: WorkflowHandle[VideoWorkflow, object]) -> None:
    try:
        await handle.result(follow_runs=False)
    except Exception:  # a failed, cancelled or continued-as-new run is what some scenarios record
        pass


Scenario = Callable[[WorkflowEnvironment], Awaitable[WorkflowHandle[VideoWorkflow, object]]]


async def cancelled(env: WorkflowEnvironment) -> WorkflowHandle[VideoWorkflow, object]:
    queues = fresh_queues()
    fakes = FakeStages(slow_stage="audio_synthesis")
    async with workers(env, queues, fakes):
        handle = await start(env.client, make_input(queues))
        await asyncio.wait_for(fakes.slow_started.wait(), 20)
        await handle.cancel()
        await finish(handle)
    return handle


async def resumed_attempt(env: WorkflowEnvironment) -> WorkflowHandle[VideoWorkflow, object]:
    """Attempt 2 of a video whose first attempt failed at the render: it resumes there, with a carried budget."""
    queues = fresh_queues()
    resume = {
        name: StageResult(name, {key: f"/fake/{key}"}, 0.01, {"service": "fake", "resumed_from_attempt": 1.0})
        for name, key in (("script_generation", "script"), ("audio_synthesis", "voice"), ("media_collection", "media"))
    }
    resume["audio_synthesis"].artifacts["timeline"] = "/fake/timeline.json"
    resume["media_collection"].artifacts["title_card"] = "/fake/title.png"
    inp = dataclasses.replace(
        make_input(queues), attempt=2, resume=resume, video_attempts=3, carried=CarriedBudget(0.05, 3.0)
    )
    async with workers(env, queues, FakeStages()):
        handle = await start(env.client, inp)
        await finish(handle)
    return handle


async def render_retried(env: WorkflowEnvironment) -> WorkflowHandle[VideoWorkflow, object]:
    """The render fails once by its own error and once with its worker lost (a heartbeat timeout), then succeeds."""
    queues = fresh_queues()
    fakes = FakeStages(fail_stage="video_rendering", fail_times=1, hang_stage="video_rendering", hang_times=1)
    inp = dataclasses.replace(make_input(queues), render_heartbeat_timeout_seconds=1.0)
    async with workers(env, queues, fakes):
        handle = await start(env.client, inp)
        await finish(handle)
    return handle


async def retried_as_a_whole(env: WorkflowEnvironment) -> WorkflowHandle[VideoWorkflow, object]:
    """media_collection fails all its own attempts: the first run records the retry, waits and continues as new."""
    queues = fresh_queues()
    fakes = FakeStages(fail_stage="media_collection", fail_times=4)
    inp = dataclasses.replace(make_input(queues), video_attempts=3, retry_backoff_seconds=0.5)
    async with workers(env, queues, fakes):
        handle = await start(env.client, inp)
        first_run = env.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
        await finish(first_run)
        await finish(env.client.get_workflow_handle(handle.id))
    return first_run


def halting_input(queues: TaskQueues, **policy: float) -> VideoWorkflowInput:
    budget = VideoBudget(estimates_usd=dict(COSTS), **policy)  # type: ignore[arg-type]
    return dataclasses.replace(make_input(queues), budget=budget)


async def halted_then_approved(env: WorkflowEnvironment) -> WorkflowHandle[VideoWorkflow, object]:
    queues = fresh_queues()
    fakes = FakeStages(costs=COSTS)
    async with workers(env, queues, fakes):
        handle = await start(env.client, halting_input(queues))
        await asyncio.wait_for(fakes.halted.wait(), 20)
        await handle.execute_update(VideoWorkflow.approve_budget, BudgetApproval(4.0, "maria", "flagship video"))
        await finish(handle)
    return handle


async def halt_timed_out(env: WorkflowEnvironment) -> WorkflowHandle[VideoWorkflow, object]:
    queues = fresh_queues()
    async with workers(env, queues, FakeStages(costs=COSTS)):
        handle = await start(env.client, halting_input(queues, halt_timeout_seconds=2))
        await finish(handle)
    return handle


async def stage_stopped_at_the_cap(env: WorkflowEnvironment) -> WorkflowHandle[VideoWorkflow, object]:
    """The render's billed failures use up what the cap leaves it: it refuses, the video halts, an approval
    lets the render run again."""
    queues = fresh_queues()
    costs = {"script_generation": 1.0, "audio_synthesis": 1.0, "media_collection": 0.7, "video_rendering": 0.3}
    fakes = FakeStages(costs=costs, refuse_stage="video_rendering", refused_charge=0.25)
    budget = VideoBudget(estimates_usd=dict(costs))
    async with workers(env, queues, fakes):
        handle = await start(env.client, dataclasses.replace(make_input(queues), budget=budget))
        await asyncio.wait_for(fakes.halted.wait(), 20)
        await handle.execute_update(VideoWorkflow.approve_budget, BudgetApproval(4.0, "maria", "re-render"))
        await finish(handle)
    return handle


SCENARIOS: dict[str, Scenario] = {
    "v2_cancelled": cancelled,
    "v2_resumed_attempt": resumed_attempt,
    "v2_render_retried": render_retried,
    "v2_retried_as_a_whole": retried_as_a_whole,
    "v2_halted_approved": halted_then_approved,
    "v2_halt_timed_out": halt_timed_out,
    "v2_stage_stopped_at_the_cap": stage_stopped_at_the_cap,
    # Payloads sealed by the encrypting data converter (workflows/payload_codec.py): replay opens them.
    "v3_sealed_halted_approved": halted_then_approved,
}


async def recording_server() -> WorkflowEnvironment:
    """A dev server of its own, writing payloads as production does (sealed)."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        dev_server_startup_timeout=SERVER_STARTUP_TIMEOUT,
        dev_server_extra_args=dynamic_config_args(),
        search_attributes=search_attributes.ALL,
        data_converter=encrypting_converter(TEST_KEY_RING),
    )


async def save_history(handle: WorkflowHandle[Any, Any], path: Path) -> None:
    history = await handle.fetch_history()
    path.write_text(history.to_json())
    print(f"{path.stem}: {len(history.events)} events")


async def record(names: list[str]) -> None:
    env = await recording_server()
    try:
        for name in names:
            await save_history(await SCENARIOS[name](env), HISTORIES / f"{name}.json")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1:] or list(SCENARIOS)))
