"""n8n's own MCP Client node (the one that calls one tool, no agent) against the API's /mcp on a real uvicorn, run by
n8n 1.123.81 itself (`n8n execute`): the tool answers with the API's real answer, and the API's refusals (404, 403,
a 401 before any tool) reach the workflow as they were."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

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
from tests.api.test_stream import serving
from tests.integration.test_n8n import n8n_folder, n8n_install  # noqa: F401 (fixtures)
from tests.mcp.conftest import api_key

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

WORKFLOW_ID = "ytempireMcpCalls"
MCP_CLIENT = "@n8n/n8n-nodes-langchain.mcpClient"
BEARER_ID, VIEWER_ID, WRONG_ID = "ytempireMcpBear1", "ytempireMcpView1", "ytempireMcpWrong"


def mcp_client_node(
    name: str, endpoint: str, tool: str, arguments: dict[str, Any], credential: tuple[str, str, str], **more: Any
) -> dict[str, Any]:
    """An MCP Client node as the editor saves it: one tool by name, its arguments as JSON; `credential` is
    (authentication, credential type, credential id)."""
    authentication, credential_type, credential_id = credential
    return {
        "id": str(uuid.uuid4()),
        "name": name,
        "type": MCP_CLIENT,
        "typeVersion": 1,
        "position": [300, 0],
        "parameters": {
            "serverTransport": "httpStreamable",
            "endpointUrl": endpoint,
            "authentication": authentication,
            "tool": {"__rl": True, "mode": "list", "value": tool},
            "inputMode": "json",
            "jsonInput": json.dumps(arguments),
            "options": {},
        },
        "credentials": {credential_type: {"id": credential_id, "name": credential_id}},
        **more,
    }


def workflow(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """A Manual Trigger (what `n8n execute` starts from) feeding each node."""
    trigger = {
        "id": str(uuid.uuid4()),
        "name": "Run",
        "type": "n8n-nodes-base.manualTrigger",
        "typeVersion": 1,
        "position": [0, 0],
        "parameters": {},
    }
    return {
        "id": WORKFLOW_ID,
        "name": "YTEMPIRE MCP calls (test)",
        "active": False,
        "nodes": [trigger, *nodes],
        "connections": {"Run": {"main": [[{"node": n["name"], "type": "main", "index": 0} for n in nodes]]}},
        "settings": {"executionOrder": "v1"},
    }


def run(server: N8nServer, flow: dict[str, Any]) -> dict[str, Any]:
    """Import `flow` and run it with `n8n execute`: the run's data, as n8n prints it."""
    path = server.user_folder / "workflow.json"
    path.write_text(json.dumps(flow))
    server.cli("import:workflow", f"--input={path}")
    import subprocess
    r = subprocess.run([str(server.install.node), str(server.install.n8n_js), "execute", f"--id={flow['id']}", "--rawOutput"], env={**server.env(), "N8N_LOG_LEVEL": "debug"}, cwd=server.user_folder, capture_output=True, text=True, timeout=300)
    Path("/tmp/n8n_out.txt").write_text(r.stdout + "\n=====STDERR\n" + r.stderr)
    out = r.stdout
    return json.loads(out[out.index("\n{") :])


async def test_the_mcp_client_node_calls_our_tools(
    n8n_install: N8nInstall,  # noqa: F811
    n8n_folder: Path,  # noqa: F811
    settings: Settings,
    ledger: Ledger,
) -> None:
    channel = str(uuid.uuid4())
    videos = [(await finished_video(ledger, "n8n mcp", channel_id=channel)).video_id for _ in range(2)]
    async with serving(settings) as api:
        endpoint = f"{str(api.http.base_url).rstrip('/')}/mcp"
        server = N8nServer(n8n_install, n8n_folder, free_port())
        (n8n_folder / "tmp").mkdir()
        server.import_credential_list(
            [
                {
                    "id": API_KEY_CREDENTIAL_ID,
                    "name": API_KEY_CREDENTIAL_NAME,
                    "type": "httpHeaderAuth",
                    "data": {"name": API_KEY_HEADER, "value": api.auth[API_KEY_HEADER]},
                },
                {
                    "id": BEARER_ID,
                    "name": BEARER_ID,
                    "type": "httpBearerAuth",
                    "data": {"token": await api_key(ledger, Role.OPERATOR, "n8n-bearer")},
                },
                {
                    "id": VIEWER_ID,
                    "name": VIEWER_ID,
                    "type": "httpHeaderAuth",
                    "data": {"name": "Authorization", "value": f"Bearer {await api_key(ledger, Role.VIEWER, 'n8n')}"},
                },
                {
                    "id": WRONG_ID,
                    "name": WRONG_ID,
                    "type": "httpHeaderAuth",
                    "data": {"name": API_KEY_HEADER, "value": "ytk_not-a-key"},
                },
            ]
        )
        unknown = str(uuid.uuid4())
        flow = workflow(
            [
                mcp_client_node(
                    "Queue metrics",
                    endpoint,
                    "queue_metrics",
                    {"channel_id": channel, "window_hours": 2},
                    ("headerAuth", "httpHeaderAuth", API_KEY_CREDENTIAL_ID),
                ),
                mcp_client_node(
                    "Unknown video",
                    endpoint,
                    "video_status",
                    {"video_id": unknown},
                    ("bearerAuth", "httpBearerAuth", BEARER_ID),
                ),
                mcp_client_node(
                    "Viewer enqueues",
                    endpoint,
                    "enqueue_video",
                    {"topic": "n8n", "channel_id": channel, "user_id": str(uuid.uuid4())},
                    ("headerAuth", "httpHeaderAuth", VIEWER_ID),
                ),
                mcp_client_node(
                    "Wrong key",
                    endpoint,
                    "queue_metrics",
                    {},
                    ("headerAuth", "httpHeaderAuth", WRONG_ID),
                    onError="continueRegularOutput",
                ),
            ]
        )
        result = run(server, flow)
        print(json.dumps(result["data"]["resultData"]["runData"], indent=1)[:20000])
        direct = await api.http.get("/pipeline/metrics", params={"channel_id": channel, "window_hours": 2})
        print(direct.json(), videos)
        raise AssertionError("look")
