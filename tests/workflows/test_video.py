"""VideoWorkflow on the time-skipping test server, with fake activities under the real names."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.domain import TaskQueues, VideoRequest, VideoResult, VideoWorkflowInput
from core.stage_table import INFRASTRUCTURE_ATTEMPTS, STAGES, STAGES_BY_NAME, StageSpec
from tests.workflows.fakes import FakeStages
from workflows.alert_delivery import AlertDeliveryWorkflow
from workflows.video import VideoWorkflow


def make_input(queues: TaskQueues, complexity: str = "simple") -> VideoWorkflowInput:
    video_id = str(uuid.uuid4())
    return VideoWorkflowInput(
        request=VideoRequest(
            video_id=video_id,
            topic="octopus hearts",
            channel_id=str(uuid.uuid4()),
            user_id=str(uuid.uuid4()),
            priority=7,
            complexity=complexity,  # type: ignore[arg-type]
        ),
        queues=queues,
        artifact_dir=f"/fake/videos/{video_id}",
        outbox_dir="/fake/outbox",
    )


def quick_to_notice(inp: VideoWorkflowInput) -> VideoWorkflowInput:
    """Heartbeat timeouts of a second: the test server skips no time while an activity runs, so a lost attempt
    costs its heartbeat timeout in real time."""
    return dataclasses.replace(inp, stage_heartbeat_timeout_seconds=1.0, render_heartbeat_timeout_seconds=1.0)


@asynccontextmanager
async def workers(env: WorkflowEnvironment, queues: TaskQueues, fakes: FakeStages) -> AsyncIterator[None]:
    async with (
        Worker(
            env.client,
            task_queue=queues.pipeline,
            workflows=[VideoWorkflow, AlertDeliveryWorkflow],
            activities=fakes.pipeline_activities(),
        ),
        Worker(env.client, task_queue=queues.cpu, activities=[fakes.render_video]),
        Worker(env.client, task_queue=queues.gpu, activities=[fakes.render_video]),
    ):
        yield


@pytest.mark.parametrize(("complexity", "queue_role"), [("simple", "cpu"), ("complex", "gpu"), ("premium", "gpu")])
async def test_render_is_routed_by_complexity(
    time_env: WorkflowEnvironment, queues: TaskQueues, complexity: str, queue_role: str
) -> None:
    fakes = FakeStages()
    async with workers(time_env, queues, fakes):
        result = await time_env.client.execute_workflow(
            VideoWorkflow.run,
            make_input(queues, complexity),
            id=f"video-{uuid.uuid4()}",
            task_queue=queues.pipeline,
            result_type=VideoResult,
        )
    assert fakes.render_queues == [getattr(queues, queue_role)]
    assert result.status == "completed" and result.mp4_path == "/fake/out/video.mp4"
    assert result.cost_usd == pytest.approx(0.06)
    assert [f.status for f in fakes.finalized] == ["completed"]
    assert all(fakes.calls[spec.name] == 1 for spec in STAGES)


@pytest.mark.parametrize("spec", STAGES, ids=[s.name for s in STAGES])
async def test_failing_stage_is_retried_exactly_as_the_table_says(
    time_env: WorkflowEnvironment, queues: TaskQueues, spec: object
) -> None:
    from core.stage_table import StageSpec

    assert isinstance(spec, StageSpec)
    fakes = FakeStages(fail_stage=spec.name, fail_times=99)
    async with workers(time_env, queues, fakes):
        with pytest.raises(WorkflowFailureError) as failure:
            await time_env.client.execute_workflow(
                VideoWorkflow.run,
                make_input(queues),
                id=f"video-{uuid.uuid4()}",
                task_queue=queues.pipeline,
            )
    assert fakes.calls[spec.name] == spec.max_attempts
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "FakeFlake"
    assert spec.name in cause.message
    assert [(f.status, f.error_type) for f in fakes.finalized] == [("failed", "FakeFlake")]
    later = [s.name for s in STAGES][[s.name for s in STAGES].index(spec.name) + 1 :]
    assert all(fakes.calls[name] == 0 for name in later)


@pytest.mark.parametrize("spec", STAGES, ids=[s.name for s in STAGES])
async def test_a_lost_worker_does_not_spend_the_stages_own_attempts(
    time_env: WorkflowEnvironment, queues: TaskQueues, spec: object
) -> None:
    """Each attempt lost with its worker (no heartbeat, no answer) is retried from the infrastructure budget: a
    stage that also fails by its own error as often as the spec allows, less one, still completes."""
    assert isinstance(spec, StageSpec)
    fakes = FakeStages(
        hang_stage=spec.name,
        hang_times=INFRASTRUCTURE_ATTEMPTS,
        fail_stage=spec.name,
        fail_times=spec.max_attempts - 1,
    )
    async with workers(time_env, queues, fakes):
        result = await time_env.client.execute_workflow(
            VideoWorkflow.run,
            quick_to_notice(make_input(queues)),
            id=f"video-{uuid.uuid4()}",
            task_queue=queues.pipeline,
        )
    assert result.status == "completed"
    assert fakes.hangs[spec.name] == INFRASTRUCTURE_ATTEMPTS and fakes.calls[spec.name] == spec.max_attempts


async def test_a_stage_that_always_loses_its_worker_ends_as_a_stage_timeout(
    time_env: WorkflowEnvironment, queues: TaskQueues
) -> None:
    """An input that kills its worker every time fails, typed, after the bounded budget: it does not loop."""
    spec = STAGES_BY_NAME["media_collection"]
    fakes = FakeStages(hang_stage=spec.name, hang_times=1000)
    async with workers(time_env, queues, fakes):
        with pytest.raises(WorkflowFailureError) as failure:
            await time_env.client.execute_workflow(
                VideoWorkflow.run,
                quick_to_notice(make_input(queues)),
                id=f"video-{uuid.uuid4()}",
                task_queue=queues.pipeline,
            )
    assert fakes.hangs[spec.name] == spec.max_attempts + INFRASTRUCTURE_ATTEMPTS
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "StageTimeout"
    assert "HEARTBEAT" in cause.message and spec.name in cause.message
    assert [(f.status, f.error_type) for f in fakes.finalized] == [("failed", "StageTimeout")]


async def test_a_flaky_stage_recovers_within_its_attempts(time_env: WorkflowEnvironment, queues: TaskQueues) -> None:
    fakes = FakeStages(fail_stage="media_collection", fail_times=3)  # 4 attempts allowed
    async with workers(time_env, queues, fakes):
        result = await time_env.client.execute_workflow(
            VideoWorkflow.run,
            make_input(queues),
            id=f"video-{uuid.uuid4()}",
            task_queue=queues.pipeline,
            result_type=VideoResult,
        )
    assert result.status == "completed"
    assert fakes.calls["media_collection"] == 4


async def test_non_retryable_error_fails_the_video_at_once(time_env: WorkflowEnvironment, queues: TaskQueues) -> None:
    fakes = FakeStages(fail_stage="script_generation", fail_times=99, non_retryable=True)
    async with workers(time_env, queues, fakes):
        handle = await time_env.client.start_workflow(
            VideoWorkflow.run,
            make_input(queues),
            id=f"video-{uuid.uuid4()}",
            task_queue=queues.pipeline,
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        progress = await handle.query(VideoWorkflow.progress)
    assert fakes.calls["script_generation"] == 1
    assert isinstance(failure.value.cause, ApplicationError) and failure.value.cause.type == "InvalidRequest"
    assert progress.status == "failed" and progress.stage == "script_generation"
    assert fakes.finalized[0].status == "failed"


async def test_cancel_during_a_stage_that_completes_anyway(time_env: WorkflowEnvironment, queues: TaskQueues) -> None:
    fakes = FakeStages(slow_stage="audio_synthesis")
    async with workers(time_env, queues, fakes):
        handle = await time_env.client.start_workflow(
            VideoWorkflow.run,
            make_input(queues),
            id=f"video-{uuid.uuid4()}",
            task_queue=queues.pipeline,
        )
        await asyncio.wait_for(fakes.slow_started.wait(), timeout=10)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    assert isinstance(failure.value.cause, CancelledError)
    assert fakes.calls["audio_synthesis"] == 1
    assert fakes.calls["collect_media"] == 0 and fakes.render_queues == [], "nothing runs after a cancel"
    assert [f.status for f in fakes.finalized] == ["cancelled"]
    assert fakes.finalized[0].remove_dirs, "a cancelled video's partial artifacts are removed"


async def test_progress_query_after_completion(time_env: WorkflowEnvironment, queues: TaskQueues) -> None:
    fakes = FakeStages()
    async with workers(time_env, queues, fakes):
        handle = await time_env.client.start_workflow(
            VideoWorkflow.run,
            make_input(queues),
            id=f"video-{uuid.uuid4()}",
            task_queue=queues.pipeline,
        )
        await handle.result()
        progress = await handle.query(VideoWorkflow.progress)
    assert progress.percent == 100.0
    assert progress.completed_stages == [s.name for s in STAGES]


async def test_callback_url_hears_of_completion_and_failure(time_env: WorkflowEnvironment, queues: TaskQueues) -> None:
    for fail in (False, True):
        fakes = FakeStages(fail_stage="quality_validation" if fail else None, fail_times=99, non_retryable=True)
        inp = make_input(queues)
        inp = dataclasses.replace(
            inp, request=dataclasses.replace(inp.request, callback_url="http://127.0.0.1:9/resume")
        )
        async with workers(time_env, queues, fakes):
            handle = await time_env.client.start_workflow(
                VideoWorkflow.run, inp, id=f"video-{uuid.uuid4()}", task_queue=queues.pipeline
            )
            with contextlib.suppress(WorkflowFailureError):
                await handle.result()
            for _ in range(100):  # the callback goes out from an abandoned child, after the video ends
                if fakes.webhooks:
                    break
                await asyncio.sleep(0.05)
        [callback] = fakes.webhooks
        assert callback.url == "http://127.0.0.1:9/resume"
        if fail:
            assert callback.kind == "video_failed" and callback.payload["error_type"] == "InvalidRequest"
        else:
            assert callback.kind == "video_completed" and callback.payload["mp4_path"] == "/fake/out/video.mp4"
        assert callback.payload["video_id"] == inp.request.video_id


def retrying(inp: VideoWorkflowInput, attempts: int = 3) -> VideoWorkflowInput:
    """What workflow_input gives a video today: three whole-video attempts, 30 s apart, doubling."""
    return dataclasses.replace(inp, video_attempts=attempts, retry_backoff_seconds=30.0)


async def test_a_video_whose_stage_stays_down_is_retried_as_a_whole(
    time_env: WorkflowEnvironment, queues: TaskQueues
) -> None:
    """media_collection fails all its own attempts (a provider down for minutes): the video is not failed but
    retried as a whole after 30 s, resuming there; stages that succeeded are not run nor paid again."""
    spec = STAGES_BY_NAME["media_collection"]
    fakes = FakeStages(fail_stage=spec.name, fail_times=spec.max_attempts)
    async with workers(time_env, queues, fakes):
        handle = await time_env.client.start_workflow(
            VideoWorkflow.run, retrying(make_input(queues)), id=f"video-{uuid.uuid4()}", task_queue=queues.pipeline
        )
        result = await handle.result()
        costs = await handle.query(VideoWorkflow.costs)
    assert result.status == "completed"
    assert [(r.attempt, r.stage, r.error_type, r.delay_seconds) for r in fakes.retries] == [
        (2, spec.name, "FakeFlake", 30.0)
    ]
    assert fakes.calls["script_generation"] == fakes.calls["audio_synthesis"] == 1
    assert fakes.calls_by_attempt[spec.name, 1] == spec.max_attempts and fakes.calls_by_attempt[spec.name, 2] == 1
    assert result.cost_usd == costs.total_usd == pytest.approx(0.01 * len(STAGES))  # each stage paid once
    assert [f.status for f in fakes.finalized] == ["completed"]


async def test_retries_as_a_whole_are_bounded_and_back_off(time_env: WorkflowEnvironment, queues: TaskQueues) -> None:
    fakes = FakeStages(fail_stage="audio_synthesis", fail_times=1000)
    async with workers(time_env, queues, fakes):
        with pytest.raises(WorkflowFailureError) as failure:
            await time_env.client.execute_workflow(
                VideoWorkflow.run, retrying(make_input(queues)), id=f"video-{uuid.uuid4()}", task_queue=queues.pipeline
            )
    assert [(r.attempt, r.delay_seconds) for r in fakes.retries] == [(2, 30.0), (3, 60.0)]
    assert [fakes.calls_by_attempt["audio_synthesis", n] for n in (1, 2, 3)] == [3, 3, 3]
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "FakeFlake"
    assert [(f.status, f.error_type) for f in fakes.finalized] == [("failed", "FakeFlake")]


async def test_a_failure_no_retry_can_fix_fails_at_once(time_env: WorkflowEnvironment, queues: TaskQueues) -> None:
    fakes = FakeStages(fail_stage="script_generation", fail_times=1000, non_retryable=True)  # InvalidRequest
    async with workers(time_env, queues, fakes):
        with pytest.raises(WorkflowFailureError):
            await time_env.client.execute_workflow(
                VideoWorkflow.run, retrying(make_input(queues)), id=f"video-{uuid.uuid4()}", task_queue=queues.pipeline
            )
    assert fakes.retries == [] and fakes.calls["script_generation"] == 1
    assert [(f.status, f.error_type) for f in fakes.finalized] == [("failed", "InvalidRequest")]
