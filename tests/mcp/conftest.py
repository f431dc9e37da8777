"""MCP sessions on the real stack: the API served by uvicorn (tests/api/test_stream.py's `serving`), MCP clients from
the `mcp` library."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import mcp_types as types
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from api.credentials import new_api_key
from core.principals import Role
from ledger import Ledger


@asynccontextmanager
async def mcp_session(base_url: str, headers: dict[str, str]) -> AsyncIterator[ClientSession]:
    """An initialized MCP session with the API's /mcp, sending `headers` (the credential) with every request."""
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        streamable_http_client(f"{base_url}/mcp", http_client=http) as (read_stream, write_stream),
        ClientSession(read_stream, write_stream) as session,
    ):
        await session.initialize()
        yield session


def payload(result: types.CallToolResult) -> Any:
    """The JSON a tool answered (its text content)."""
    assert len(result.content) == 1 and isinstance(result.content[0], types.TextContent), result.content
    return json.loads(result.content[0].text)


async def api_key(ledger: Ledger, role: Role, name: str, **limits: Any) -> str:
    key = new_api_key()
    await ledger.create_key(key.id, f"{name}-{key.id}", key.sha256, role, **limits)
    return key.value
