"""/mcp through the `mcp` client library, against the API on a real uvicorn port with the real PostgreSQL and
Temporal: the tools and their schemas are the API's, their answers and errors are the API's, and so are the
credentials, roles and rate limits."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import jsonschema
import pytest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from api.auth import API_KEY_HEADER
from api.mcp.tools import TOOL_ROUTES
from api.routes import pipeline
from api.schemas import ApproveRequest, BatchEnqueueRequest, EnqueueRequest
from core.domain import workflow_id
from core.principals import Role
from core.settings import Settings
from ledger import Ledger
from tests.api.test_stream import Served, serving
from tests.integration import conftest as integration
from tests.integration.conftest import running_workers
from tests.mcp.conftest import api_key, mcp_session, payload

settings = integration.settings  # the real-stack Settings fixture: tmp data dir, the dev server, fresh task queues

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def video_request(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "topic": "octopus hearts",
        "channel_id": str(uuid.uuid4()),
        "user_id": str(uuid.uuid4()),
        "duration_seconds": 30,
    }
    return body | changes


def without_nulls(node: Any) -> Any:
    """A schema as FastAPI's OpenAPI document writes it: its serializer leaves out null values (`default: null`)."""
    if isinstance(node, dict):
        return {key: without_nulls(value) for key, value in node.items() if value is not None}
    if isinstance(node, list):
        return [without_nulls(item) for item in node]
    return node


def base_url(api: Served) -> str:
    return str(api.http.base_url).rstrip("/")


async def end_video(dev_env: WorkflowEnvironment, ledger: Ledger, video_id: str) -> None:
    """Leave the shared queue as found: a video a test enqueued ends, cancelled, whatever the test did."""
    row = await ledger.get_video(video_id)
    if row is None or row.status in ("completed", "failed", "cancelled"):
        return
    try:
        await dev_env.client.get_workflow_handle(workflow_id(video_id)).terminate("test: end the video")
    except RPCError:
        pass  # closed already
    await ledger.finalize(video_id, "cancelled")


async def test_the_tools_are_the_table_with_the_routes_own_schemas(settings: Settings) -> None:
    async with serving(settings) as api, mcp_session(base_url(api), api.auth) as session:
        listed = (await session.list_tools()).tools
    tools = {tool.name: tool for tool in listed}
    assert [tool.name for tool in listed] == [route.name for route in TOOL_ROUTES]

    enqueue = tools["enqueue_video"].input_schema
    model = EnqueueRequest.model_json_schema()
    assert {k: v for k, v in enqueue["properties"].items() if k != "idempotency_key"} == without_nulls(
        model["properties"]
    )
    assert enqueue["properties"]["idempotency_key"]["anyOf"][0] == {"type": "string", "maxLength": 200}
    assert enqueue["required"] == model["required"] and enqueue["additionalProperties"] is False

    batch = tools["enqueue_batch"].input_schema
    batch_model = BatchEnqueueRequest.model_json_schema()  # its videos refer to #/$defs/EnqueueRequest
    assert batch["properties"]["videos"] == without_nulls(batch_model["properties"]["videos"])
    assert batch["$defs"] == without_nulls(batch_model["$defs"])

    approve = tools["approve_budget"].input_schema
    assert {k: v for k, v in approve["properties"].items() if k != "video_id"} == without_nulls(
        ApproveRequest.model_json_schema()["properties"]
    )
    assert approve["required"] == ["video_id", *ApproveRequest.model_json_schema()["required"]]
    assert approve["properties"]["video_id"]["format"] == "uuid"
    assert "format" not in tools["cost_report"].input_schema["properties"]
    docstring = " ".join((pipeline.enqueue_video.__doc__ or "").split())
    assert tools["enqueue_video"].description == f"POST /pipeline/queue: {docstring}"
    assert tools["list_videos"].annotations and tools["list_videos"].annotations.read_only_hint

    for tool in listed:
        jsonschema.Draft202012Validator.check_schema(tool.input_schema)
    valid = jsonschema.Draft202012Validator(enqueue)
    valid.validate(video_request(priority=10, idempotency_key="k"))
    for wrong in (video_request(priority=11), video_request(colour="red"), {"topic": "octopus hearts"}):
        with pytest.raises(jsonschema.ValidationError):
            valid.validate(wrong)
    in_batch = jsonschema.Draft202012Validator(batch)
    in_batch.validate({"videos": [video_request()]})
    with pytest.raises(jsonschema.ValidationError):
        in_batch.validate({"videos": [video_request(duration_seconds=5)]})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"limit": 500}, tools["list_videos"].input_schema)
    jsonschema.validate({"limit": 5, "status": ["failed", "halted"]}, tools["list_videos"].input_schema)


