"""bench/stream_bench: 200 WebSocket subscribers follow real videos through WS /pipeline/stream/{id}.

    .venv/bin/python bench/stream_bench.py [--subscribers 200] [--videos 1] [--duration 30] [--compare-polling]

A throw-away stack: PostgreSQL, the Temporal dev server with the project's dynamic config, real workers (ffmpeg,
espeak-ng) in this process, and the API under uvicorn in a process of its own, so that its CPU time is the API's
alone. The videos are enqueued over HTTP with the workers off; every subscriber connects (all at once) and gets
the queued state; then the workers start and the subscribers follow their video to the end.

Figures: connect time (TCP + handshake, and until the first message); the time from the hub publishing a state
to the last subscriber receiving it; the time from a real state change (a stage's activity starting, per the
workflow history, or the ledger's completed_at) to the last subscriber receiving it, which includes the wait for
the next poll; messages per subscriber; hub polls against subscribers; the API process's CPU time.
--compare-polling then follows as many new videos with the same number of clients polling GET /pipeline/status
every 0.5 s, the thing the stream replaces, for the API's CPU time in comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from api.credentials import new_api_key  # noqa: E402
from api.stream import StatusHub, StreamMessage  # noqa: E402
from bench.harness import free_port, percentile, run_in_scratch_dir, stack_settings, start_stack, stop_stack  # noqa: E402
from core.domain import workflow_id  # noqa: E402
from core.principals import Role  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.stage_table import STAGES  # noqa: E402
from ledger import Ledger, create_pool  # noqa: E402
from ledger.migrations import migrate  # noqa: E402
from workers.hosting import build_workers, running  # noqa: E402


def _key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"p50 {percentile(ms, 50):7.1f} ms   p95 {percentile(ms, 95):7.1f} ms   max {max(ms):7.1f} ms   (n={len(ms)})"
    )


# ---------------------------------------------------------------- the API process (--serve PORT)


class TimedHub(StatusHub):
    """The real hub, noting when it publishes each state (wall clock), for the publish → receive latency."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.published: dict[str, float] = {}

    def _publish(self, watcher: Any, item: StreamMessage | Exception) -> None:
        if isinstance(item, StreamMessage):
            self.published.setdefault(_key(item.text), time.time())
        super()._publish(watcher, item)


def serve(port: int) -> None:
    """The API as `python -m api` runs it (settings from YTEMPIRE_*), plus /bench/hub for the hub's counters."""
    import uvicorn

    from api.main import create_app

    app = create_app(Settings())
    lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def timed(app: FastAPI) -> AsyncIterator[None]:
        async with lifespan(app):
            app.state.stream = TimedHub(app.state.settings, app.state.ledger, app.state.temporal)
            yield

    app.router.lifespan_context = timed

    @app.get("/bench/hub", include_in_schema=False)
    async def hub_counters() -> dict[str, Any]:
        hub: TimedHub = app.state.stream
        return {
            "watchers": hub.watchers,
            "subscribers": hub.subscribers,
            "polls": hub.polls,
            "poll_errors": hub.poll_errors,
            "messages": hub.messages,
            "published": hub.published,
        }

    uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")).run()
    os._exit(0)


UNREADABLE = "not readable; falling back to the ledger"  # api.status: a live-progress read Temporal refused


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


# ---------------------------------------------------------------- the subscribers


@dataclass
class Subscriber:
    video_id: str
    connect_s: float = 0.0
    first_message_s: float = 0.0
    received: list[tuple[float, str]] = field(default_factory=list)  # (wall clock, text)
    close: tuple[int | None, str | None] = (None, None)


async def subscribe(url: str, sub: Subscriber, auth: dict[str, str]) -> None:
    started = time.perf_counter()
    async with connect(url, open_timeout=60, max_queue=None, additional_headers=auth) as ws:
        sub.connect_s = time.perf_counter() - started
        async for text in ws:
            sub.received.append((time.time(), str(text)))
            if len(sub.received) == 1:
                sub.first_message_s = time.perf_counter() - started
    sub.close = (ws.close_code, ws.close_reason)


async def enqueue(api: httpx.AsyncClient, index: int, duration: int) -> str:
    body = {
        "topic": f"octopus hearts {index}",
        "channel_id": str(uuid.uuid4()),
        "user_id": str(uuid.uuid4()),
        "complexity": "simple",
        "duration_seconds": duration,
    }
    response = await api.post("/pipeline/queue", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["video_id"])


