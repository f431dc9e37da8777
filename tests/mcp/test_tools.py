"""The tool table against OpenAPI documents FastAPI derives from real routes: what a tool's request is, and that a
table that does not fit fails when the server is built, not when a tool is called."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import pytest
from fastapi import FastAPI, Header, Query

from api.main import create_app
from api.mcp.tools import TOOL_ROUTES, ToolArgumentError, ToolRoute, ToolTableError, build_tools
from api.schemas import ApproveRequest, EnqueueRequest


def test_every_tool_of_the_table_is_built_from_the_api() -> None:
    tools = build_tools(create_app().openapi())
    assert list(tools) == [route.name for route in TOOL_ROUTES]
    assert "format" not in tools["cost_report"].input_schema["properties"]  # JSON only


def test_a_call_becomes_the_routes_request() -> None:
    tools = build_tools(create_app().openapi())
    listed = tools["list_videos"].request({"status": ["failed", "halted"], "limit": 5, "cursor": None})
    assert (listed.method, listed.path, listed.params, listed.json) == (
        "GET",
        "/pipeline/videos",
        [("status", "failed"), ("status", "halted"), ("limit", "5")],
        None,
    )
    video_id = "3f1c2d9e-8a51-4c53-9a8e-2f4b8d1e7a10"
    approve = tools["approve_budget"].request({"video_id": video_id, "new_cap_usd": 4.5, "reason": "worth it"})
    assert (approve.path, approve.json) == (f"/pipeline/approve/{video_id}", {"new_cap_usd": 4.5, "reason": "worth it"})
    queued = tools["enqueue_video"].request({"topic": "octopus hearts", "idempotency_key": "k-1", "colour": "red"})
    # The idempotency key is the header; an argument the route does not name goes to the API, which refuses it.
    assert queued.headers == {"idempotency-key": "k-1"} and queued.json == {"topic": "octopus hearts", "colour": "red"}
    with pytest.raises(ToolArgumentError, match="video_status needs video_id"):
        tools["video_status"].request({})
    with pytest.raises(ToolArgumentError, match="queue_metrics takes no argument colour"):
        tools["queue_metrics"].request({"colour": "red"})


def clashing_app() -> FastAPI:
    app = FastAPI()

    @app.post("/queue/{topic}")
    async def enqueue(topic: str, body: EnqueueRequest) -> None:
        """A path parameter named like a body field."""

    @app.post("/approve/{video_id}")
    async def approve(
        video_id: UUID,
        body: ApproveRequest,
        reason: Annotated[str | None, Query()] = None,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> None:
        """A query parameter named like a body field."""

    return app


@pytest.mark.parametrize(
    ("route", "problem"),
    [
        (ToolRoute("enqueue", "POST", "/queue/{topic}"), "the body field is named 'topic'"),
        (ToolRoute("approve", "POST", "/approve/{video_id}"), "the body field is named 'reason'"),
        (ToolRoute("gone", "GET", "/nowhere"), "the API serves no GET /nowhere"),
        (ToolRoute("wrong", "GET", "/queue/{topic}"), "the API serves no GET /queue/{topic}"),
        (ToolRoute("enqueue", "POST", "/queue/{topic}", hidden=("format",)), "hides format"),
    ],
)
def test_a_table_that_does_not_fit_the_api_fails_loudly(route: ToolRoute, problem: str) -> None:
    openapi = clashing_app().openapi()
    if route.hidden:  # the clash aside, so that the hidden parameter is what fails
        del openapi["paths"]["/queue/{topic}"]["post"]["parameters"]
    with pytest.raises(ToolTableError, match=problem.replace("{", r"\{").replace("}", r"\}")):
        build_tools(openapi, (route,))
