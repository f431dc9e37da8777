"""SIGKILL a worker mid-stage: its ffmpeg dies with it, and a fresh worker finishes the same video from that stage."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.domain import VideoResult
from core.settings import Settings
from core.stage_table import STAGES
from ledger import Ledger
from tests.admission import admitted_video
from tests.conftest import database_env
from tests.integration.conftest import running_workers
from workflows.client import start_video
from workflows.video import VideoWorkflow

REPO = Path(__file__).resolve().parents[2]


def start_worker(settings: Settings, log: Path, queues: str) -> subprocess.Popen[bytes]:
    """`python -m workers --queues <queues>` on the test's own task queues, as a process of its own."""
    env = dict(
        os.environ,
        **database_env(settings),
        YTEMPIRE_TEMPORAL_ADDRESS=settings.temporal_address,
        YTEMPIRE_TASK_QUEUE_PIPELINE=settings.task_queue_pipeline,
        YTEMPIRE_TASK_QUEUE_CPU=settings.task_queue_cpu,
        YTEMPIRE_TASK_QUEUE_GPU=settings.task_queue_gpu,
        YTEMPIRE_DATA_DIR=str(settings.data_dir),
        # The tests share one database: a reconciler here would start other tests' unstarted videos.
        YTEMPIRE_RECONCILE_INTERVAL_SECONDS="0",
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "workers", "--queues", queues], cwd=REPO, env=env, stdout=out, stderr=out
        )


def stop_workers(*procs: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM what is still running (a graceful worker shutdown) and wait for it."""
    for proc in procs:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)


def start_render_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    return start_worker(settings, log, "cpu")


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def ffmpeg_children(pid: int, *, reading: str = "") -> list[int]:
    """The ffmpeg processes `pid` started (those whose command line mentions `reading`)."""
    found = []
    for child in children(pid):
        with contextlib.suppress(FileNotFoundError):
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            if argv and argv[0].endswith(b"ffmpeg") and reading.encode() in b" ".join(argv):
                found.append(child)
    return found


def gone(pid: int) -> bool:
    """Dead, or a zombie (an orphan is re-parented to PID 1, which may never reap it in a container)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):  # reaped between open and read
        return True


async def wait_for_render_heartbeat(handle: WorkflowHandle[VideoWorkflow, VideoResult], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desc = await handle.describe()
        for act in desc.raw_description.pending_activities:
            if act.activity_type.name == "render_video" and act.heartbeat_details.payloads:
                details = await handle._client.data_converter.decode(act.heartbeat_details.payloads)
                if details and details[0].get("fraction", 0) > 0.05:
                    return
        await asyncio.sleep(0.2)
    raise AssertionError("render never reported progress")


async def test_killed_render_worker_resumes_from_render_stage(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger, tmp_path: Path
) -> None:
    request = await admitted_video(ledger, "the history of coffee")
    video_id = request.video_id
    first = start_render_worker(settings, tmp_path / "worker1.log")
    second: subprocess.Popen[bytes] | None = None
    try:
        async with running_workers(dev_env, settings, ledger, roles=("pipeline",)):
            handle = await start_video(dev_env.client, settings, request)
            await wait_for_render_heartbeat(handle)
            ffmpeg_pids = [pid for pid in children(first.pid) if b"ffmpeg" in Path(f"/proc/{pid}/cmdline").read_bytes()]
            assert ffmpeg_pids, "the render worker should be running ffmpeg"
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            await asyncio.sleep(0.5)
            assert all(gone(pid) for pid in ffmpeg_pids), "ffmpeg must die with its worker"

            second = start_render_worker(settings, tmp_path / "worker2.log")
            result = await asyncio.wait_for(handle.result(), timeout=180)
    finally:
        stop_workers(first, second)

    assert result.status == "completed" and Path(result.mp4_path).exists()
    history = await handle.fetch_history()
    scheduled: dict[str, int] = {}
    attempts: dict[str, list[int]] = {}
    names: dict[int, str] = {}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            names[event.event_id] = name
            scheduled[name] = scheduled.get(name, 0) + 1
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attrs = event.activity_task_started_event_attributes
            attempts.setdefault(names[attrs.scheduled_event_id], []).append(attrs.attempt)
    assert all(scheduled[spec.activity] == 1 for spec in STAGES)
    for spec in STAGES:
        expected = [2] if spec.activity == "render_video" else [1]
        assert attempts[spec.activity] == expected, (spec.activity, attempts)
    costs = await ledger.stage_costs(video_id)
    assert sorted(c.stage for c in costs) == sorted(s.name for s in STAGES)  # exactly one row per stage
    row = await ledger.get_video(video_id)
    assert row is not None and row.status == "completed" and row.retry_count == 1
    assert not list((settings.artifacts_dir / video_id).glob("*partial*")), "no partial render may remain"


async def test_killed_pipeline_worker_takes_its_quality_check_ffmpeg_with_it(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger, tmp_path: Path
) -> None:
    """The QA decode (ffmpeg over the whole render) runs on the pipeline worker; SIGKILL that worker mid-check."""
    request = await admitted_video(ledger, "the history of tea")
    first = start_worker(settings, tmp_path / "worker1.log", "pipeline")
    second: subprocess.Popen[bytes] | None = None
    try:
        async with running_workers(dev_env, settings, ledger, roles=("cpu", "gpu")):
            handle = await start_video(dev_env.client, settings, request)
            deadline = time.monotonic() + 180
            decoding: list[int] = []
            while not decoding and time.monotonic() < deadline:
                row = await ledger.get_video(request.video_id)
                if row is not None and row.stage == "quality_validation":
                    decoding = ffmpeg_children(first.pid, reading="final.mp4")
                await asyncio.sleep(0.05)
            assert decoding, "the pipeline worker should be decoding the render for its quality check"
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            await asyncio.sleep(0.5)
            assert all(gone(pid) for pid in decoding), "the quality check's ffmpeg must die with its worker"

            second = start_worker(settings, tmp_path / "worker2.log", "pipeline")
            result = await asyncio.wait_for(handle.result(), timeout=180)
    finally:
        stop_workers(first, second)
    assert result.status == "completed"
