"""The MCP server: lists the tools of api/mcp/tools.py and makes each call the API's own HTTP request, through the
httpx client it is given (in-process to the app under /mcp; over the network from `python -m api.mcp`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from starlette.requests import Request

from api.mcp.tools import ApiTool, ToolArgumentError, ToolCatalogue, answer, refusal

SERVER_NAME = "ytempire-pipeline"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    """What a tool call's request carries of the MCP request it came in: credentials, host, client address."""

    headers: dict[str, str] = field(default_factory=dict)
    client: tuple[str, int] | None = None


CallerOf = Callable[[Request | None], Caller]


def no_caller(_request: Request | None) -> Caller:
    """The client's own credentials serve (stdio: the key the process was given)."""
    return Caller()


def build_server(http: httpx.AsyncClient, catalogue: ToolCatalogue, caller_of: CallerOf = no_caller) -> Server[Any]:
    """The lowlevel server over `http`; `caller_of` says which credentials and address a call's request carries."""

    async def list_tools(
        _ctx: ServerRequestContext[Any], _params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        tools = await _tools(catalogue, http)
        return types.ListToolsResult(tools=[tool.definition() for tool in tools.values()])

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        tool = (await _tools(catalogue, http)).get(params.name)
        if tool is None:
            raise MCPError(types.INVALID_PARAMS, f"no tool named {params.name!r}")
        try:
            request = tool.request(params.arguments or {})
        except ToolArgumentError as err:
            return refusal({"detail": str(err)})
        caller = caller_of(ctx.request if isinstance(ctx.request, Request) else None)
        try:
            response = await http.request(
                request.method,
                request.path,
                params=tuple(request.params),
                headers={**request.headers, **caller.headers},
                json=request.json,
                extensions={"client": caller.client} if caller.client else None,
            )
        except httpx.HTTPError as err:
            log.warning("%s: %s %s failed: %s", tool.route.name, request.method, request.path, type(err).__name__)
            return refusal({"detail": f"the API at {http.base_url} did not answer ({type(err).__name__}): is it up?"})
        return answer(response)

    return Server(SERVER_NAME, version="0.1.0", on_list_tools=list_tools, on_call_tool=call_tool)


async def _tools(catalogue: ToolCatalogue, http: httpx.AsyncClient) -> dict[str, ApiTool]:
    try:
        return await catalogue.tools()
    except httpx.HTTPError as err:
        raise MCPError(
            types.INTERNAL_ERROR,
            f"the API at {http.base_url} did not give its OpenAPI document ({type(err).__name__}): is it up?",
        ) from err
