"""Replaying saved histories of VideoWorkflow, and of the workflows Schedules start, proves workflow changes stay
deterministic.

Add a history whenever the workflow's shape changes (guard the change with `workflow.patched`), recorded before the
change: `python -m tests.workflows.record_histories` (fake stages, every scenario: cancel, resumed attempt, render
retry, automatic whole-video retry, halt timeout, halt and approval, a stage stopped at the cap), or from a real run,
`temporal workflow show -w video-<id> --output json > tests/workflows/histories/<name>.json`.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from activities.rollups import RollupSummary
from core.domain import VideoResult, VideoWorkflowInput
from tests.conftest import TEST_KEY_RING
from tests.workflows.record_schedule_histories import SCHEDULE_WORKFLOWS
from workflows.payload_codec import ENCODING, encrypting_converter
from workflows.rollups import RollupWorkflow
from workflows.video import VideoWorkflow

HISTORIES = Path(__file__).parent / "histories"


async def test_saved_histories_replay_without_nondeterminism() -> None:
    files = sorted(HISTORIES.glob("*.json"))
    assert files, "no saved histories: tests/workflows/histories/ must hold at least one"
    sealed = base64.b64encode(ENCODING).decode()
    assert any(sealed in path.read_text() for path in files), "no saved history has sealed payloads"
    await assert_replay(files, VideoWorkflow)


@workflow.defn(name="VideoWorkflow", sandboxed=False)
class UnguardedChange(VideoWorkflow):
    """A new command (a timer before the first stage) shipped without `workflow.patched`."""

    @workflow.run
    async def run(self, inp: VideoWorkflowInput) -> VideoResult:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(inp)


@workflow.defn(name="VideoWorkflow", sandboxed=False)
class GuardedChange(VideoWorkflow):
    """The same timer, guarded: runs started before it replay as they ran."""

    @workflow.run
    async def run(self, inp: VideoWorkflowInput) -> VideoResult:
        if workflow.patched("a-timer-before-the-first-stage"):
            await workflow.sleep(timedelta(seconds=1))
        return await super().run(inp)


def replayer(*workflow_classes: type) -> Replayer:
    return Replayer(workflows=list(workflow_classes), data_converter=encrypting_converter(TEST_KEY_RING))


async def assert_replay(files: list[Path], *workflow_classes: type) -> None:
    """Each saved history replays on today's code without nondeterminism."""
    for path in files:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        result = await replayer(*workflow_classes).replay_workflow(history, raise_on_replay_failure=True)
        assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


async def test_the_replay_check_catches_an_unguarded_command_change() -> None:
    files = sorted(HISTORIES.glob("*.json"))
    for path in files:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        unguarded = await replayer(UnguardedChange).replay_workflow(history, raise_on_replay_failure=False)
        assert isinstance(unguarded.replay_failure, NondeterminismError), path.name
        guarded = await replayer(GuardedChange).replay_workflow(history, raise_on_replay_failure=False)
        assert guarded.replay_failure is None, f"{path.name}: {guarded.replay_failure}"


SCHEDULE_HISTORIES = HISTORIES / "schedules"  # python -m tests.workflows.record_schedule_histories


async def test_the_scheduled_workflows_histories_replay() -> None:
    files = sorted(SCHEDULE_HISTORIES.glob("*.json"))
    assert {path.stem for path in files} == {w.__name__ for w in SCHEDULE_WORKFLOWS}
    await assert_replay(files, *SCHEDULE_WORKFLOWS)


@workflow.defn(name="RollupWorkflow", sandboxed=False)
class UnguardedRollupChange(RollupWorkflow):
    """A timer before the rollup, shipped without `workflow.patched`."""

    @workflow.run
    async def run(self, granularity: str) -> RollupSummary:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(granularity)


async def test_the_scheduled_workflows_replay_check_catches_an_unguarded_change() -> None:
    history = WorkflowHistory.from_json("rollup", (SCHEDULE_HISTORIES / "RollupWorkflow.json").read_text())
    result = await replayer(UnguardedRollupChange).replay_workflow(history, raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, NondeterminismError)