async def test_a_video_enqueued_is_seen_then_cancelled(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    request = video_request(idempotency_key=f"mcp-{uuid.uuid4()}")
    video_id = ""
    async with running_workers(dev_env, settings, ledger), serving(settings) as api:
        async with mcp_session(base_url(api), api.auth) as session:
            try:
                queued = await session.call_tool("enqueue_video", request)
                assert not queued.is_error, payload(queued)
                video_id = queued.structured_content["video_id"]
                assert payload(queued) == queued.structured_content
                assert queued.structured_content["workflow_id"] == workflow_id(video_id)
                again = await session.call_tool("enqueue_video", request)  # the same idempotency key
                assert again.structured_content["video_id"] == video_id

                status = await session.call_tool("video_status", {"video_id": video_id})
                assert status.structured_content["video_id"] == video_id
                assert status.structured_content["status"] in ("queued", "processing")
                listed = await session.call_tool(
                    "list_videos", {"channel_id": request["channel_id"], "status": ["queued", "processing"]}
                )
                assert [v["video_id"] for v in listed.structured_content["videos"]] == [video_id]
                assert (await api.http.get(f"/pipeline/status/{video_id}")).json()["video_id"] == video_id

                cancelled = await session.call_tool("cancel_video", {"video_id": video_id})
                assert cancelled.structured_content == {"video_id": video_id, "status": "cancelling"}
                deadline = time.monotonic() + 90
                while (row := await ledger.get_video(video_id)) is not None and row.status != "cancelled":
                    assert time.monotonic() < deadline, f"the video is still {row.status}"
                    await asyncio.sleep(0.2)
                status = await session.call_tool("video_status", {"video_id": video_id})
                assert status.structured_content["status"] == "cancelled"

                # Not failed: the API refuses the retry, and the tool says what the API said.
                retried = await session.call_tool("retry_video", {"video_id": video_id})
                direct = await api.http.post(f"/pipeline/retry/{video_id}")
                assert retried.is_error and direct.status_code == 409
                assert payload(retried) == {"status": 409, **direct.json()}
                again = await session.call_tool("cancel_video", {"video_id": video_id})
                assert again.is_error and payload(again)["status"] == 409
            finally:
                if video_id:
                    await end_video(dev_env, ledger, video_id)


async def test_errors_are_the_apis_own(settings: Settings) -> None:
    async with serving(settings) as api, mcp_session(base_url(api), api.auth) as session:
        refused = await session.call_tool("enqueue_video", video_request(priority=11))
        direct = await api.http.post("/pipeline/queue", json=video_request(priority=11))
        assert refused.is_error and direct.status_code == 422
        error = payload(refused)
        assert error == {"status": 422, **direct.json()}
        assert [d["loc"] for d in error["detail"]] == [["body", "priority"]]

        extra = payload(await session.call_tool("enqueue_video", video_request(colour="red")))
        assert [(d["loc"], d["type"]) for d in extra["detail"]] == [(["body", "colour"], "extra_forbidden")]
        malformed = payload(await session.call_tool("video_status", {"video_id": "not-a-uuid"}))
        assert malformed["status"] == 422 and malformed["detail"][0]["loc"] == ["path", "video_id"]
        missing_id = str(uuid.uuid4())
        missing = payload(await session.call_tool("video_status", {"video_id": missing_id}))
        assert missing == {"status": 404, "detail": f"no video with id {missing_id}"}
        no_id = await session.call_tool("video_status", {})
        assert no_id.is_error and payload(no_id) == {"detail": "video_status needs video_id"}

        metrics = await session.call_tool("queue_metrics", {"window_hours": 2})
        assert not metrics.is_error and metrics.structured_content["window_hours"] == 2.0
        assert metrics.structured_content.keys() == (await api.http.get("/pipeline/metrics")).json().keys()
        costs = await session.call_tool("cost_report", {"group_by": "service"})
        assert not costs.is_error and costs.structured_content["group_by"] == "service"
        channels = await session.call_tool("channel_performance", {"granularity": "day"})
        assert isinstance(channels.structured_content["channels"], list)
        naive = payload(await session.call_tool("ranked_videos", {"since": "2026-01-01T00:00:00"}))
        assert naive["status"] == 422 and naive["detail"][0]["loc"] == ["query", "since"]


async def test_credentials_and_roles_are_the_apis(settings: Settings, ledger: Ledger) -> None:
    viewer = await api_key(ledger, Role.VIEWER, "mcp-viewer")
    async with serving(settings) as api:
        async with mcp_session(base_url(api), {"Authorization": f"Bearer {viewer}"}) as session:
            refused = await session.call_tool("enqueue_video", video_request())
            direct = await api.http.post("/pipeline/queue", json=video_request(), headers={API_KEY_HEADER: viewer})
            assert refused.is_error and direct.status_code == 403
            assert payload(refused) == {"status": 403, **direct.json()}
            assert "has the role viewer; this needs operator" in payload(refused)["detail"]
            read = await session.call_tool("list_videos", {"limit": 1})
            assert not read.is_error and "videos" in read.structured_content

        # No session without a credential: the API's 401, the same as any route's, before MCP reads a message.
        async with httpx.AsyncClient(base_url=base_url(api)) as anonymous:
            unsigned = await anonymous.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS)
            route = await anonymous.get("/pipeline/videos")
            wrong = await anonymous.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS | {API_KEY_HEADER: "ytk_x_y"})
            wrong_route = await anonymous.get("/pipeline/videos", headers={API_KEY_HEADER: "ytk_x_y"})
            signed = await anonymous.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS | api.auth)
            # Stateless: tools/list needs no initialize first; no stream to GET, no session to DELETE.
            tools = await anonymous.post("/mcp", json=TOOLS_LIST, headers=MCP_HEADERS | api.auth)
            stream = await anonymous.get("/mcp", headers=MCP_HEADERS | api.auth)
            end = await anonymous.delete("/mcp", headers=MCP_HEADERS | api.auth)
        for refused_http, same_as in ((unsigned, route), (wrong, wrong_route)):
            assert refused_http.status_code == 401 and same_as.status_code == 401
            assert refused_http.json() == same_as.json()
            assert refused_http.headers["www-authenticate"] == "Bearer"
            assert "mcp-session-id" not in refused_http.headers
        assert signed.status_code == 200 and signed.json()["result"]["serverInfo"]["name"] == "ytempire-pipeline"
        assert "ratelimit-limit" in signed.headers
        assert "mcp-session-id" not in signed.headers
        assert len(tools.json()["result"]["tools"]) == len(TOOL_ROUTES)
        assert (stream.status_code, end.status_code) == (405, 405)


