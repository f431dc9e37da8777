"""`python -m api.mcp` spawned by the `mcp` library's stdio client, calling the API on a real uvicorn port."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

from api.mcp.__main__ import MISSING_KEY
from api.mcp.tools import TOOL_ROUTES
from core.principals import Role
from core.settings import Settings
from ledger import Ledger
from tests.api.test_stream import serving
from tests.conftest import free_port
from tests.integration import conftest as integration
from tests.mcp.conftest import api_key, payload

settings = integration.settings  # the real-stack Settings fixture: tmp data dir, the dev server, fresh task queues

REPO = Path(__file__).resolve().parents[2]


async def test_a_desktop_client_lists_and_calls_the_tools(settings: Settings, ledger: Ledger, tmp_path: Path) -> None:
    key = await api_key(ledger, Role.VIEWER, "mcp-stdio")
    errors = tmp_path / "stderr.log"
    async with serving(settings) as api:
        server = StdioServerParameters(
            command=sys.executable,
            args=["-m", "api.mcp"],
            env={"YTEMPIRE_MCP_API_URL": str(api.http.base_url).rstrip("/"), "YTEMPIRE_MCP_API_KEY": key},
            cwd=REPO,
        )
        with errors.open("w") as errlog:
            async with stdio_client(server, errlog=errlog) as (read_stream, write_stream):
                async with ClientSession(read_stream, write_stream) as session:
                    await session.initialize()
                    tools = (await session.list_tools()).tools
                    listed = await session.call_tool("list_videos", {"limit": 2})
                    missing_id = str(uuid.uuid4())
                    missing = await session.call_tool("video_status", {"video_id": missing_id})
                    refused = await session.call_tool("cancel_video", {"video_id": missing_id})
        direct = await api.http.get("/pipeline/videos", params={"limit": 2})
    assert [tool.name for tool in tools] == [route.name for route in TOOL_ROUTES]
    assert not listed.is_error and listed.structured_content == direct.json()
    assert missing.is_error and payload(missing) == {"status": 404, "detail": f"no video with id {missing_id}"}
    assert payload(refused)["status"] == 403  # the key is a viewer's: the API's role check answered
    assert key not in errors.read_text()


@pytest.mark.parametrize("key", [None, " "])
async def test_without_a_key_it_says_so_and_exits(key: str | None) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("YTEMPIRE_MCP_")}
    if key is not None:
        env["YTEMPIRE_MCP_API_KEY"] = key
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "api.mcp",
        cwd=REPO,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert (process.returncode, out, err.decode()) == (2, b"", MISSING_KEY)


async def test_an_api_that_is_down_is_named_in_the_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "api.mcp"],
        env={"YTEMPIRE_MCP_API_URL": url, "YTEMPIRE_MCP_API_KEY": "ytk_not_used"},
        cwd=REPO,
    )
    with (tmp_path / "stderr.log").open("w") as errlog:
        async with stdio_client(server, errlog=errlog) as (read_stream, write_stream):
            async with ClientSession(read_stream, write_stream) as session:
                await session.initialize()
                with pytest.raises(MCPError, match=f"the API at {url} did not give its OpenAPI document"):
                    await session.list_tools()