async def stage_started_at(env: WorkflowEnvironment, video_id: str) -> dict[str, float]:
    """When each stage's activity started (its first attempt), from the workflow history."""
    stage_of = {s.activity: s.name for s in STAGES}
    history = await env.client.get_workflow_handle(workflow_id(video_id)).fetch_history()
    scheduled: dict[int, str] = {}
    started: dict[str, float] = {}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            if name in stage_of:
                scheduled[event.event_id] = stage_of[name]
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            stage = scheduled.get(event.activity_task_started_event_attributes.scheduled_event_id)
            if stage is not None:
                started.setdefault(stage, event.event_time.ToMicroseconds() / 1e6)
    return started


async def poll_status(api: httpx.AsyncClient, video_id: str, interval: float) -> list[float]:
    """What each client does without the stream: GET the status every `interval` until final; the latencies."""
    latencies: list[float] = []
    while True:
        started = time.perf_counter()
        body = (await api.get(f"/pipeline/status/{video_id}")).json()
        latencies.append(time.perf_counter() - started)
        if body["status"] in ("completed", "failed", "cancelled"):
            return latencies
        await asyncio.sleep(interval)


async def bench(args: argparse.Namespace, root: Path) -> None:
    pg, env = await start_stack(root)
    port = free_port()
    settings = stack_settings(root, pg, env, "sb", worker_metrics_port=0, worker_sdk_metrics_port=0)
    pool = await create_pool(settings.app_database)
    await migrate(settings.owner_database, pool)
    ledger = Ledger(pool, settings.key_ring)
    # The bench is a principal of its own, with limits far above a person's: it measures the stream, not the limits.
    bench_key = new_api_key()
    await ledger.create_key(bench_key.id, "stream-bench", bench_key.sha256, Role.OPERATOR, rate_per_minute=10_000_000)
    api_env = {
        **os.environ,
        "YTEMPIRE_DATABASE_URL": settings.database_url,
        "YTEMPIRE_DATABASE_OWNER_URL": pg.owner_dsn,
        "YTEMPIRE_TEMPORAL_ADDRESS": settings.temporal_address,
        "YTEMPIRE_TASK_QUEUE_PIPELINE": settings.task_queue_pipeline,
        "YTEMPIRE_TASK_QUEUE_CPU": settings.task_queue_cpu,
        "YTEMPIRE_TASK_QUEUE_GPU": settings.task_queue_gpu,
        "YTEMPIRE_DATA_DIR": str(settings.data_dir),
        "YTEMPIRE_WEBSOCKETS_PER_PRINCIPAL": str(max(1000, 2 * args.subscribers)),
    }
    api_log = root / "api.log"  # the API's warnings, e.g. Temporal refusing a query
    with api_log.open("wb") as log_file:
        server = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve", str(port), env=api_env, cwd=root, stdout=log_file, stderr=log_file
        )
    base = f"127.0.0.1:{port}"
    subs: list[Subscriber] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://{base}", timeout=60) as api:
            for _ in range(600):
                try:
                    if (await api.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            auth = {"X-API-Key": bench_key.value}
            api.headers.update(auth)
            cpu_start = cpu_seconds(server.pid)
            videos = [await enqueue(api, i, args.duration) for i in range(args.videos)]
            subs = [Subscriber(videos[i % len(videos)]) for i in range(args.subscribers)]
            tasks = [asyncio.create_task(subscribe(f"ws://{base}/pipeline/stream/{s.video_id}", s, auth)) for s in subs]
            while not all(s.received for s in subs):
                assert not any(t.done() for t in tasks), [t.exception() for t in tasks if t.done()]
                await asyncio.sleep(0.02)
            connected = (await api.get("/bench/hub")).json()
            cpu_connected, wall_connected = cpu_seconds(server.pid), time.monotonic()

            async with running(build_workers(env.client, settings, ledger, ("pipeline", "cpu", "gpu"))):
                await asyncio.wait_for(asyncio.gather(*tasks), timeout=900)
                wall_follow = time.monotonic() - wall_connected
                cpu_follow = cpu_seconds(server.pid) - cpu_connected
                done = (await api.get("/bench/hub")).json()
                unreadable_stream = api_log.read_text(errors="replace").count(UNREADABLE)

                polling: tuple[float, float, list[float]] | None = None
                unreadable_polling = 0
                if args.compare_polling:
                    await asyncio.sleep(1)
                    cpu0, wall0 = cpu_seconds(server.pid), time.monotonic()
                    more = [await enqueue(api, 1000 + i, args.duration) for i in range(args.videos)]
                    limits = httpx.Limits(max_connections=args.subscribers)
                    async with httpx.AsyncClient(
                        base_url=f"http://{base}", timeout=60, limits=limits, headers=auth
                    ) as pollers:
                        latencies = await asyncio.gather(
                            *(poll_status(pollers, more[i % len(more)], 0.5) for i in range(args.subscribers))
                        )
                    polling = (time.monotonic() - wall0, cpu_seconds(server.pid) - cpu0, sum(latencies, []))
                    unreadable_polling = api_log.read_text(errors="replace").count(UNREADABLE) - unreadable_stream
            cpu_total = cpu_seconds(server.pid) - cpu_start

            changes: dict[str, dict[str, float]] = {}
            for video_id in videos:
                changes[video_id] = await stage_started_at(env, video_id)
                row = await ledger.get_video(video_id)
                assert row is not None and row.status == "completed" and row.completed_at is not None, row
                changes[video_id]["completed"] = row.completed_at.timestamp()
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=30)
        await pool.close()
        await stop_stack(pg, env)

    # publish → last subscriber, and first → last subscriber, for every distinct state of every video
    published: dict[str, float] = done["published"]
    arrivals: dict[str, list[float]] = {}
    for sub in subs:
        for at, text in sub.received:
            arrivals.setdefault(_key(text), []).append(at)
    # the queued state was published before anyone but the first subscriber of each video connected
    queued = {_key(sub.received[0][1]) for sub in subs}
    publish_to_last = [max(arrivals[k]) - published[k] for k in arrivals if k in published and k not in queued]
    spread = [max(at) - min(at) for k, at in arrivals.items() if k not in queued]

    # real state change → last subscriber: a stage's first message, and the final message, per video
    change_to_last: list[float] = []
    for video_id in changes:
        mine = [s for s in subs if s.video_id == video_id]
        for stage, changed_at in changes[video_id].items():
            lasts = []
            for sub in mine:
                for at, text in sub.received:
                    message = json.loads(text)
                    if (stage == "completed" and message["final"]) or message["stage"] == stage:
                        lasts.append(at)
                        break
            if len(lasts) == len(mine):  # a stage shorter than a poll interval is never seen: no sample
                change_to_last.append(max(lasts) - changed_at)

    per_sub = [len(s.received) for s in subs]
    finals = {json.loads(s.received[-1][1])["final"] for s in subs}
    closes = {s.close for s in subs}
    connect_s = [s.connect_s for s in subs]
    first_s = [s.first_message_s for s in subs]
    print(
        f"stream: {args.subscribers} WebSocket subscribers on {args.videos} real video(s) "
        f"(simple, {args.duration} s), hub interval 0.5 s, {os.cpu_count()} CPUs"
    )
    print(f"connect (TCP + handshake)       {_ms(connect_s)}")
    print(f"connect until first message     {_ms(first_s)}")
    print(f"hub publish -> last subscriber  {_ms(publish_to_last)}")
    print(f"first -> last subscriber        {_ms(spread)}")
    print(f"state change -> last subscriber {_ms(change_to_last)}   (includes the wait for the next poll)")
    print(
        f"messages per subscriber         min {min(per_sub)}  median {statistics.median(per_sub):.0f}  "
        f"max {max(per_sub)}   (distinct states published: {done['messages']}; every last one final: "
        f"{finals == {True}}; closes: {sorted(closes, key=str)})"
    )
    polls = done["polls"] - connected["polls"]
    print(
        f"hub while connected: {connected['watchers']} watcher(s), {connected['subscribers']} subscribers; "
        f"{polls} polls in {wall_follow:.1f} s of following ({polls / wall_follow:.2f}/s; "
        f"{done['poll_errors']} poll errors, {unreadable_stream} progress reads refused); "
        f"after: {done['watchers']} watchers, {done['subscribers']} subscribers"
    )
    print(
        f"API process CPU: {cpu_follow:.2f} s while following ({100 * cpu_follow / wall_follow:.1f}% of a core "
        f"over {wall_follow:.1f} s), {cpu_total:.2f} s for the whole run (enqueue, connects, following"
        f"{', polling comparison' if polling else ''})"
    )
    if polling:
        wall, cpu, requests = polling
        print(
            f"comparison, {args.subscribers} clients polling GET /pipeline/status every 0.5 s: "
            f"{len(requests)} requests in {wall:.1f} s, API CPU {cpu:.2f} s ({100 * cpu / wall:.1f}% of a core); "
            f"{unreadable_polling} progress reads refused by Temporal (status fell back to the ledger)"
        )
        print(f"  its request latency          {_ms(requests)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--videos", type=int, default=1)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--compare-polling", action="store_true")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
    run_in_scratch_dir(bench, args, "ytempire-bench-stream-")


if __name__ == "__main__":
    main()
