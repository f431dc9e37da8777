"""SIGTERM a render worker mid-render (a deploy, `make down`): its render finishes on it, then it exits; no attempt
of the stage is spent."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from ledger import Ledger
from tests.admission import admitted_video
from tests.integration.conftest import running_workers
from tests.integration.test_crash_recovery import start_render_worker, stop_workers, wait_for_render_heartbeat
from workflows.client import start_video


async def test_a_terminated_render_worker_finishes_its_render_first(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger, tmp_path: Path
) -> None:
    request = await admitted_video(ledger, "the history of glass")
    worker = start_render_worker(settings, tmp_path / "worker.log")
    try:
        async with running_workers(dev_env, settings, ledger, roles=("pipeline",)):
            handle = await start_video(dev_env.client, settings, request)
            await wait_for_render_heartbeat(handle)
            worker.send_signal(signal.SIGTERM)
            await asyncio.to_thread(worker.wait, 120)
            assert worker.returncode == 0, "the worker should exit cleanly once its render is done"
            costs = {c.stage for c in await ledger.stage_costs(request.video_id)}
            assert "video_rendering" in costs, "the render finished on the terminated worker"
            worker = start_render_worker(settings, tmp_path / "worker2.log")  # nothing left for it to do
            result = await asyncio.wait_for(handle.result(), timeout=120)
    finally:
        stop_workers(worker)
    assert result.status == "completed"
    history = await handle.fetch_history()
    render_attempts = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.attempt
        and any(
            s.event_id == e.activity_task_started_event_attributes.scheduled_event_id
            and s.activity_task_scheduled_event_attributes.activity_type.name == "render_video"
            for s in history.events
        )
    ]
    assert render_attempts == [1]
