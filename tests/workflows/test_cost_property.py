"""The cap as a property over the whole video, through the real stage runner and ledger: seeded random costs,
estimates and caps, with providers that bill their failures, a render that runs past its estimate, workers lost
right after the ledger write, and whole-video retries. Without approvals, no video is billed past its cap, and the
workflow's total always equals the ledger's."""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.pipeline import PipelineActivities
from activities.stage_runner import billed_so_far, run_stage
from core.domain import StageInput, StageResult, TaskQueues, VideoBudget
from core.errors import ErrorType
from core.records import CostLine, StageOutcome
from core.settings import Settings
from core.stage_table import STAGES
from ledger import Ledger
from providers.errors import attach_charge
from telemetry.worker_metrics import WorkerMetrics
from tests.workflows.fakes import FakeStages
from tests.workflows.test_video import make_input
from workflows.alert_delivery import AlertDeliveryWorkflow
from workflows.video import VideoWorkflow

NAMES = [s.name for s in STAGES]


@dataclasses.dataclass
class Case:
    """One video's providers, drawn from the seed."""

    costs: dict[str, float]
    estimates: dict[str, float]
    billed_failures: dict[str, int]  # failed attempts that are billed (each a fraction of the stage's cost)
    overrun: float  # the render runs this many times its estimate (it stops where the budget ends)
    crash_after_write: set[str]  # stages whose first booking is followed by the worker's death
    down_for_good: str | None  # a stage whose provider stays down through its own attempts (a whole-video retry)
    cap: float


def draw(rng: random.Random) -> Case:
    costs = {name: round(rng.uniform(0.0, 0.5), 2) for name in NAMES}
    estimates = {name: round(cost * rng.uniform(1.0, 1.4), 2) for name, cost in costs.items()}
    return Case(
        costs=costs,
        estimates=estimates,
        billed_failures={name: rng.choice((0, 0, 1, 2)) for name in ("script_generation", "audio_synthesis")},
        overrun=rng.choice((1.0, 1.0, 2.5)),
        crash_after_write={name for name in NAMES if rng.random() < 0.15},
        down_for_good=rng.choice((None, None, None, "media_collection")),
        cap=round(rng.uniform(0.8, 3.0), 2),
    )


class Providers:
    """Stage activities under the real names: the real run_stage and ledger around bodies that misbehave as drawn."""

    def __init__(self, ledger: Ledger, case: Case, artifact: Path) -> None:
        self.ledger = ledger
        self.artifact = str(artifact)  # a file that exists: a booked stage's outputs are still there
        self.case = case
        self.failed: dict[tuple[str, int], int] = {}
        self.crashed: set[str] = set()
        self.down_attempts = 0

    def body(self, inp: StageInput) -> Callable[[], object]:
        case = self.case

        async def run() -> StageOutcome:
            key = (inp.stage, inp.video_attempt)
            if self.failed.get(key, 0) < case.billed_failures.get(inp.stage, 0):
                self.failed[key] = self.failed.get(key, 0) + 1
                raise attach_charge(
                    ApplicationError("the provider failed after billing", type=ErrorType.PROVIDER_UNAVAILABLE),
                    CostLine("fake", "billed_failure", round(case.costs[inp.stage] / 2, 4)),
                )
            if inp.stage == case.down_for_good and inp.video_attempt == 1:
                raise ApplicationError("the provider is down", type=ErrorType.PROVIDER_UNAVAILABLE)
            cost = case.costs[inp.stage]
            if inp.stage == "video_rendering" and case.overrun > 1.0:
                cost = round(case.estimates[inp.stage] * case.overrun, 4)
                if inp.budget_usd is not None:
                    left = round(inp.budget_usd - await billed_so_far(self.ledger, inp), 4)
                    if cost > left:  # as the render does: it stops where the budget ends, and books that
                        raise attach_charge(
                            ApplicationError(
                                "stopped at the budget", type=ErrorType.STAGE_BUDGET_EXHAUSTED, non_retryable=True
                            ),
                            CostLine("fake", "render_stopped", max(left, 0.0)),
                        )
            outputs = ("outbox_video", "metadata", "thumbnail") if inp.stage == "upload_preparation" else (inp.stage,)
            return StageOutcome(dict.fromkeys(outputs, self.artifact), CostLine("fake", "stage", cost))

        return run

    async def stage(self, inp: StageInput) -> StageResult:
        result = await run_stage(self.ledger, inp, self.body(inp), WorkerMetrics())  # type: ignore[arg-type]
        if inp.stage in self.case.crash_after_write and inp.stage not in self.crashed:
            self.crashed.add(inp.stage)
            raise RuntimeError("the worker died after the ledger write")  # Temporal never heard: it retries
        return result

    def activities(self, queue: str) -> list[object]:
        """The stage activities the stage table puts on `queue` ("pipeline" or "render")."""
        made = []
        for spec in STAGES:
            if spec.queue != queue:
                continue

            @activity.defn(name=spec.activity)
            async def stage(inp: StageInput) -> StageResult:
                return await self.stage(inp)

            made.append(stage)
        return made


