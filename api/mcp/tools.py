"""The MCP tools, one table: each tool is one API route. Its input schema is the route's own, read from the API's
OpenAPI document (which FastAPI derives from the pydantic models and the route signatures), and a call is that
route's HTTP request, answered with what the API answered."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import mcp_types as types

OPENAPI_REF = "#/components/schemas/"
TOOL_REF = "#/$defs/"


@dataclass(frozen=True)
class ToolRoute:
    """A tool's name and the route it calls; `hidden`: query parameters the tool leaves at the route's default."""

    name: str
    method: str
    path: str
    hidden: tuple[str, ...] = ()


TOOL_ROUTES: tuple[ToolRoute, ...] = (
    ToolRoute("enqueue_video", "POST", "/pipeline/queue"),
    ToolRoute("enqueue_batch", "POST", "/pipeline/queue/batch"),
    ToolRoute("video_status", "GET", "/pipeline/status/{video_id}"),
    ToolRoute("list_videos", "GET", "/pipeline/videos"),
    ToolRoute("approve_budget", "POST", "/pipeline/approve/{video_id}"),
    ToolRoute("cancel_video", "POST", "/pipeline/cancel/{video_id}"),
    ToolRoute("retry_video", "POST", "/pipeline/retry/{video_id}"),
    ToolRoute("queue_metrics", "GET", "/pipeline/metrics"),
    ToolRoute("channel_performance", "GET", "/analytics/channels"),
    ToolRoute("channel_series", "GET", "/analytics/channels/{channel_id}/series"),
    ToolRoute("video_series", "GET", "/analytics/videos/{video_id}/series"),
    ToolRoute("ranked_videos", "GET", "/analytics/videos/ranked"),
    ToolRoute("cost_report", "GET", "/analytics/costs", hidden=("format",)),  # a tool answers JSON, never CSV
)


class ToolTableError(RuntimeError):
    """The tool table does not fit the API's OpenAPI document (a route gone, a parameter and a body field named
    alike): the server refuses to start rather than offer a tool that cannot work."""


class ToolArgumentError(ValueError):
    """A call the tool cannot turn into a request (a path parameter missing); everything else is the API's to judge."""


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    params: list[tuple[str, str]]
    headers: dict[str, str]
    json: dict[str, Any] | None


@dataclass(frozen=True)
class ApiTool:
    route: ToolRoute
    description: str
    input_schema: dict[str, Any]
    path_params: tuple[str, ...]
    query_params: tuple[str, ...]
    header_params: Mapping[str, str]  # argument -> HTTP header
    body_fields: tuple[str, ...] | None  # None: the route takes no body

    def definition(self) -> types.Tool:
        read_only = self.route.method == "GET"
        return types.Tool(
            name=self.route.name,
            description=self.description,
            input_schema=self.input_schema,
            annotations=types.ToolAnnotations(read_only_hint=read_only, open_world_hint=False),
        )

    def request(self, arguments: Mapping[str, Any]) -> ApiRequest:
        """The route's HTTP request for these arguments. Arguments the route does not name go into the JSON body
        where there is one, so that the API refuses them with its own 422."""
        unknown = sorted(set(arguments) - set(self.input_schema["properties"]))
        if unknown and self.body_fields is None:
            raise ToolArgumentError(
                f"{self.route.name} takes no argument {', '.join(unknown)}; "
                f"it takes {', '.join(self.input_schema['properties']) or 'none'}"
            )
        path = self.route.path
        for name in self.path_params:
            if arguments.get(name) is None:
                raise ToolArgumentError(f"{self.route.name} needs {name}")
            path = path.replace(f"{{{name}}}", quote(_text(arguments[name]), safe=""))
        params: list[tuple[str, str]] = []
        for name in self.query_params:
            value = arguments.get(name)
            for item in value if isinstance(value, list) else [value]:  # a list is the parameter repeated
                if item is not None:
                    params.append((name, _text(item)))
        headers = {header: _text(arguments[name]) for name, header in self.header_params.items() if arguments.get(name)}
        body = None
        if self.body_fields is not None:
            body = {name: value for name, value in arguments.items() if name in self.body_fields or name in unknown}
        return ApiRequest(self.route.method, path, params, headers, body)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value) if isinstance(value, dict) else str(value)


def build_tools(openapi: Mapping[str, Any], routes: tuple[ToolRoute, ...] = TOOL_ROUTES) -> dict[str, ApiTool]:
    """Each route's tool from the API's OpenAPI document; raises ToolTableError where the two do not fit."""
    components: Mapping[str, Any] = openapi.get("components", {}).get("schemas", {})
    tools: dict[str, ApiTool] = {}
    for route in routes:
        operation = openapi.get("paths", {}).get(route.path, {}).get(route.method.lower())
        if operation is None:
            raise ToolTableError(f"{route.name}: the API serves no {route.method} {route.path}")
        tools[route.name] = _tool(route, operation, components)
    return tools


