"""The ledger and Temporal disagree (a crash between admission's two writes, a start whose reply was lost, a retry
recorded but never started, a workflow terminated from the CLI, a workflow with no row): the reconciler repairs
each, once, with a metric and an event; admission never deletes a row on a failed start."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import timedelta

import pytest
from temporalio.client import Client, ScheduleActionExecutionStartWorkflow, WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.reconciliation import ReconcileActivities, ReconcileReport
from api.admission import Admitter
from api.metrics import ApiMetrics
from api.schemas import EnqueueRequest
from core.domain import VideoRequest, workflow_id
from core.errors import ErrorType
from core.principals import Principal, PrincipalKind, Role
from core.records import VideoRow
from core.settings import Settings
from ledger import Ledger
from telemetry.worker_metrics import WorkerMetrics
from workflows.client import ensure_reconcile_schedule, start_recorded_attempt, start_video
from workflows.reconciliation import ReconcileWorkflow

OPERATOR = Principal(PrincipalKind.API_KEY, "test", "reconciliation-test", Role.OPERATOR)


def new_request(topic: str = "octopus hearts") -> VideoRequest:
    return VideoRequest(
        video_id=str(uuid.uuid4()), topic=topic, channel_id=str(uuid.uuid4()), user_id=str(uuid.uuid4())
    )


async def recorded(ledger: Ledger, request: VideoRequest) -> VideoRequest:
    """Admission's first write only, as if the API died before starting the workflow."""
    await ledger.admit(request, asdict(request), capacity=100, idempotency_key=None)
    return request


async def age(ledger: Ledger, video_id: str, seconds: float = 3600) -> None:
    """Move the row's last status change into the past (past the reconciler's grace period)."""
    await ledger.pool.execute(
        "UPDATE video_queue SET status_changed_at = NOW() - make_interval(secs => $2) WHERE id = $1", video_id, seconds
    )


class Reconciler:
    """The reconcile activity on the test's own database and queue, and what it counted."""

    def __init__(self, ledger: Ledger, client: Client, settings: Settings) -> None:
        self.metrics = WorkerMetrics()
        self.started: list[str] = []

        async def start(row: VideoRow) -> bool:
            self.started.append(row.video_id)
            return (await start_recorded_attempt(client, settings, ledger, row)).started

        self.activities = ReconcileActivities(
            ledger, client, start, self.metrics, task_queue=settings.task_queue_pipeline, grace_seconds=60
        )

    async def round(self) -> ReconcileReport:
        return await ActivityEnvironment().run(self.activities.reconcile_videos)

    def repaired(self, kind: str) -> float:
        return self.metrics.reconciler_repairs.labels(kind)._value.get()


@pytest.fixture
async def reconciler(own_ledger: Ledger, dev_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Reconciler]:
    yield Reconciler(own_ledger, dev_env.client, settings)


async def run_status(client: Client, video_id: str) -> WorkflowExecutionStatus | None:
    return (await client.get_workflow_handle(workflow_id(video_id)).describe()).status


async def terminate_all(client: Client, settings: Settings) -> None:
    query = f"ExecutionStatus = 'Running' AND TaskQueue = '{settings.task_queue_pipeline}'"
    async for execution in client.list_workflows(query):
        with contextlib.suppress(RPCError):  # visibility lags: it may have closed already
            await client.get_workflow_handle(execution.id, run_id=execution.run_id).terminate("test over")


async def listed_running(client: Client, wf_id: str) -> None:
    """Wait until visibility (which the reconciler's list reads, and which lags a moment) shows the run."""
    for _ in range(100):
        if [e async for e in client.list_workflows(f"WorkflowId = '{wf_id}' AND ExecutionStatus = 'Running'")]:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{wf_id} never listed as running")


