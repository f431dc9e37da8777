"""Finalizing a cancelled video removes its partial artifacts, and nothing outside the artifact and outbox folders,
whatever the payload names (it can be sent by hand with the `temporal` CLI)."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import ActivityEnvironment

from activities.pipeline import PipelineActivities
from core.domain import FinalizeInput
from core.settings import Settings
from ledger import Ledger
from telemetry.worker_metrics import WorkerMetrics
from tests.admission import admitted_video


async def test_only_folders_inside_the_artifact_roots_are_removed(tmp_path: Path, ledger: Ledger) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    request = await admitted_video(ledger, "finalize octopus")
    partial = settings.artifacts_dir / request.video_id
    outbox = settings.outbox_dir / request.video_id
    elsewhere = tmp_path / "someone-elses"
    for folder in (partial, outbox, elsewhere):
        folder.mkdir(parents=True)
        (folder / "file").write_text("x")
    escape = settings.artifacts_dir / "escape"
    escape.symlink_to(elsewhere)
    inp = FinalizeInput(
        request.video_id,
        "cancelled",
        remove_dirs=[
            str(partial),
            str(outbox),
            str(elsewhere),
            str(settings.artifacts_dir / ".." / ".." / "someone-elses"),
            str(escape),
            str(settings.artifacts_dir),  # the root itself
        ],
    )
    acts = PipelineActivities(settings, ledger, WorkerMetrics())
    await ActivityEnvironment().run(acts.finalize_video, inp)
    assert not partial.exists() and not outbox.exists()
    assert (elsewhere / "file").exists() and escape.is_symlink() and settings.artifacts_dir.exists()
