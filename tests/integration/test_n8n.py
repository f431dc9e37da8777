"""n8n drives the real stack: its webhook queues a video over HTTP, its Wait node resumes on our signed completion
callback, and our signed cost alerts pass its signature check and are forwarded; the hourly analytics flow reads
/pipeline/metrics. n8n 1.123.81 itself, installed once into ~/.cache (devstack/n8n.py), on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import sqlite3
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from temporalio.testing import WorkflowEnvironment

from core.domain import workflow_id
from core.settings import Settings
from devstack.n8n import CALLERS_HEADER, N8nInstall, N8nServer, free_port, start_n8n
from ledger import Ledger
from ledger.rollups import bucket_start
from providers.webhooks import build_request
from tests.api.test_stream import serving
from tests.integration.conftest import running_workers

# A cold install (Node 22 + npm install n8n) takes about 3 minutes; warm, the test takes about a minute.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

VIDEO_FLOW, ANALYTICS_FLOW = "ytempireVideoFlw", "ytempireAnalytic"
# $2.85 crosses the $2.50 warning and the $2.80 critical; media's $0.20 more would cross the $3.00 cap: a halt.
PRICES = {"script_generation": 2.6, "audio_synthesis": 0.25, "media_collection": 0.2}
HOUR = timedelta(hours=1)


@dataclass
class Inbox:
    """What n8n POSTs out (finished videos, forwarded alerts, analytics reports), by path."""

    port: int = 0
    posts: dict[str, list[tuple[dict[str, str], Any]]] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    async def receive(self, request: Request) -> JSONResponse:
        self.posts.setdefault(request.path_params["name"], []).append(
            (dict(request.headers), json.loads(await request.body()))
        )
        return JSONResponse({"ok": True})

    async def wait_for(self, name: str, count: int, timeout: float) -> list[tuple[dict[str, str], Any]]:
        deadline = time.monotonic() + timeout
        while len(self.posts.get(name, [])) < count:
            assert time.monotonic() < deadline, f"{name}: {self.posts.get(name)} after {timeout} s"
            await asyncio.sleep(0.2)
        return self.posts[name]


@asynccontextmanager
async def inbox() -> AsyncIterator[Inbox]:
    box = Inbox()
    app = Starlette(routes=[Route("/{name}", box.receive, methods=["POST"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    box.port = sock.getsockname()[1]
    sock.listen()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield box
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture(scope="session")
def n8n_install() -> N8nInstall:
    started = time.monotonic()
    install = N8nInstall().ensure(say=print)
    print(f"n8n install ready in {time.monotonic() - started:.1f} s ({install.home})")
    return install


@pytest.fixture
def n8n_folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="ytempire-n8n-") as folder:
        yield Path(folder)


def executions(server: N8nServer, workflow: str) -> list[dict[str, Any]]:
    """n8n's own record of a workflow's executions (its SQLite database, read-only beside the running server)."""
    with sqlite3.connect(f"file:{server.database}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute(
            "SELECT e.id, e.status, e.finished, e.waitTill, d.data FROM execution_entity e "
            "JOIN execution_data d ON d.executionId = e.id WHERE e.workflowId = ? ORDER BY e.id",
            (workflow,),
        ).fetchall()
    return [dict(row) for row in rows]


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"not seen within {timeout} s: {what}"
        await asyncio.sleep(0.2)


async def test_n8n_queues_a_video_waits_for_its_callback_and_forwards_cost_alerts(
    n8n_install: N8nInstall, n8n_folder: Path, dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    secret, api_key, n8n_port = secrets.token_urlsafe(32), secrets.token_urlsafe(24), free_port()
    callers_key = secrets.token_urlsafe(24)  # what callers of n8n's video webhook must send
    stack = settings.model_copy(
        update={
            "api_key": SecretStr(api_key),
            "alert_webhook_secret": SecretStr(secret),
            "alert_webhook_url": f"http://127.0.0.1:{n8n_port}/webhook/ytempire/cost-alert",
            "stage_price_overrides": PRICES,
            "outbound_allowed": [f"127.0.0.1:{n8n_port}"],  # n8n's Wait-node resume URLs, as make up allows them
        }
    )
    async with inbox() as box, serving(stack) as api:
        started = time.monotonic()
        n8n = await asyncio.to_thread(
            start_n8n,
            n8n_folder,
            api_key=api_key,
            callers_key=callers_key,
            port=n8n_port,
            workflow_env={
                "YTEMPIRE_API_URL": str(api.http.base_url),
                "YTEMPIRE_ALERT_WEBHOOK_SECRET": secret,
                "YTEMPIRE_CALLBACK_SIGNING_SECRET": stack.callback_secret or "",
                "YTEMPIRE_N8N_VIDEO_DONE_URL": box.url("video-done"),
                "YTEMPIRE_N8N_ALERT_FORWARD_URL": box.url("alerts"),
                "YTEMPIRE_N8N_ANALYTICS_URL": box.url("analytics"),
            },
        )
        print(f"n8n imported, started and serving webhooks in {time.monotonic() - started:.1f} s")
        try:
            async with running_workers(dev_env, stack, ledger), httpx.AsyncClient(timeout=60) as http:
                await check_flows(n8n, http, api.http, api_key, callers_key, box, dev_env, ledger, secret, stack)
        finally:
            await asyncio.to_thread(n8n.stop)


async def check_flows(
    n8n: N8nServer,
    http: httpx.AsyncClient,
    api: httpx.AsyncClient,
    api_key: str,
    callers_key: str,
    box: Inbox,
    dev_env: WorkflowEnvironment,
    ledger: Ledger,
    alert_secret: str,
    stack: Settings,
) -> None:
    # A forged alert is refused by the cost flow's signature check and goes nowhere; so is one signed with the alert
    # secret for another URL (the signature covers the URL it was sent to).
    alert_url = n8n.webhook_url("ytempire/cost-alert")
    for event_id, secret, url in (
        ("forged", "not-the-secret", alert_url),
        ("misdirected", alert_secret, n8n.webhook_url("ytempire/other-flow")),
    ):
        body, headers = build_request(
            {"id": event_id, "kind": "cost_critical", "payload": {"level": "critical"}},
            url=url,
            event_id=event_id,
            kind="cost_critical",
            secret=secret,
            timestamp=int(time.time()),
        )
        refused = await http.post(alert_url, content=body, headers=headers)
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_signature", refused.text
    assert "signed for another URL" in refused.json()["message"]

    # The video webhook spends money through our API key: a caller without n8n's webhook key is refused.
    caller = {CALLERS_HEADER: callers_key}
    for wrong in ({}, {CALLERS_HEADER: callers_key + "x"}):
        unauthenticated = await http.post(
            n8n.webhook_url("ytempire/video"), json={"topic": "free money"}, headers=wrong
        )
        assert unauthenticated.status_code == 403, unauthenticated.text

    # Our API's refusal reaches n8n's caller as it was: status and field errors.
    invalid = await http.post(n8n.webhook_url("ytempire/video"), json={"topic": "no channel"}, headers=caller)
    assert invalid.status_code == 422, invalid.text
    assert {tuple(e["loc"]) for e in invalid.json()["detail"]} >= {("body", "channel_id"), ("body", "user_id")}

    # (a) n8n's webhook queues the video through our API (with the API key) and answers at once.
    request = {
        "topic": "n8n octopus",
        "channel_id": str(uuid.uuid4()),
        "user_id": str(uuid.uuid4()),
        "priority": 7,
        "complexity": "simple",
        "duration_seconds": 30,
    }
    key = {"Idempotency-Key": f"n8n-test-{uuid.uuid4()}", **caller}
    queued = await http.post(n8n.webhook_url("ytempire/video"), json=request, headers=key)
    assert queued.status_code == 201, queued.text
    answer = queued.json()
    video_id, execution_id = answer["video_id"], str(answer["n8n_execution_id"])
    assert answer["workflow_id"] == workflow_id(video_id) and answer["eta"] > 0 and answer["position"] >= 0
    row = await ledger.get_video(video_id)
    assert row is not None and row.request_data["topic"] == "n8n octopus"
    assert row.request_data["callback_url"].startswith(f"{n8n.url}/webhook-waiting/{execution_id}")
    description = await dev_env.client.get_workflow_handle(workflow_id(video_id)).describe()
    assert description.id == f"video-{video_id}"
    # The same key again: the same video (200), and that execution ends without waiting.
    repeat = await http.post(n8n.webhook_url("ytempire/video"), json=request, headers=key)
    assert repeat.status_code == 200 and repeat.json()["video_id"] == video_id

    # (b) The first execution waits on its Wait node until our callbacks resume it.
    def execution() -> dict[str, Any]:
        found = [e for e in executions(n8n, VIDEO_FLOW) if str(e["id"]) == execution_id]
        return found[0] if found else {"status": None, "data": ""}

    await until(lambda: execution()["status"] == "waiting", 30, "the execution waiting for the callback")
    # The video halts at its cap: the `halted` callback resumes the execution, which goes back to waiting
    # (`Verify callback` has run: its output is in the saved run data of the waiting execution).
    key_header = {"X-API-Key": api_key}
    await until(
        lambda: execution()["status"] == "waiting" and "Verify callback" in execution()["data"],
        120,
        "the halted callback resuming the execution and the flow waiting again",
    )
    halted = (await api.get(f"/pipeline/status/{video_id}", headers=key_header)).json()
    assert halted["status"] == "halted", halted
    # Every caller's callbacks share one secret: a `completed` callback signed for another execution's resume URL,
    # replayed to this one, resumes it, is found not to be its own and the execution waits again.
    body, headers = build_request(
        {"id": "replayed", "kind": "video_completed", "payload": {"video_id": video_id, "status": "completed"}},
        url=f"{n8n.url}/webhook-waiting/{int(execution_id) + 1000}",
        event_id="replayed",
        kind="video_completed",
        secret=stack.callback_secret,
        timestamp=int(time.time()),
    )
    replayed = await http.post(row.request_data["callback_url"], content=body, headers=headers)
    assert replayed.status_code == 200, replayed.text
    await until(
        lambda: execution()["status"] == "waiting" and "not this execution's resume URL" in execution()["data"],
        60,
        "the replayed callback refused and the flow waiting again",
    )
    approved = await api.post(
        f"/pipeline/approve/{video_id}",
        json={"new_cap_usd": 4.0, "approved_by": "n8n test", "reason": "finish it"},
        headers=key_header,
    )
    assert approved.status_code == 200, approved.text
    [(done_headers, done)] = await box.wait_for("video-done", 1, timeout=240)
    assert done["video_id"] == video_id and done["status"] == "completed"
    assert str(done["n8n_execution_id"]) == execution_id and done["signature_verified"] is True
    assert done["mp4_path"].endswith(".mp4") and Path(done["mp4_path"]).exists()
    assert done["error_type"] is None and done["cost_usd"] >= 3.05
    assert done_headers["idempotency-key"] == done["event_id"]
    await until(lambda: execution()["status"] == "success", 30, "the resumed execution finishing")
    [resumed] = [e for e in executions(n8n, VIDEO_FLOW) if str(e["id"]) == execution_id]
    assert resumed["finished"] == 1 and resumed["waitTill"] is None
    assert "Wait for the video" in resumed["data"] and "Record outcome" in resumed["data"]
    others = [e for e in executions(n8n, VIDEO_FLOW) if str(e["id"]) != execution_id]
    assert [e["status"] for e in others] == ["success", "success"], "the refused and the repeated requests ended"

    # (c) The video's cost alerts reached the cost flow signed, passed its check and were forwarded.
    alerts = await box.wait_for("alerts", 3, timeout=60)
    forwarded = sorted((a for _, a in alerts), key=lambda a: a["kind"])
    assert [a["kind"] for a in forwarded] == ["cost_critical", "cost_halt", "cost_warning"]
    assert all(a["video_id"] == video_id and a["signature_verified"] is True for a in forwarded)
    critical, halt, warning = forwarded
    assert critical["spent_usd"] >= critical["threshold_usd"] and warning["spent_usd"] >= warning["threshold_usd"]
    assert halt["level"] == "critical" and halt["cap_usd"] == 3.0 and "would cross the cap" in halt["text"]
    assert "critical cost alert" in critical["text"]
    assert all(h["idempotency-key"] == a["event_id"] for h, a in alerts)
    assert "forged" not in json.dumps(alerts) and "misdirected" not in json.dumps(alerts)

    # The hourly analytics flow, run once now: /pipeline/metrics and the last 24 h of /analytics/channels (with the
    # API key), aggregated and sent on; the hourly rollup has just run, as its Schedule would.
    now = datetime.now(UTC)
    await ledger.roll_up("hour", bucket_start(now - timedelta(hours=24), "hour"), bucket_start(now, "hour") + HOUR)
    await asyncio.to_thread(n8n.cli, "execute", f"--id={ANALYTICS_FLOW}")
    [(_, report)] = await box.wait_for("analytics", 1, timeout=30)
    assert report["report"] == "pipeline_hourly" and report["completed"] >= 1
    assert report["videos_by_status"]["completed"] >= 1 and "completed" in report["text"]
    [channel] = [c for c in report["channels"] if c["channel_id"] == request["channel_id"]]
    cost = await ledger.spent_usd(video_id)
    assert abs(channel["cost_usd"] - cost) < 0.01 and abs(channel["margin_usd"] + cost) < 0.01  # no revenue yet
    assert channel["videos_completed"] == 1 and report["channels_losing_money"] >= 1 and "margin $" in report["text"]
