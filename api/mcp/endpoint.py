"""/mcp: the MCP server over streamable HTTP, inside the API. The route's role check is the API's own (401 before any
MCP message is read); each tool call is then sent to this same app in-process, with the caller's credentials and
address, so that roles, validation, audit and rate limits are those of the route it calls.

Stateless, with JSON answers: every POST stands alone (no session to hold or to steal, nothing that outlives the
request to keep the API from shutting down), and tool calls need nothing streamed back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import API_KEY_HEADER, RateBucket, require
from api.mcp.server import Caller, build_server
from api.mcp.tools import ToolCatalogue
from core.principals import Principal, Role

# MCP's own messages count apart from the principal's API requests, four per request: a client that opens a session
# per call (n8n) sends initialize, notifications/initialized, tools/list and tools/call for one. Each tool call also
# counts as the request it makes, like any other, so the principal's limit is what bounds the work done.
MCP_MESSAGES = RateBucket("mcp", 4)
FORWARDED = ("authorization", API_KEY_HEADER.lower(), "host")

router = APIRouter()


# POST only: with no session there is nothing to stream on a GET nor to end with a DELETE, and the specification's
# answer to both is then 405, which the router gives.
@router.post("/mcp", include_in_schema=False)
async def mcp_endpoint(
    request: Request,
    response: Response,
    _principal: Annotated[Principal, Depends(require(Role.VIEWER, bucket=MCP_MESSAGES))],
) -> Response:
    """MCP over streamable HTTP (see docs/mcp.md); each tool needs its route's role."""
    limits = [(k, v) for k, v in response.headers.raw if k.lower().startswith(b"ratelimit-")]
    return _Handover(request.app.state.mcp.handle_request, limits)


class _Handover(Response):
    """The MCP transport answers the request itself; its answer gets the rate-limit headers of the role check."""

    def __init__(self, app: ASGIApp, headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__()
        self.app = app
        self.extra = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.extra]}
            await send(message)

        await self.app(scope, receive, with_limits)


class _AsCaller(httpx.AsyncBaseTransport):
    """The app in-process, each request from the address its `client` extension names (the MCP caller's)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        client = request.extensions.get("client") or ("127.0.0.1", 0)
        # An error the app answers (a 500) comes back as its answer, as it would over the network.
        transport = httpx.ASGITransport(app=self.app, client=client, raise_app_exceptions=False)
        return await transport.handle_async_request(request)


def caller_of(request: Request | None) -> Caller:
    if request is None:
        raise RuntimeError("an MCP call over HTTP without its HTTP request")
    headers = {name: value for name in FORWARDED if (value := request.headers.get(name)) is not None}
    client = (request.client.host, request.client.port) if request.client else None
    return Caller(headers, client)


def transport_security(allowed_hosts: list[str]) -> TransportSecuritySettings:
    """The MCP SDK's DNS-rebinding check, for the hosts the API answers. A pattern (`*.example.com`) it cannot
    express: then the API's TrustedHostMiddleware, which runs first, is the check."""
    if any("*" in host for host in allowed_hosts):
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    hosts = [f"[{h}]" if ":" in h else h for h in allowed_hosts]  # an IPv6 address, as a Host header writes it
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*hosts, *(f"{h}:*" for h in hosts)],
        allowed_origins=[f"{scheme}://{h}{port}" for h in hosts for scheme in ("http", "https") for port in ("", ":*")],
    )


@asynccontextmanager
async def serving(app: FastAPI, allowed_hosts: list[str]) -> AsyncIterator[None]:
    """Run /mcp for the app's lifespan: the tools from its own OpenAPI document (a tool table that does not fit
    fails the start), its calls through the app itself (no second Temporal client or pool)."""
    catalogue = ToolCatalogue.of(app.openapi())
    async with httpx.AsyncClient(transport=_AsCaller(app), base_url="http://127.0.0.1", timeout=120) as http:
        manager = StreamableHTTPSessionManager(
            build_server(http, catalogue, caller_of),
            stateless=True,
            json_response=True,
            security_settings=transport_security(allowed_hosts),
        )
        app.state.mcp = manager
        async with manager.run():
            yield
