"""The cost guard: halts, approvals, timeouts, alerts, and the cap property (skipped time where a test needs it)."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import uuid

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import WorkflowEnvironment

from core.domain import BudgetApproval, TaskQueues, VideoBudget, VideoResult, VideoWorkflowInput
from core.stage_table import STAGES
from tests.workflows.fakes import FakeStages
from tests.workflows.test_video import make_input, workers
from workflows.video import VideoWorkflow

NAMES = [s.name for s in STAGES]


def with_budget(queues: TaskQueues, costs: dict[str, float], **policy: float) -> VideoWorkflowInput:
    budget = VideoBudget(estimates_usd=dict(costs), **policy)  # type: ignore[arg-type]
    return dataclasses.replace(make_input(queues), budget=budget)


# script+audio+media = $3.00 exactly (allowed: the cap is not crossed), the render would make it $3.50.
COSTS = {"script_generation": 1.2, "audio_synthesis": 1.0, "media_collection": 0.8, "video_rendering": 0.5}


async def test_halt_then_approve_then_complete(dev_env: WorkflowEnvironment, queues: TaskQueues) -> None:
    # On the dev server: nothing here needs skipped time, and updates against a halted video's pending 24 h timer
    # are the kind of interleaving the time-skipping server is known to hang on.
    fakes = FakeStages(costs=COSTS)
    async with workers(dev_env, queues, fakes):
        handle = await dev_env.client.start_workflow(
            VideoWorkflow.run,
            with_budget(queues, COSTS),
            id=f"video-{uuid.uuid4()}",
            task_queue=queues.pipeline,
            result_type=VideoResult,
        )
        await asyncio.wait_for(fakes.halted.wait(), timeout=20)
        halted = await handle.query(VideoWorkflow.progress)
        assert (halted.status, halted.stage, halted.cost_usd) == ("halted", "video_rendering", 3.0)
        assert "would cross the cap $3.00" in (halted.halted_reason or "")
        assert fakes.calls["video_rendering"] == 0, "the stage that would cross the cap never starts"

        with pytest.raises(WorkflowUpdateFailedError, match="update"):
            await handle.execute_update(VideoWorkflow.approve_budget, BudgetApproval(2.5, "ops", "lower?"))
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(VideoWorkflow.approve_budget, BudgetApproval(50.0, "ops", "way over"))
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(VideoWorkflow.approve_budget, BudgetApproval(4.0, " ", "nobody"))
        for poison in (BudgetApproval(4.0, "ma\x00ria", "flagship"), BudgetApproval(4.0, "maria", "flag\ud800ship")):
            # The CLI or UI can send what the API refuses; it must not reach (and wedge) a ledger write.
            with pytest.raises(WorkflowUpdateFailedError):
                await handle.execute_update(VideoWorkflow.approve_budget, poison)
        approved = await handle.execute_update(
            VideoWorkflow.approve_budget, BudgetApproval(4.0, "maria", "flagship video")
        )
        assert approved.cap_usd == 4.0
        result = await handle.result()
        costs = await handle.query(VideoWorkflow.costs)
    assert result.status == "completed" and result.cost_usd == pytest.approx(3.52)
    assert costs.approvals == [BudgetApproval(4.0, "maria", "flagship video")]
    assert costs.by_service == {"fake": pytest.approx(3.52)}
    assert [s.status for s in fakes.statuses] == ["halted", "processing"]
    assert "maria" in (fakes.statuses[1].note or "")
    kinds = [a.kind for a in fakes.alerts]
    assert kinds == ["cost_warning", "cost_critical", "cost_halt"]


async def test_the_whole_video_keeps_its_budget_across_a_retry(
    dev_env: WorkflowEnvironment, queues: TaskQueues
) -> None:
    """Halted, approved to $4.00, then the render fails all its attempts and the video is retried as a whole: the
    retry inherits the $3.00 already spent and the approval, so it neither halts again nor resets the cap, and
    the alerts already sent are not sent again."""
    fakes = FakeStages(costs=COSTS, fail_stage="video_rendering", fail_times=2)
    inp = dataclasses.replace(with_budget(queues, COSTS), video_attempts=3, retry_backoff_seconds=0.2)
    async with workers(dev_env, queues, fakes):
        handle = await dev_env.client.start_workflow(
            VideoWorkflow.run, inp, id=f"video-{uuid.uuid4()}", task_queue=queues.pipeline, result_type=VideoResult
        )
        await asyncio.wait_for(fakes.halted.wait(), timeout=20)
        await handle.execute_update(VideoWorkflow.approve_budget, BudgetApproval(4.0, "maria", "flagship video"))
        result = await handle.result()
        costs = await handle.query(VideoWorkflow.costs)
    assert [r.attempt for r in fakes.retries] == [2]
    assert result.status == "completed" and result.cost_usd == pytest.approx(3.52)
    assert costs.cap_usd == 4.0 and costs.approvals == [BudgetApproval(4.0, "maria", "flagship video")]
    assert [s.status for s in fakes.statuses] == ["halted", "processing"]
    assert [a.kind for a in fakes.alerts] == ["cost_warning", "cost_critical", "cost_halt"]


async def test_a_stage_that_uses_up_its_budget_halts_the_video(
    dev_env: WorkflowEnvironment, queues: TaskQueues
) -> None:
    """The render's estimate fits ($2.70 + $0.30 = $3.00), but its billed failures take $0.25 of it and it refuses
    to go on: the video halts with that reason, and after an approval the render runs again and the video
    completes with every billed dollar in its total."""
    costs = {"script_generation": 1.0, "audio_synthesis": 1.0, "media_collection": 0.7, "video_rendering": 0.3}
    fakes = FakeStages(costs=costs, refuse_stage="video_rendering", refused_charge=0.25)
    async with workers(dev_env, queues, fakes):
        handle = await dev_env.client.start_workflow(
            VideoWorkflow.run,
            with_budget(queues, costs),
            id=f"video-{uuid.uuid4()}",
            task_queue=queues.pipeline,
            result_type=VideoResult,
        )
        await asyncio.wait_for(fakes.halted.wait(), timeout=20)
        halted = await handle.query(VideoWorkflow.progress)
        assert halted.status == "halted" and halted.cost_usd == pytest.approx(2.95)
        assert "could cross the cap" in (halted.halted_reason or "")
        await handle.execute_update(VideoWorkflow.approve_budget, BudgetApproval(4.0, "maria", "re-render"))
        result = await handle.result()
    assert [b for b in fakes.budgets if b[0] == "video_rendering"] == [
        ("video_rendering", 1, pytest.approx(0.3)),
        ("video_rendering", 2, pytest.approx(1.05)),  # $4.00 less the $2.95 spent by then
    ]
    assert result.cost_usd == pytest.approx(2.7 + 0.25 + 0.3 + 0.02)


async def test_halt_times_out_as_cost_limit_exceeded(time_env: WorkflowEnvironment, queues: TaskQueues) -> None:
    fakes = FakeStages(costs=COSTS)
    async with workers(time_env, queues, fakes):
        handle = await time_env.client.start_workflow(
            VideoWorkflow.run,
            with_budget(queues, COSTS, halt_timeout_seconds=24 * 3600),
            id=f"video-{uuid.uuid4()}",
            task_queue=queues.pipeline,
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()  # the time-skipping server skips the 24 h wait
        progress = await handle.query(VideoWorkflow.progress)
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "CostLimitExceeded"
    assert "no budget approval within 1 day" in cause.message
    assert progress.status == "failed"
    assert [(f.status, f.error_type) for f in fakes.finalized] == [("failed", "CostLimitExceeded")]
    assert fakes.calls["video_rendering"] == 0 and fakes.charged() <= 3.0


async def test_cancelling_a_halted_video_ends_it(dev_env: WorkflowEnvironment, queues: TaskQueues) -> None:
    # On the real dev server: the time-skipping server would race the cancel against the 24 h halt timeout.
    fakes = FakeStages(costs=COSTS)
    async with workers(dev_env, queues, fakes):
        handle = await dev_env.client.start_workflow(
            VideoWorkflow.run,
            with_budget(queues, COSTS),
            id=f"video-{uuid.uuid4()}",
            task_queue=queues.pipeline,
        )
        await asyncio.wait_for(fakes.halted.wait(), timeout=20)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as failure:
            await asyncio.wait_for(handle.result(), timeout=30)
        progress = await handle.query(VideoWorkflow.progress)
    assert isinstance(failure.value.cause, CancelledError)
    assert progress.status == "cancelled" and fakes.calls["video_rendering"] == 0
    assert [f.status for f in fakes.finalized] == ["cancelled"]


async def test_each_alert_once_even_when_recording_is_retried(
    time_env: WorkflowEnvironment, queues: TaskQueues
) -> None:
    costs = {"script_generation": 2.6, "audio_synthesis": 0.15, "media_collection": 0.1}  # warning, then critical
    fakes = FakeStages(costs=costs, alert_failures=1)
    async with workers(time_env, queues, fakes):
        result = await time_env.client.execute_workflow(
            VideoWorkflow.run,
            with_budget(queues, costs),
            id=f"video-{uuid.uuid4()}",
            task_queue=queues.pipeline,
            result_type=VideoResult,
        )
    assert result.status == "completed"
    # The first record attempt failed and was retried: two deliveries of the same alert, which the ledger's
    # unique (video, kind) index turns into one event (tests/ledger/test_ledger.py).
    assert [a.kind for a in fakes.alerts] == ["cost_warning", "cost_warning", "cost_critical"]
    assert fakes.alerts[0] == fakes.alerts[1]


async def test_webhook_alerts_never_block_the_video(time_env: WorkflowEnvironment, queues: TaskQueues) -> None:
    costs = {"script_generation": 2.9}
    for down in (False, True):
        fakes = FakeStages(costs=costs, webhook_down=down)
        async with workers(time_env, queues, fakes):
            result = await time_env.client.execute_workflow(
                VideoWorkflow.run,
                with_budget(queues, costs, webhooks=True),
                id=f"video-{uuid.uuid4()}",
                task_queue=queues.pipeline,
                result_type=VideoResult,
            )
            for _ in range(100):  # the abandoned children deliver (or keep retrying) on their own
                if len({d.kind for d in fakes.webhooks}) == 2:
                    break
                await asyncio.sleep(0.05)
        for event_id in {d.event_id for d in fakes.webhooks}:  # the down receiver's deliveries would retry for hours
            child = time_env.client.get_workflow_handle(f"alert-{event_id.replace(':', '-')}")
            if (await child.describe()).status == WorkflowExecutionStatus.RUNNING:
                await child.terminate("test over")
        assert result.status == "completed", down
        kinds = sorted({d.kind for d in fakes.webhooks})
        assert kinds == ["cost_critical", "cost_warning"], down
        first = fakes.webhooks[0]
        assert first.url == "" and first.payload["video_id"] == result.video_id
        assert first.payload["spent_usd"] == 2.9 and first.payload["kind"] == first.kind


async def test_a_tighter_cap_scales_the_alert_thresholds(time_env: WorkflowEnvironment, queues: TaskQueues) -> None:
    costs = {"script_generation": 0.85}
    fakes = FakeStages(costs=costs)
    async with workers(time_env, queues, fakes):
        await time_env.client.execute_workflow(
            VideoWorkflow.run,
            with_budget(queues, costs, cap_usd=1.0, warning_usd=0.8333, critical_usd=0.9333),
            id=f"video-{uuid.uuid4()}",
            task_queue=queues.pipeline,
        )
    assert [a.kind for a in fakes.alerts] == ["cost_warning"]


async def test_property_no_video_is_charged_past_its_cap(dev_env: WorkflowEnvironment, queues: TaskQueues) -> None:
    """Random stage costs, random upper-bound estimates and caps: without approvals, what the stages that ran
    charged never exceeds the cap, a completed video fits its cap, and a failed one stopped only because the
    next stage's estimate would have crossed it.

    On the dev server with a short halt timeout: the time-skipping server hung (once in CI) on one of the 40
    skipped halt timers, so the halted cases here really wait their half second."""
    rng = random.Random(20261125)
    outcomes: list[bool] = []
    for case in range(40):
        costs = {name: round(rng.uniform(0.0, 0.6), 2) for name in NAMES}
        estimates = {name: round(cost * rng.uniform(1.0, 1.5), 2) for name, cost in costs.items()}
        cap = round(rng.uniform(0.5, 3.0), 2)
        fakes = FakeStages(costs=costs)
        inp = dataclasses.replace(
            make_input(queues), budget=VideoBudget(cap_usd=cap, estimates_usd=estimates, halt_timeout_seconds=0.5)
        )
        async with workers(dev_env, queues, fakes):
            handle = await dev_env.client.start_workflow(
                VideoWorkflow.run,
                inp,
                id=f"video-{uuid.uuid4()}",
                task_queue=queues.pipeline,
            )
            try:
                await handle.result()
                completed = True
            except WorkflowFailureError as failure:
                assert isinstance(failure.cause, ApplicationError), case
                assert failure.cause.type == "CostLimitExceeded", case
                completed = False
        outcomes.append(completed)
        ran = [name for name in NAMES if fakes.calls[name]]
        assert fakes.charged() <= cap + 1e-9, (case, costs, cap)
        if completed:
            assert ran == NAMES
        else:
            blocked = NAMES[len(ran)]
            assert sum(costs[n] for n in ran) + estimates[blocked] > cap - 1e-9, (case, costs, estimates, cap)
    assert 5 <= sum(outcomes) <= 35, "the cases must cover both videos that fit and videos that halt"
