"""Cancelling a video mid-render kills its ffmpeg and leaves the ledger saying `cancelled`."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import CancelledError
from temporalio.testing import WorkflowEnvironment

from core.domain import VideoRequest
from core.settings import Settings
from ledger import Ledger
from tests.admission import admit
from tests.integration.conftest import running_workers
from tests.integration.test_crash_recovery import children, gone, wait_for_render_heartbeat
from workflows.client import start_video
from workflows.video import VideoWorkflow


def ffmpeg_children() -> list[int]:
    return [pid for pid in children(os.getpid()) if b"ffmpeg" in Path(f"/proc/{pid}/cmdline").read_bytes()]


async def test_cancel_during_render_kills_ffmpeg(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    video_id = str(uuid.uuid4())
    request = VideoRequest(
        video_id=video_id,
        topic="why cats purr",
        channel_id=str(uuid.uuid4()),
        user_id=str(uuid.uuid4()),
        complexity="complex",
        duration_seconds=60,
    )
    await admit(ledger, request, {"topic": request.topic})
    async with running_workers(dev_env, settings, ledger):
        handle = await start_video(dev_env.client, settings, request, render_heartbeat_timeout_seconds=2)
        await wait_for_render_heartbeat(handle)
        running = ffmpeg_children()
        assert running, "the render should be running ffmpeg"
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as failure:
            await asyncio.wait_for(handle.result(), timeout=60)
        progress = await handle.query(VideoWorkflow.progress)  # a closed workflow's query replays on a worker
    assert isinstance(failure.value.cause, CancelledError)
    assert all(gone(pid) for pid in running)
    row = await ledger.get_video(video_id)
    assert row is not None and row.status == "cancelled"
    assert not (settings.artifacts_dir / video_id / "final.mp4").exists()
    assert not list((settings.artifacts_dir / video_id).glob("*partial*"))
    assert progress.status == "cancelled" and progress.stage == "video_rendering"
