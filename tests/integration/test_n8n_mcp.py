"""n8n's MCP nodes against the API's /mcp on a real uvicorn, with n8n 1.123.81 itself (tests/integration/test_n8n.py's
install). The MCP Client node (one tool, no agent) runs in a workflow (`n8n execute`): it gets the API's real answer,
and the API's refusals reach the workflow as they were. The MCP Client Tool node's part for an AI Agent (listing the
tools, turning each into the agent's tool, calling one) runs as n8n's own functions, with no model to drive them."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from api.mcp.tools import TOOL_ROUTES
from core.principals import Role
from core.settings import Settings
from devstack.n8n import (
    API_KEY_CREDENTIAL_ID,
    API_KEY_CREDENTIAL_NAME,
    API_KEY_HEADER,
    N8nInstall,
    N8nServer,
    free_port,
)
from ledger import Ledger
from tests.admission import finished_video
from tests.api.test_stream import Served, serving
from tests.integration.test_n8n import n8n_folder, n8n_install  # noqa: F401 (fixtures)
from tests.mcp.conftest import api_key

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

WORKFLOW_ID = "ytempireMcpCalls"
AGENT_TOOLS = Path(__file__).with_name("n8n_agent_tools.js")
# (authentication, credential type, credential id): how an MCP node names its credential
HEADER = ("headerAuth", "httpHeaderAuth", API_KEY_CREDENTIAL_ID)  # the `YTEMPIRE API key` that `make n8n` imports
BEARER = ("bearerAuth", "httpBearerAuth", "ytempireMcpBearer")
VIEWER = ("headerAuth", "httpHeaderAuth", "ytempireMcpViewer")
WRONG = ("headerAuth", "httpHeaderAuth", "ytempireMcpWrong1")


def mcp_client_node(
    name: str, endpoint: str, tool: str, arguments: dict[str, Any], credential: tuple[str, str, str], **more: Any
) -> dict[str, Any]:
    """An MCP Client node as the editor saves it: the tool by name (Tool: By ID), its arguments as JSON."""
    authentication, credential_type, credential_id = credential
    return {
        "id": str(uuid.uuid4()),
        "name": name,
        "type": "@n8n/n8n-nodes-langchain.mcpClient",
        "typeVersion": 1,
        "parameters": {
            "serverTransport": "httpStreamable",
            "endpointUrl": endpoint,
            "authentication": authentication,
            "tool": {"__rl": True, "mode": "id", "value": tool},
            "inputMode": "json",
            "jsonInput": json.dumps(arguments),
            "options": {},
        },
        "credentials": {credential_type: {"id": credential_id, "name": credential_id}},
        **more,
    }


def workflow(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """A Manual Trigger (where `n8n execute` starts) feeding each node; they run top to bottom."""
    trigger = {"id": str(uuid.uuid4()), "name": "Run", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1}
    placed = [{**node, "position": [300, 200 * row]} for row, node in enumerate(nodes)]
    return {
        "id": WORKFLOW_ID,
        "name": "YTEMPIRE over MCP (test)",
        "active": False,
        "nodes": [{**trigger, "parameters": {}, "position": [0, 0]}, *placed],
        "connections": {"Run": {"main": [[{"node": node["name"], "type": "main", "index": 0} for node in nodes]]}},
        "settings": {"executionOrder": "v1"},
    }


def execute(server: N8nServer, flow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Import `flow`, run it with `n8n execute` and give each node's run as n8n records it (output, status, error)."""
    path = server.user_folder / "workflow.json"
    path.write_text(json.dumps(flow))
    server.cli("import:workflow", f"--input={path}")
    out = server.cli("execute", f"--id={flow['id']}", "--rawOutput")
    start = re.search(r"^\{$", out, re.MULTILINE)  # the run's JSON, after n8n's own log lines
    assert start is not None, out
    run = json.loads(out[start.start() :])
    assert run["status"] == "success", run
    return {name: runs[0] for name, runs in run["data"]["resultData"]["runData"].items()}


def output(node_run: dict[str, Any]) -> list[dict[str, Any]]:
    return [item["json"] for item in node_run["data"]["main"][0]]


async def metrics(api: Served, channel: str) -> dict[str, Any]:
    """GET /pipeline/metrics for `channel` directly, less the moment it was made."""
    response = await api.http.get("/pipeline/metrics", params={"channel_id": channel, "window_hours": 2})
    assert response.status_code == 200, response.text
    return {key: value for key, value in response.json().items() if key != "generated_at"}


def endpoint_of(api: Served) -> str:
    return f"{str(api.http.base_url).rstrip('/')}/mcp"


