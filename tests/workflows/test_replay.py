"""Replaying saved histories of VideoWorkflow proves workflow changes stay deterministic.

Add a history whenever the workflow's shape changes (guard the change with `workflow.patched`):
`temporal workflow show -w video-<id> --output json > tests/workflows/histories/<name>.json`.
"""

from __future__ import annotations

from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.video import VideoWorkflow

HISTORIES = Path(__file__).parent / "histories"


async def test_saved_histories_replay_without_nondeterminism() -> None:
    files = sorted(HISTORIES.glob("*.json"))
    assert files, "no saved histories: tests/workflows/histories/ must hold at least one"
    replayer = Replayer(workflows=[VideoWorkflow])
    for path in files:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
        assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
