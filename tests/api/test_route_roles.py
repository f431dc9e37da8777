"""Every route the app serves, for every role, against one table: who may reach it, and nobody else."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import Route
from temporalio.testing import WorkflowEnvironment
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from api.credentials import new_api_key
from api.main import create_app
from core.principals import Role
from core.settings import Settings
from ledger import Ledger
from tests.api.test_stream import serving
from tests.integration import conftest as integration

settings = integration.settings  # the real-stack Settings fixture: tmp data dir, the dev server, fresh task queues

OPEN = None
# (method, path) -> the least role, or OPEN. The API documentation pages and the OpenAPI document hold no data.
ROUTE_ROLES: dict[tuple[str, str], Role | None] = {
    ("GET", "/healthz"): OPEN,
    ("POST", "/auth/token"): OPEN,
    ("GET", "/auth/sign-in"): OPEN,
    ("GET", "/"): OPEN,  # the console's page and assets hold no data: it reads everything with the user's credential
    ("GET", "/console/{asset}"): OPEN,
    ("GET", "/openapi.json"): OPEN,
    ("GET", "/docs"): OPEN,
    ("GET", "/docs/oauth2-redirect"): OPEN,
    ("GET", "/redoc"): OPEN,
    ("GET", "/auth/me"): Role.VIEWER,
    ("POST", "/auth/stream-ticket"): Role.VIEWER,
    ("POST", "/auth/session"): Role.VIEWER,
    ("DELETE", "/auth/session"): OPEN,
    ("POST", "/codec/decode"): Role.VIEWER,
    ("POST", "/codec/encode"): Role.OPERATOR,
    ("GET", "/metrics"): Role.VIEWER,
    ("GET", "/pipeline/metrics"): Role.VIEWER,
    ("GET", "/pipeline/videos"): Role.VIEWER,
    ("GET", "/pipeline/status/{video_id}"): Role.VIEWER,
    ("WEBSOCKET", "/pipeline/stream/{video_id}"): Role.VIEWER,
    ("GET", "/audit"): Role.ADMIN,
    ("POST", "/pipeline/queue"): Role.OPERATOR,
    ("POST", "/pipeline/queue/batch"): Role.OPERATOR,
    ("POST", "/pipeline/approve/{video_id}"): Role.OPERATOR,
    ("POST", "/pipeline/cancel/{video_id}"): Role.OPERATOR,
    ("POST", "/pipeline/retry/{video_id}"): Role.OPERATOR,
    ("POST", "/events"): Role.OPERATOR,
    ("GET", "/analytics/channels"): Role.VIEWER,
    ("GET", "/analytics/channels/{channel_id}/series"): Role.VIEWER,
    ("GET", "/analytics/videos/{video_id}/series"): Role.VIEWER,
    ("GET", "/analytics/videos/ranked"): Role.VIEWER,
    ("GET", "/analytics/costs"): Role.VIEWER,
    ("GET", "/pipeline/videos/{video_id}/files/{name}"): Role.VIEWER,
    ("POST", "/mcp"): Role.VIEWER,  # MCP over streamable HTTP; each tool call then needs its route's role
}
CALLERS: list[Role | None] = [None, *Role]  # None: no credential


def served_routes(settings: Settings) -> set[tuple[str, str]]:
    """Every (method, path) the app answers: its HTTP routes (the OpenAPI document's and FastAPI's own pages), its
    WebSocket routes and whatever else is mounted. Included routers are walked through the routes they contribute."""
    served: set[tuple[str, str]] = set()
    pending: list[object] = list(create_app(settings).routes)
    while pending:
        route = pending.pop()
        if hasattr(route, "effective_route_contexts"):  # an included router (FastAPI >= 0.165)
            pending.extend(route.effective_route_contexts())
            continue
        original = getattr(route, "original_route", route)
        path = getattr(route, "path", None) or getattr(original, "path", None)  # a WebSocket's context has ""
        if isinstance(original, APIWebSocketRoute):
            served.add(("WEBSOCKET", str(path)))
        elif isinstance(original, APIRoute | Route):
            served.update((method, str(path)) for method in getattr(route, "methods", None) or () if method != "HEAD")
        else:
            served.add(("MOUNT", str(path or repr(route))))
    return served


def test_the_table_names_every_route_served(settings: Settings) -> None:
    assert served_routes(settings) == set(ROUTE_ROLES)


def expected(required: Role | None, caller: Role | None) -> str:
    if required is OPEN:
        return "passes"
    if caller is None:
        return "401"
    return "passes" if caller.includes(required) else "403"


def outcome(response: httpx.Response) -> str:
    return str(response.status_code) if response.status_code in (401, 403) else "passes"


async def test_every_route_for_every_role(dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger) -> None:
    keys: dict[Role, str] = {}
    for role in Role:
        key = new_api_key()
        await ledger.create_key(key.id, f"route-table-{role.value}-{key.id}", key.sha256, role)
        keys[role] = key.value
    # Bodies that pass validation where one is needed, so what answers is the role check or what lies behind it.
    bodies = {
        "/pipeline/queue": {"topic": "roles", "channel_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4())},
        "/pipeline/queue/batch": {"videos": []},
        "/codec/decode": {"payloads": []},
        "/codec/encode": {"payloads": []},
        "/pipeline/approve/{video_id}": {"new_cap_usd": 4.0, "reason": "route table"},
    }
    seen: list[tuple[str, str, str, str, str]] = []
    async with serving(settings) as api:
        ws_root = api.ws_base.removesuffix("/pipeline/stream")
        plain = httpx.AsyncClient(base_url=str(api.http.base_url))  # no credential but the caller's
        async with plain:
            for (method, path), required in sorted(ROUTE_ROLES.items(), key=str):
                for caller in CALLERS:
                    plain.cookies.clear()  # POST /auth/session leaves a session cookie: each call has one caller
                    headers = {} if caller is None else {"X-API-Key": keys[caller]}
                    url = path.replace("{video_id}", str(uuid.uuid4())).replace("{channel_id}", str(uuid.uuid4()))
                    want = expected(required, caller)
                    if method == "WEBSOCKET":
                        # A refused handshake is an HTTP 403 whatever the reason: no credential or too little role.
                        want = "refused" if want != "passes" else want
                        got = "passes"
                        try:
                            async with connect(f"{ws_root}{url}", additional_headers=headers):
                                pass
                        except InvalidStatus as refused:
                            assert refused.response.status_code == 403
                            got = "refused"
                    elif path == "/auth/token":  # open: a wrong password gets its own 401, not the role check's
                        response = await plain.post(url, headers=headers, data={"username": "x", "password": "y"})
                        got = "passes" if "wrong username" in response.text else outcome(response)
                    else:
                        kwargs = {"json": bodies[path]} if path in bodies else {}
                        got = outcome(await plain.request(method, url, headers=headers, **kwargs))
                    seen.append((method, path, caller.value if caller else "anonymous", want, got))
    wrong = [row for row in seen if row[3] != row[4]]
    assert wrong == [], wrong
    assert len(seen) == len(ROUTE_ROLES) * len(CALLERS)


@pytest.mark.parametrize("role", list(Role))
def test_roles_are_ordered(role: Role) -> None:
    assert role.includes(Role.VIEWER) and role.includes(role)
    assert Role.VIEWER.includes(role) == (role is Role.VIEWER)