def _tool(route: ToolRoute, operation: Mapping[str, Any], components: Mapping[str, Any]) -> ApiTool:
    properties: dict[str, Any] = {}
    required: list[str] = []
    where: dict[str, list[str]] = {"path": [], "query": []}
    header_params: dict[str, str] = {}
    hidden = set(route.hidden)

    def add(name: str, schema: Mapping[str, Any], source: str) -> None:
        if name in properties:
            raise ToolTableError(f"{route.name}: {source} is named {name!r} like another of {route.path}'s inputs")
        properties[name] = schema

    for param in operation.get("parameters", []):
        name, place = param["name"], param["in"]
        if name in hidden:
            hidden.discard(name)
            if param.get("required"):
                raise ToolTableError(f"{route.name}: {name} cannot be hidden, {route.path} requires it")
            continue
        schema = copy.deepcopy(param.get("schema", {}))
        if "description" in param:
            schema.setdefault("description", param["description"])
        if place == "header":
            argument = name.lower().replace("-", "_")  # Idempotency-Key -> idempotency_key
            header_params[argument] = name
        elif place in where:
            argument = name
            where[place].append(name)
        else:
            raise ToolTableError(f"{route.name}: a {place} parameter ({name}) cannot be a tool's argument")
        add(argument, schema, f"the {place} parameter {name}")
        if param.get("required"):
            required.append(argument)
    if hidden:
        raise ToolTableError(f"{route.name}: hides {', '.join(sorted(hidden))}, which {route.path} does not take")

    body_fields: tuple[str, ...] | None = None
    additional: Any = False
    if (request_body := operation.get("requestBody")) is not None:
        content = request_body.get("content", {})
        if "application/json" not in content:
            raise ToolTableError(f"{route.name}: {route.path} takes no JSON body ({', '.join(content)})")
        body = _resolved(content["application/json"].get("schema", {}), components)
        if body.get("type") != "object" or "properties" not in body:
            raise ToolTableError(f"{route.name}: {route.path}'s body is not an object with properties")
        for name, schema in body["properties"].items():
            add(name, schema, "the body field")
        if request_body.get("required"):
            required.extend(body.get("required", []))
        body_fields = tuple(body["properties"])
        additional = body.get("additionalProperties", True)

    input_schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        input_schema["required"] = required
    input_schema["additionalProperties"] = additional
    input_schema, defs = _with_defs(input_schema, components)
    if defs:
        input_schema["$defs"] = defs
    return ApiTool(
        route=route,
        description=_description(route, operation),
        input_schema=input_schema,
        path_params=tuple(where["path"]),
        query_params=tuple(where["query"]),
        header_params=header_params,
        body_fields=body_fields,
    )


def _resolved(schema: Mapping[str, Any], components: Mapping[str, Any]) -> Mapping[str, Any]:
    """A body schema that is a reference, followed to the component it names."""
    ref = schema.get("$ref")
    if ref is None:
        return schema
    name = _component_name(ref)
    if name not in components:
        raise ToolTableError(f"the OpenAPI document has no component {name}")
    return _resolved(components[name], components)


def _component_name(ref: str) -> str:
    if not ref.startswith(OPENAPI_REF):
        raise ToolTableError(f"a reference outside the document's components: {ref}")
    return ref.removeprefix(OPENAPI_REF)


def _with_defs(schema: dict[str, Any], components: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The schema with `#/components/schemas/X` rewritten to `#/$defs/X`, and the components it needs (those they
    need too) as its `$defs`, so that it stands alone."""
    wanted: list[str] = []

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            out = {key: rewrite(value) for key, value in node.items()}
            if isinstance(ref := node.get("$ref"), str):
                name = _component_name(ref)
                if name not in components:
                    raise ToolTableError(f"the OpenAPI document has no component {name}")
                wanted.append(name)
                out["$ref"] = f"{TOOL_REF}{name}"
            return out
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    rewritten = rewrite(schema)
    defs: dict[str, Any] = {}
    while wanted:
        name = wanted.pop()
        if name not in defs:
            defs[name] = rewrite(components[name])
    return rewritten, dict(sorted(defs.items()))


def _description(route: ToolRoute, operation: Mapping[str, Any]) -> str:
    text = operation.get("description") or operation.get("summary") or ""
    return f"{route.method} {route.path}: {' '.join(text.split())}"


class ToolCatalogue:
    """The tools, built once from an OpenAPI document: at hand (the API's own) or fetched on first use (stdio, from
    the API it calls, which may start after the MCP client)."""

    def __init__(self, load: Callable[[], Awaitable[Mapping[str, Any]]]) -> None:
        self._load = load
        self._tools: dict[str, ApiTool] | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def of(cls, openapi: Mapping[str, Any]) -> ToolCatalogue:
        """Tools from a document at hand, built now: a table that does not fit fails here, at start."""
        catalogue = cls(_never)
        catalogue._tools = build_tools(openapi)
        return catalogue

    async def tools(self) -> dict[str, ApiTool]:
        async with self._lock:
            if self._tools is None:
                self._tools = build_tools(await self._load())
            return self._tools


async def _never() -> Mapping[str, Any]:
    raise AssertionError("built at hand")


def answer(response: httpx.Response) -> types.CallToolResult:
    """The API's answer as a tool result: 2xx its JSON; otherwise an error carrying the status, the API's error body
    unchanged (`detail`, with `loc` for a 422) and `retry_after` when the API sent Retry-After."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    if response.is_success:
        text = response.text if isinstance(body, dict | list) else json.dumps(body)
        return types.CallToolResult(
            content=[types.TextContent(text=text)], structured_content=body if isinstance(body, dict) else None
        )
    error: dict[str, Any] = {"status": response.status_code}
    error.update(body if isinstance(body, dict) else {"detail": body})
    if (retry_after := response.headers.get("retry-after")) is not None:
        error["retry_after"] = int(retry_after) if retry_after.isdigit() else retry_after
    return refusal(error)


def refusal(error: dict[str, Any]) -> types.CallToolResult:
    """An error result whose text is `error` as JSON."""
    return types.CallToolResult(
        content=[types.TextContent(text=json.dumps(error))], structured_content=error, is_error=True
    )
