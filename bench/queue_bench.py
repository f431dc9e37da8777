"""bench/queue_bench: enqueue latency through the HTTP API and render dequeue latency, with 100 videos queued.

    .venv/bin/python bench/queue_bench.py [--videos 100] [--render-seconds 0.1]

A throw-away stack (PostgreSQL, Temporal dev server with the project's dynamic config, the real API under uvicorn
on 127.0.0.1). Phase 1 POSTs the videos one after another (workers off: every request adds to the backlog).
Phase 2 runs the stages before the render as instant fakes until every video waits for a render slot, then starts
a render worker whose render sleeps, on the cpu queue with its real slot limit. The dequeue latency of a render is
the time from the moment a slot was free for it (its scheduling, or the end of the render whose slot it takes)
until it started. Spec targets: enqueue < 50 ms, dequeue < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from temporalio import activity  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from api.main import create_app  # noqa: E402
from devstack.postgres import PostgresServer  # noqa: E402
from devstack.temporal_server import dynamic_config_args, temporal_cli  # noqa: E402
from tests.workflows.fakes import FakeStages  # noqa: E402
from workflows.video import VideoWorkflow  # noqa: E402
from ytempire import search_attributes  # noqa: E402
from ytempire.domain import StageInput, StageResult  # noqa: E402
from ytempire.settings import Settings  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


class TimedRender:
    """A render that sleeps, recording how long each start waited for its slot."""

    def __init__(self, seconds: float, total: int) -> None:
        self.seconds = seconds
        self.ends: list[float] = []
        self.waits: list[float] = []
        self.done = asyncio.Event()
        self.total = total

    @activity.defn(name="render_video")
    async def render_video(self, inp: StageInput) -> StageResult:
        started = time.time()
        scheduled = activity.info().current_attempt_scheduled_time.timestamp()
        freed = max([end for end in self.ends if end <= started], default=scheduled)
        self.waits.append(started - max(scheduled, freed))
        await asyncio.sleep(self.seconds)
        self.ends.append(time.time())
        if len(self.ends) == self.total:
            self.done.set()
        return StageResult(stage=inp.stage, artifacts={"video": "/bench/final.mp4"}, cost_usd=0.0)


async def bench(args: argparse.Namespace, root: Path) -> None:
    pg = PostgresServer(root / "pg", _free_port(), fast_unsafe=True)
    pg.start()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        dev_server_extra_args=dynamic_config_args(),
        search_attributes=search_attributes.ALL,
    )
    port = _free_port()
    settings = Settings(
        data_dir=root / "data",
        database_url=pg.dsn,
        temporal_address=env.client.service_client.config.target_host,
        task_queue_pipeline="bench-pipeline",
        task_queue_cpu="bench-cpu",
        task_queue_gpu="bench-gpu",
        queue_capacity=args.videos,
    )
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.05)
        enqueue: list[float] = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as api:
            for index in range(args.videos):
                body = {
                    "topic": f"bench topic {index}",
                    "channel_id": str(uuid.uuid4()),
                    "user_id": str(uuid.uuid4()),
                    "priority": 1 + index % 10,
                }
                started = time.perf_counter()
                response = await api.post("/pipeline/queue", json=body)
                enqueue.append(time.perf_counter() - started)
                assert response.status_code == 201, response.text
            full = await api.post("/pipeline/queue", json={**body, "channel_id": str(uuid.uuid4())})
        fakes = FakeStages()
        render = TimedRender(args.render_seconds, args.videos)
        async with (
            Worker(
                env.client,
                task_queue=settings.task_queue_pipeline,
                workflows=[VideoWorkflow],
                activities=fakes.pipeline_activities(),
            ),
            Worker(
                env.client,
                task_queue=settings.task_queue_cpu,
                activities=[render.render_video],
                max_concurrent_activities=settings.cpu_max_concurrent,
            ),
        ):
            drained = time.perf_counter()
            await asyncio.wait_for(render.done.wait(), timeout=600)
            drained = time.perf_counter() - drained
    finally:
        server.should_exit = True
        await serving
        await env.shutdown()
        pg.stop()

    ms = [v * 1000 for v in enqueue]
    deq = [v * 1000 for v in render.waits]
    print(f"queue: {args.videos} videos through POST /pipeline/queue (sequential, real HTTP on 127.0.0.1)")
    print(
        f"enqueue latency  p50 {_pct(ms, 50):6.1f} ms   p95 {_pct(ms, 95):6.1f} ms   p99 {_pct(ms, 99):6.1f} ms"
        f"   (target < 50 ms: {'met' if _pct(ms, 95) < 50 else 'NOT met'} at p95)"
    )
    print(f"request #{args.videos + 1}: HTTP {full.status_code}, Retry-After {full.headers.get('Retry-After')}")
    print(
        f"dequeue latency  p50 {_pct(deq, 50):6.1f} ms   p95 {_pct(deq, 95):6.1f} ms   max {max(deq):6.1f} ms"
        f"   (target < 100 ms: {'met' if _pct(deq, 95) < 100 else 'NOT met'} at p95)"
    )
    print(
        f"drained {args.videos} renders of {args.render_seconds} s through {settings.cpu_max_concurrent} slots in "
        f"{drained:.1f} s ({os.cpu_count()} CPUs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=100)
    parser.add_argument("--render-seconds", type=float, default=0.1)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ytempire-bench-queue-"))
    try:
        asyncio.run(bench(args, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    os._exit(0)


if __name__ == "__main__":
    main()