async def test_property_the_cap_holds_over_the_whole_video(
    dev_env: WorkflowEnvironment, queues: TaskQueues, own_ledger: Ledger, tmp_path: Path
) -> None:
    # A database of its own: its near-instant stage runs must not become the shared ledger's ETA medians.
    ledger = own_ledger
    artifact = tmp_path / "artifact.bin"
    artifact.write_bytes(b"x")
    rng = random.Random(20261203)
    outcomes: list[str] = []
    for case_number in range(12):
        case = draw(rng)
        request = dataclasses.replace(make_input(queues).request, video_id=str(uuid.uuid4()))
        await ledger.admit(request, asdict(request), capacity=10**6, idempotency_key=None)
        providers = Providers(ledger, case, artifact)
        bookkeeping = FakeStages()  # ledger bookkeeping of the workflow itself is not under test here
        ledger_side = PipelineActivities(Settings(_env_file=None), ledger, WorkerMetrics())  # type: ignore[call-arg]
        inp = dataclasses.replace(
            make_input(queues),
            request=request,
            budget=VideoBudget(cap_usd=case.cap, estimates_usd=case.estimates, halt_timeout_seconds=0.5),
            video_attempts=3,
            retry_backoff_seconds=0.2,
        )
        async with (
            Worker(
                dev_env.client,
                task_queue=queues.pipeline,
                workflows=[VideoWorkflow, AlertDeliveryWorkflow],
                activities=[
                    *providers.activities("pipeline"),
                    *[a for a in bookkeeping.bookkeeping_activities() if a != bookkeeping.schedule_video_retry],
                    ledger_side.schedule_video_retry,  # what a retry inherits comes from the real ledger
                ],
            ),
            Worker(dev_env.client, task_queue=queues.cpu, activities=providers.activities("render")),
        ):
            handle = await dev_env.client.start_workflow(
                VideoWorkflow.run, inp, id=f"video-{request.video_id}", task_queue=queues.pipeline
            )
            try:
                reported = (await handle.result()).cost_usd
                outcome = "completed"
            except WorkflowFailureError as failure:
                assert isinstance(failure.cause, ApplicationError), case_number
                assert failure.cause.type == ErrorType.COST_LIMIT_EXCEEDED, (case_number, failure.cause)
                reported = (await dev_env.client.get_workflow_handle(handle.id).query(VideoWorkflow.costs)).total_usd
                outcome = "halted"
        spent = await ledger.spent_usd(request.video_id)
        assert spent <= case.cap + 1e-6, (case_number, case, spent)
        assert reported == pytest.approx(spent, abs=1e-4), (case_number, case, reported, spent)
        outcomes.append(outcome)
    assert 2 <= outcomes.count("completed") <= 10, outcomes