async def test_the_mcp_client_node_calls_a_tool_and_shows_the_apis_refusals(
    n8n_install: N8nInstall,  # noqa: F811 - the imported fixture, by name
    n8n_folder: Path,  # noqa: F811
    settings: Settings,
    ledger: Ledger,
) -> None:
    channel, unknown = str(uuid.uuid4()), str(uuid.uuid4())
    for _ in range(2):
        await finished_video(ledger, "n8n over mcp", channel_id=channel)
    server = N8nServer(n8n_install, n8n_folder, free_port())
    (n8n_folder / "tmp").mkdir()
    async with serving(settings) as api:
        viewer_key = await api_key(ledger, Role.VIEWER, "n8n-viewer")
        credentials = [
            (HEADER, API_KEY_CREDENTIAL_NAME, {"name": API_KEY_HEADER, "value": api.auth[API_KEY_HEADER]}),
            (BEARER, BEARER[2], {"token": await api_key(ledger, Role.OPERATOR, "n8n-bearer")}),
            (VIEWER, VIEWER[2], {"name": "Authorization", "value": f"Bearer {viewer_key}"}),
            (WRONG, WRONG[2], {"name": API_KEY_HEADER, "value": "ytk_not-a-key"}),
        ]
        server.import_credential_list(
            [{"id": c[2], "name": name, "type": c[1], "data": data} for c, name, data in credentials]
        )
        endpoint = endpoint_of(api)
        flow = workflow(
            [
                # First: n8n calls a run failed when its last node failed, even a node set to continue.
                mcp_client_node("Wrong key", endpoint, "queue_metrics", {}, WRONG, onError="continueRegularOutput"),
                mcp_client_node("No such tool", endpoint, "render_video", {}, HEADER, onError="continueRegularOutput"),
                mcp_client_node(
                    "Metrics", endpoint, "queue_metrics", {"channel_id": channel, "window_hours": 2}, HEADER
                ),
                mcp_client_node("Unknown video", endpoint, "video_status", {"video_id": unknown}, BEARER),
                mcp_client_node(
                    "Viewer queues",
                    endpoint,
                    "enqueue_video",
                    {"topic": "n8n over mcp", "channel_id": channel, "user_id": str(uuid.uuid4())},
                    VIEWER,
                ),
            ]
        )
        runs = await asyncio.to_thread(execute, server, flow)
        direct = await metrics(api, channel)

    # The tool's answer is the API's: the node gives the text content, parsed as JSON (no structuredContent).
    [answer] = output(runs["Metrics"])
    [content] = answer["content"]
    assert content["type"] == "text" and content["text"].pop("generated_at")
    assert content["text"] == direct and direct["videos_by_status"] == {"completed": 2}
    # A refusal is a tool result too: the node succeeds and its output is the API's status and error body. The MCP
    # Client node does not read `isError`: a workflow branches on `content[0].text.detail` (docs/mcp.md).
    assert runs["Unknown video"]["executionStatus"] == "success"
    assert output(runs["Unknown video"]) == [
        {"content": [{"type": "text", "text": {"status": 404, "detail": f"no video with id {unknown}"}}]}
    ]
    assert runs["Viewer queues"]["executionStatus"] == "success"
    [[refused]] = [item["content"] for item in output(runs["Viewer queues"])]
    assert refused["text"]["status"] == 403
    assert re.fullmatch(r"api_key:n8n-viewer-\S+ has the role viewer; this needs operator", refused["text"]["detail"])
    assert direct["queue_depth"] == 0, "the viewer's video was not queued"
    # A credential the API refuses (its 401, before any MCP message) fails the node while it connects.
    assert runs["Wrong key"]["executionStatus"] == "error"
    assert runs["Wrong key"]["error"]["message"] == "Could not connect to your MCP server. Authentication failed."
    assert output(runs["Wrong key"]) == [{}], "set to continue, it passes on the item it received"
    # So does a tool we do not have (a JSON-RPC error); set to continue, the node gives an item saying so.
    assert output(runs["No such tool"]) == [{"error": {"message": "MCP error -32602: no tool named 'render_video'"}}]


async def test_the_mcp_client_tool_node_gives_an_agent_every_tool_and_the_apis_refusals(
    n8n_install: N8nInstall,  # noqa: F811
    settings: Settings,
    ledger: Ledger,
) -> None:
    channel, unknown = str(uuid.uuid4()), str(uuid.uuid4())
    await finished_video(ledger, "n8n agent over mcp", channel_id=channel)
    calls = {
        "queue_metrics": {"channel_id": channel, "window_hours": 2},
        "video_status": {"video_id": unknown},
        "enqueue_video": {"topic": "n8n", "channel_id": channel, "user_id": str(uuid.uuid4()), "priority": 11},
    }
    async with serving(settings) as api:
        command = [
            str(n8n_install.node),
            str(AGENT_TOOLS),
            str(n8n_install.app_dir / "node_modules" / "@n8n" / "n8n-nodes-langchain" / "dist"),
            endpoint_of(api),
            json.dumps(calls),
        ]
        env = {**n8n_install.env(), "MCP_KEY": api.auth[API_KEY_HEADER]}
        done = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        direct = await metrics(api, channel)
    seen = json.loads(done.stdout)

    # Every tool becomes one of the agent's tools, with the route's arguments as its fields.
    assert [tool["name"] for tool in seen["tools"]] == [route.name for route in TOOL_ROUTES]
    fields = {tool["name"]: set(tool["fields"]) for tool in seen["tools"]}
    assert fields["approve_budget"] == {"video_id", "new_cap_usd", "approved_by", "reason"}
    assert {"idempotency_key", "topic", "channel_id", "user_id", "priority"} <= fields["enqueue_video"]
    # The agent gets the API's answer as the tool's text, and a refusal as the tool's output too (its text, the
    # status and the API's error body), which n8n also records as the tool node's error.
    [content] = seen["results"]["queue_metrics"]["answer"]
    answer = json.loads(content["text"])
    assert answer.pop("generated_at") and answer == direct and direct["videos_by_status"] == {"completed": 1}
    refusal = seen["results"]["video_status"]["answer"]
    assert json.loads(refusal) == {"status": 404, "detail": f"no video with id {unknown}"}
    assert seen["errors"] == [refusal]
    # Arguments outside the tool's schema are refused by n8n before any request (the API's 422 is for what the
    # schema cannot say).
    thrown = seen["results"]["enqueue_video"]["thrown"]
    assert thrown.startswith("Received tool input did not match expected schema") and "priority" in thrown
