"""WS /pipeline/stream/{id} through a real uvicorn server: a real video followed to the end, close codes, fan-out."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import uvicorn
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from api.main import create_app
from api.stream import StatusHub, StreamMessage, Subscription
from core.domain import workflow_id
from core.settings import Settings
from core.stage_table import STAGES
from devstack.demo import follow as demo_follow
from ledger import Ledger
from tests.conftest import free_port
from tests.integration import conftest as integration
from tests.integration.conftest import admin_headers, running_workers

settings = integration.settings  # the real-stack Settings fixture: tmp data dir, the dev server, fresh task queues


@dataclass
class Served:
    app: FastAPI
    http: httpx.AsyncClient
    ws_base: str
    auth: dict[str, str]  # the local admin key's header, for the WebSocket handshakes

    @property
    def hub(self) -> StatusHub:
        return self.app.state.stream  # type: ignore[no-any-return]


@asynccontextmanager
async def serving(settings: Settings, port: int | None = None) -> AsyncIterator[Served]:
    """The real app under a real uvicorn server on 127.0.0.1 (on `port`, or a free one), run in this event loop."""
    app = create_app(settings)
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            assert not task.done(), "uvicorn stopped while starting"
            await asyncio.sleep(0.02)
        auth = admin_headers(settings)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=auth) as http:
            yield Served(app, http, f"ws://127.0.0.1:{port}/pipeline/stream", auth)
    finally:
        server.should_exit = True
        await task


async def enqueue(http: httpx.AsyncClient) -> str:
    body = {
        "topic": "octopus hearts",
        "channel_id": str(uuid.uuid4()),
        "user_id": str(uuid.uuid4()),
        "complexity": "simple",
        "duration_seconds": 30,
    }
    response = await http.post("/pipeline/queue", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["video_id"])


async def follow(ws: ClientConnection) -> list[dict[str, Any]]:
    """Every message until the server closes the connection (with 1000 or 1001, else ConnectionClosedError)."""
    return [json.loads(message) async for message in ws]


async def wait_until(predicate: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_a_real_video_is_followed_from_queued_to_completed(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    async with running_workers(dev_env, settings, ledger), serving(settings) as api:
        video_id = await enqueue(api.http)
        async with connect(f"{api.ws_base}/{video_id}", additional_headers=api.auth) as ws:
            messages = await asyncio.wait_for(follow(ws), timeout=180)
        assert (ws.close_code, ws.close_reason) == (1000, "final")
        await wait_until(lambda: api.hub.watchers == 0)
        row = await ledger.get_video(video_id)
        assert row is not None
        status = await api.http.get(f"/pipeline/status/{video_id}")
        listed = await api.http.get("/pipeline/videos", params={"channel_id": row.channel_id})
        # What `make demo` does with the answer: the MP4's path relative to the data dir, joined locally.
        demo = await asyncio.to_thread(demo_follow, str(api.http.base_url), video_id, api.auth)

    assert messages[0]["status"] in ("queued", "processing") and messages[0]["final"] is False
    progress = [m["progress"] for m in messages]
    assert progress == sorted(progress), f"progress went backwards: {progress}"
    order = [s.name for s in STAGES]
    seen = [m["stage"] for m in messages if m["stage"] is not None]
    assert seen and [order.index(s) for s in seen] == sorted(order.index(s) for s in seen), seen
    assert all(a != b for a, b in zip(messages, messages[1:], strict=False)), "a message repeats the one before"
    last = messages[-1]
    assert last["status"] == "completed" and last["final"] is True and last["progress"] == 100.0
    assert last["outputs"] and last["outputs"]["mp4_path"] == f"outbox/{video_id}/video.mp4"
    assert status.json()["outputs"] == last["outputs"] and listed.json()["videos"][0]["video_id"] == video_id
    for answer in [*(json.dumps(m) for m in messages), status.text, listed.text]:
        assert str(settings.data_dir.resolve()) not in answer
    assert demo.status == "completed" and demo.mp4_path is not None
    assert (settings.data_dir / demo.mp4_path).stat().st_size > 0
    assert last["video_id"] == video_id and last["eta"] is None
    assert not any(m["final"] for m in messages[:-1])


async def test_unknown_and_malformed_ids_close_with_application_codes(settings: Settings) -> None:
    async with serving(settings) as api:
        missing = uuid.uuid4()
        async with connect(f"{api.ws_base}/{missing}", additional_headers=api.auth) as ws:
            try:
                await asyncio.wait_for(ws.recv(), timeout=10)
                raise AssertionError("an unknown id must get no message")
            except ConnectionClosed:
                pass
        assert (ws.close_code, ws.close_reason) == (4404, f"no video with id {missing}")
        async with connect(f"{api.ws_base}/not-a-uuid", additional_headers=api.auth) as ws:
            try:
                await asyncio.wait_for(ws.recv(), timeout=10)
                raise AssertionError("a malformed id must get no message")
            except ConnectionClosed:
                pass
        assert ws.close_code == 4422 and ws.close_reason is not None and "not-a-uuid" in ws.close_reason
        await wait_until(lambda: api.hub.watchers == 0)


async def test_many_subscribers_share_one_watcher(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger, pg_pool: asyncpg.Pool
) -> None:
    """60 subscribers on a video that stays queued (no workers): one watcher, one poll per tick, one final."""
    app_name = f"stream-test-{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(update={"database_url": f"{settings.database_url}?application_name={app_name}"})
    async with serving(settings) as api:
        hub = api.hub
        hub.interval = 0.2
        video_id = await enqueue(api.http)

        # Subscribers that leave stop the watcher, even though the video never changes.
        early = [await connect(f"{api.ws_base}/{video_id}", additional_headers=api.auth) for _ in range(3)]
        assert [json.loads(await ws.recv())["status"] for ws in early] == ["queued"] * 3
        assert hub.watchers == 1
        for ws in early:
            await ws.close()
        await wait_until(lambda: hub.watchers == 0 and hub.subscribers == 0)

        sockets = await asyncio.gather(
            *(connect(f"{api.ws_base}/{video_id}", additional_headers=api.auth) for _ in range(60))
        )
        firsts = await asyncio.gather(*(ws.recv() for ws in sockets))
        assert len(set(firsts)) == 1 and json.loads(firsts[0])["status"] == "queued"
        await wait_until(lambda: hub.subscribers == 60)
        assert hub.watchers == 1

        # A late subscriber gets the current state at once, from the watcher, without a poll of its own.
        polls = hub.polls
        started = time.monotonic()
        late = await connect(f"{api.ws_base}/{video_id}", additional_headers=api.auth)
        assert await late.recv() == firsts[0]
        waited = time.monotonic() - started
        assert waited < 1.0 and hub.polls - polls <= waited / hub.interval + 1
        sockets.append(late)

        # Polls grow with time, not with subscribers: about one per interval for all 61 together.
        polls, started = hub.polls, time.monotonic()
        await asyncio.sleep(1.0)
        ticks = (time.monotonic() - started) / hub.interval
        assert 1 <= hub.polls - polls <= ticks + 2, (hub.polls - polls, ticks)

        # A PostgreSQL hiccup (the poll's connection dropped mid-query) is survived: logged, retried next tick.
        errors = hub.poll_errors
        async with pg_pool.acquire() as locker, locker.transaction():
            await locker.execute("LOCK TABLE video_queue IN ACCESS EXCLUSIVE MODE")
            blocked = "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'"
            for _ in range(500):
                if pids := [r["pid"] for r in await pg_pool.fetch(blocked, app_name)]:
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("the watcher's poll never waited on the lock")
            await pg_pool.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", pids)
            await wait_until(lambda: hub.poll_errors > errors)
        polls = hub.polls
        await wait_until(lambda: hub.polls >= polls + 2)
        assert hub.watchers == 1 and hub.subscribers == 61

        # The video ends: every subscriber gets the same final message, then a normal close.
        await dev_env.client.get_workflow_handle(workflow_id(video_id)).terminate("test: end the queued video")
        await ledger.finalize(video_id, "cancelled")
        rests = await asyncio.wait_for(asyncio.gather(*(follow(ws) for ws in sockets)), timeout=30)
        assert all(rest == rests[0] for rest in rests) and len(rests[0]) == 1, rests[0]
        final = rests[0][0]
        assert final["status"] == "cancelled" and final["final"] is True and final["video_id"] == video_id
        assert {(ws.close_code, ws.close_reason) for ws in sockets} == {(1000, "final")}
        await wait_until(lambda: hub.watchers == 0 and hub.subscribers == 0)


async def test_shutting_the_api_down_closes_subscribers_and_stops_watchers(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    async with serving(settings) as api:
        video_id = await enqueue(api.http)  # no workers: it stays queued
        ws = await connect(f"{api.ws_base}/{video_id}", additional_headers=api.auth)
        assert json.loads(await ws.recv())["status"] == "queued"
        hub = api.hub
    assert hub.watchers == 0 and hub.subscribers == 0
    await asyncio.wait_for(ws.wait_closed(), timeout=10)
    assert ws.close_code == 1012  # uvicorn's "service restart": reconnect later
    await dev_env.client.get_workflow_handle(workflow_id(video_id)).terminate("test: end the queued video")
    await ledger.finalize(video_id, "cancelled")


async def test_a_slow_subscriber_gets_the_latest_state_and_always_the_final_one() -> None:
    subscription = Subscription(uuid.uuid4(), depth=4)
    states = [{"progress": float(p), "final": False} for p in range(20)] + [{"progress": 100.0, "final": True}]
    for state in states:  # the watcher never waits for a subscriber that does not read
        subscription.deliver(StreamMessage(state, json.dumps(state)))
    received = [message.payload async for message in subscription]
    assert received[-1] == states[-1] and len(received) <= 4
    assert [m["progress"] for m in received] == sorted(m["progress"] for m in received)
    assert subscription.dropped == len(states) - len(received)
