"""The codec endpoint (Temporal's remote codec protocol): the Temporal UI and CLI send the sealed payloads they show
and get them back readable, as `--ui-codec-endpoint <api>/codec` or the UI's own codec setting configures.

A browser calls it from the UI's origin (CORS for that origin only, with credentials): signed in at
`POST /auth/session`, its same-site cookie serves; scripts send a key or token as on any route."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from fastapi.responses import Response
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from api.auth import RateBucket, require
from api.deps import SettingsDep
from core.encryption import KeyRingError
from core.principals import Principal, Role
from workflows.payload_codec import EncryptionCodec

router = APIRouter(prefix="/codec", tags=["codec"])
# A UI page decodes each event's payloads in a call of its own: codec calls count apart, at ten times the limit.
CODEC_CALLS = RateBucket("codec", 10)
JSON = "application/json"
_BODY = {
    "content": {JSON: {"schema": {"type": "object", "properties": {"payloads": {"type": "array", "items": {}}}}}},
    "required": True,
}


def _all_channels(principal: Principal) -> Principal:
    if principal.channels is not None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"{principal.label} is limited to channels; payloads belong to any channel: ask for an unlimited key",
        )
    return principal


async def _reader(
    principal: Annotated[Principal, Depends(require(Role.VIEWER, session_cookie=True, bucket=CODEC_CALLS))],
) -> Principal:
    return _all_channels(principal)


async def _writer(
    principal: Annotated[Principal, Depends(require(Role.OPERATOR, session_cookie=True, bucket=CODEC_CALLS))],
) -> Principal:
    return _all_channels(principal)


async def _payloads(request: Request, settings: SettingsDep, namespace: str | None) -> Payloads:
    if namespace not in (None, settings.temporal_namespace):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"this codec serves the namespace {settings.temporal_namespace!r}"
        )
    try:
        return json_format.Parse(await request.body(), Payloads())
    except json_format.ParseError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, 'send {"payloads": [...]} as Temporal\'s JSON writes payloads'
        ) from None


def _answer(payloads: Sequence[Payload], headers: Response) -> Response:
    """The payloads as JSON, with the headers the dependencies set (RateLimit-*), which a returned Response skips."""
    answer = Response(json_format.MessageToJson(Payloads(payloads=payloads)), media_type=JSON)
    answer.headers.update({k: v for k, v in headers.headers.items() if k != "content-length"})
    return answer


@router.post("/decode", openapi_extra={"requestBody": _BODY}, dependencies=[Depends(_reader)])
async def decode(
    request: Request,
    response: Response,
    settings: SettingsDep,
    x_namespace: Annotated[str | None, Header()] = None,
) -> Response:
    """Sealed payloads in, readable payloads out (viewers with every channel; payloads not sealed pass through)."""
    payloads = await _payloads(request, settings, x_namespace)
    try:
        opened = await EncryptionCodec(settings.key_ring).decode(payloads.payloads)
    except KeyRingError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(err)) from None
    return _answer(opened, response)


@router.post("/encode", openapi_extra={"requestBody": _BODY}, dependencies=[Depends(_writer)])
async def encode(
    request: Request,
    response: Response,
    settings: SettingsDep,
    x_namespace: Annotated[str | None, Header()] = None,
) -> Response:
    """Readable payloads in (what an operator types into the UI: a signal's input), sealed payloads out."""
    payloads = await _payloads(request, settings, x_namespace)
    return _answer(await EncryptionCodec(settings.key_ring).encode(payloads.payloads), response)