async def test_a_recorded_video_without_a_workflow_is_started_once(
    reconciler: Reconciler, own_ledger: Ledger, dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    fresh = await recorded(own_ledger, new_request("admitted a moment ago"))
    stranded = await recorded(own_ledger, new_request("admitted, then the API died"))
    await age(own_ledger, stranded.video_id)
    try:
        report = await reconciler.round()
        assert report.repairs == {"started": 1} and reconciler.started == [stranded.video_id]
        assert await run_status(dev_env.client, stranded.video_id) == WorkflowExecutionStatus.RUNNING
        # Within its grace period a row is left alone: its start may be on its way.
        with pytest.raises(Exception, match="not found"):
            await run_status(dev_env.client, fresh.video_id)
        # The next round finds the two agreeing: nothing is started twice.
        assert (await reconciler.round()).repairs == {}
        assert reconciler.repaired("started") == 1
        events = await own_ledger.video_events(stranded.video_id)
        assert [e["details"]["repair"] for e in events if e["kind"] == "reconciled"] == ["started"]
    finally:
        await terminate_all(dev_env.client, settings)


async def test_a_workflow_terminated_from_outside_finalizes_its_row(
    reconciler: Reconciler, own_ledger: Ledger, dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    request = await recorded(own_ledger, new_request())
    handle = await start_video(dev_env.client, settings, request)
    await handle.terminate(reason="stuck, said the operator")  # `temporal workflow terminate`, the UI's button
    await age(own_ledger, request.video_id)
    report = await reconciler.round()
    assert report.repairs == {"finalized": 1}
    row = await own_ledger.get_video(request.video_id)
    assert row is not None and row.status == "failed"
    final = row.error_log[-1]
    assert final["type"] == ErrorType.WORKFLOW_TERMINATED and "stuck, said the operator" in final["message"]
    assert (await reconciler.round()).repairs == {}  # final now: not looked at again
    assert reconciler.repaired("finalized") == 1


async def test_a_recorded_retry_that_never_started_is_started(
    reconciler: Reconciler, own_ledger: Ledger, dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    request = await recorded(own_ledger, new_request())
    first = await start_video(dev_env.client, settings, request)
    await first.terminate(reason="attempt 1 ends")
    await own_ledger.finalize(request.video_id, "failed", "StageTimeout", "timed out (HEARTBEAT)")
    assert await own_ledger.begin_retry(request.video_id, 3, capacity=100) == 2  # ... and the API died here
    await age(own_ledger, request.video_id)
    try:
        report = await reconciler.round()
        assert report.repairs == {"started": 1}
        described = await dev_env.client.get_workflow_handle(workflow_id(request.video_id)).describe()
        assert described.status == WorkflowExecutionStatus.RUNNING and described.run_id != first.result_run_id
        assert await described.memo_value("video_attempt") == 2
        assert (await reconciler.round()).repairs == {}
    finally:
        await terminate_all(dev_env.client, settings)


async def test_a_video_workflow_without_a_row_is_terminated(
    reconciler: Reconciler, dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    """It would bill every provider and book nothing (the cost rows need the video's row)."""
    orphan = new_request("a row deleted by an old API's failed start")
    handle = await start_video(dev_env.client, settings, orphan)
    await listed_running(dev_env.client, handle.id)
    reconciler.activities.grace_seconds = 0
    report = await reconciler.round()
    assert report.repairs == {"terminated": 1}
    assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED


async def test_admission_keeps_the_row_when_the_start_gets_no_answer(
    own_ledger: Ledger, dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    """A start Temporal does not confirm leaves the recorded video queued (202, `started: false`), never deleted;
    a resend with the same idempotency key starts it and answers the same video."""
    broken = await Client.connect(
        dev_env.client.service_client.config.target_host,
        namespace=f"missing-{uuid.uuid4().hex[:6]}",
        data_converter=dev_env.client.data_converter,
    )
    body = EnqueueRequest(topic="octopus hearts", channel_id=uuid.uuid4(), user_id=uuid.uuid4())
    answer, created = await Admitter(settings, own_ledger, broken, ApiMetrics(), OPERATOR).enqueue(body, "key-1")
    assert created and not answer.started
    row = await own_ledger.get_video(str(answer.video_id))
    assert row is not None and row.status == "queued"
    try:
        again, created_again = await Admitter(settings, own_ledger, dev_env.client, ApiMetrics(), OPERATOR).enqueue(
            body, "key-1"
        )
        assert not created_again and again.started and again.video_id == answer.video_id
        assert await run_status(dev_env.client, str(answer.video_id)) == WorkflowExecutionStatus.RUNNING
        # Starting is idempotent: a third send (the second's reply lost, say) finds the same run.
        third, _ = await Admitter(settings, own_ledger, dev_env.client, ApiMetrics(), OPERATOR).enqueue(body, "key-1")
        assert third.started
        runs = [e async for e in dev_env.client.list_workflows(f"WorkflowId = '{workflow_id(answer.video_id)}'")]
        assert len(runs) == 1
    finally:
        await terminate_all(dev_env.client, settings)


async def test_the_schedule_runs_rounds_on_the_pipeline_queue(
    own_ledger: Ledger, dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    schedule_id = f"reconciler-{uuid.uuid4().hex[:8]}"
    hourly = settings.model_copy(update={"reconcile_interval_seconds": 3600})  # only the trigger below runs a round
    await ensure_reconcile_schedule(dev_env.client, settings, schedule_id)
    await ensure_reconcile_schedule(dev_env.client, hourly, schedule_id)  # every worker start: an update, no error
    schedule = dev_env.client.get_schedule_handle(schedule_id)
    stranded = await recorded(own_ledger, new_request())
    await age(own_ledger, stranded.video_id)
    reconciler = Reconciler(own_ledger, dev_env.client, settings)
    try:
        async with Worker(
            dev_env.client,
            task_queue=settings.task_queue_pipeline,
            workflows=[ReconcileWorkflow],
            activities=[reconciler.activities.reconcile_videos],
        ):
            await schedule.trigger()
            described = await schedule.describe()
            for _ in range(100):
                if described.info.recent_actions:
                    break
                await asyncio.sleep(0.1)
                described = await schedule.describe()
            action = described.info.recent_actions[-1].action
            assert isinstance(action, ScheduleActionExecutionStartWorkflow)
            report = await dev_env.client.get_workflow_handle(
                action.workflow_id, run_id=action.first_execution_run_id, result_type=ReconcileReport
            ).result()
        assert report.repairs == {"started": 1}, described.info.recent_actions
        assert await run_status(dev_env.client, stranded.video_id) == WorkflowExecutionStatus.RUNNING
        assert described.schedule.spec.intervals[0].every == timedelta(hours=1)
    finally:
        await schedule.delete()
        await terminate_all(dev_env.client, settings)