async def test_the_rate_limit_counts_tool_calls_like_any_request(settings: Settings, ledger: Ledger) -> None:
    limit = 3
    key = await api_key(ledger, Role.VIEWER, "mcp-limited", rate_per_minute=limit)
    if datetime.now(UTC).second > 40:  # the counts are per minute: all of this in one
        await asyncio.sleep(61 - datetime.now(UTC).second)
    async with serving(settings) as api, mcp_session(base_url(api), {API_KEY_HEADER: key}) as session:
        await session.list_tools()
        answers = [await session.call_tool("queue_metrics", {}) for _ in range(limit + 1)]
        direct = await api.http.get("/pipeline/metrics", headers={API_KEY_HEADER: key})
    assert [a.is_error for a in answers] == [False] * limit + [True]
    refused = payload(answers[-1])
    assert refused["status"] == 429 and f"more than {limit} requests this minute" in refused["detail"]
    assert isinstance(refused["retry_after"], int) and 1 <= refused["retry_after"] <= 60
    assert direct.status_code == 429  # the same count: MCP's calls used the key's minute


async def test_a_tool_call_is_audited_as_the_callers_request(settings: Settings) -> None:
    """Over the app's own ASGI (a caller at 203.0.113.9): the call's request is the caller's, address included."""
    video_id = str(uuid.uuid4())
    call = {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "cancel_video", "arguments": {"video_id": video_id}},
    }
    async with integration.api_client(settings, address="203.0.113.9") as api:
        answered = await api.post("/mcp", json=call, headers=MCP_HEADERS)
        me = (await api.get("/auth/me")).json()
        audit = (await api.get("/audit", params={"target": video_id})).json()["entries"]
    result = answered.json()["result"]
    assert result["isError"]
    assert result["structuredContent"] == {"status": 404, "detail": f"no video with id {video_id}"}
    assert [(e["action"], e["outcome"], e["client"], e["actor"]) for e in audit] == [
        ("POST /pipeline/cancel/{video_id}", 404, "203.0.113.9", f"{me['kind']}:{me['name']}")
    ]
