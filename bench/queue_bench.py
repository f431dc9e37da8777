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
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from temporalio import activity  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from api.local_admin import client_headers  # noqa: E402
from api.main import create_app  # noqa: E402
from bench.harness import free_port, percentile, run_in_scratch_dir, stack_settings, start_stack, stop_stack  # noqa: E402
from core.domain import StageInput, StageResult  # noqa: E402
from tests.workflows.fakes import FakeStages  # noqa: E402
from workflows.video import VideoWorkflow  # noqa: E402


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
    pg, env = await start_stack(root)
    port = free_port()
    settings = stack_settings(root, pg, env, "bench", queue_capacity=args.videos)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.05)
        enqueue: list[float] = []
        headers = client_headers(settings.admin_key_path)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as api:
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
        await stop_stack(pg, env)

    ms = [v * 1000 for v in enqueue]
    deq = [v * 1000 for v in render.waits]
    print(f"queue: {args.videos} videos through POST /pipeline/queue (sequential, real HTTP on 127.0.0.1)")
    p50, p95, p99 = (percentile(ms, q) for q in (50, 95, 99))
    verdict = "met" if p95 < 50 else "NOT met"
    line = f"enqueue latency  p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   p99 {p99:6.1f} ms"
    print(f"{line}   (target < 50 ms: {verdict} at p95)")
    print(f"request #{args.videos + 1}: HTTP {full.status_code}, Retry-After {full.headers.get('Retry-After')}")
    d50, d95 = percentile(deq, 50), percentile(deq, 95)
    verdict = "met" if d95 < 100 else "NOT met"
    print(
        f"dequeue latency  p50 {d50:6.1f} ms   p95 {d95:6.1f} ms   max {max(deq):6.1f} ms"
        f"   (target < 100 ms: {verdict} at p95)"
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
    run_in_scratch_dir(bench, args, "ytempire-bench-queue-")


if __name__ == "__main__":
    main()
