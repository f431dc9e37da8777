"""The codec endpoint: the Temporal UI's browser (same-site cookie, its origin only) and scripts (a key) read sealed
payloads through it; nobody else, and the cookie never changes anything."""

from __future__ import annotations

import uuid

from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.testing import WorkflowEnvironment

from api.auth import SESSION_COOKIE
from core.domain import VideoRequest
from core.principals import Role
from core.settings import Settings
from ledger import Ledger
from tests.api.test_auth import make_key
from tests.integration import conftest as integration
from tests.integration.conftest import admin_headers, api_client
from workflows.payload_codec import ENCODING, encrypting_converter

settings = integration.settings
UI_ORIGIN = "http://127.0.0.1:8233"  # the default YTEMPIRE_TEMPORAL_UI_URL's


def request() -> VideoRequest:
    return VideoRequest(video_id=str(uuid.uuid4()), topic="octopus hearts", channel_id="c", user_id="u")


async def sealed_body(settings: Settings, value: object) -> str:
    payloads = await encrypting_converter(settings.key_ring).encode([value])
    assert payloads[0].metadata["encoding"] == ENCODING
    return json_format.MessageToJson(Payloads(payloads=payloads))


async def test_a_key_decodes_and_encodes(dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger) -> None:
    video = request()
    async with api_client(settings) as api:
        decoded = await api.post("/codec/decode", content=await sealed_body(settings, video))
        assert decoded.status_code == 200, decoded.text
        opened = json_format.Parse(decoded.content, Payloads()).payloads
        assert opened[0].metadata["encoding"] == b"json/plain" and b"octopus hearts" in opened[0].data
        assert (await encrypting_converter(settings.key_ring).decode(opened, [VideoRequest])) == [video]
        plain = json_format.MessageToJson(Payloads(payloads=opened))
        encoded = await api.post("/codec/encode", content=plain, headers={"X-Namespace": settings.temporal_namespace})
        resealed = json_format.Parse(encoded.content, Payloads()).payloads
        assert resealed[0].metadata["encoding"] == ENCODING and b"octopus" not in resealed[0].data
        other_namespace = await api.post("/codec/decode", content=plain, headers={"X-Namespace": "elsewhere"})
        garbage = await api.post("/codec/decode", content=b"not json")
        viewer = {"X-API-Key": await make_key(ledger, Role.VIEWER)}
        viewer_encodes = await api.post("/codec/encode", content=plain, headers=viewer)
        limited = await ledger_key_for_a_channel(ledger)
        limited_decodes = await api.post("/codec/decode", content=plain, headers={"X-API-Key": limited})
    assert other_namespace.status_code == 404 and "'default'" in other_namespace.json()["detail"]
    assert garbage.status_code == 422
    assert viewer_encodes.status_code == 403
    assert limited_decodes.status_code == 403 and "limited to channels" in limited_decodes.json()["detail"]


async def ledger_key_for_a_channel(ledger: Ledger) -> str:
    from api.credentials import new_api_key

    key = new_api_key()
    await ledger.create_key(key.id, f"one-channel-{key.id}", key.sha256, Role.ADMIN, channels=[uuid.uuid4()])
    return key.value


async def test_a_browser_session_reads_and_decodes_but_changes_nothing(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with api_client(settings, signed_in=False) as api:
        opened = await api.post("/auth/session", headers=admin_headers(settings))
        assert opened.status_code == 200, opened.text
        cookie = opened.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert opened.json()["who"]["role"] == "admin" and opened.json()["who"]["kind"] == "api_key"
        assert api.cookies.get(SESSION_COOKIE)
        me = await api.get("/auth/me")
        decoded = await api.post("/codec/decode", content=await sealed_body(settings, request()))
        cancel = await api.post(f"/pipeline/cancel/{uuid.uuid4()}")
        queue = await api.post("/pipeline/queue", json={"topic": "x", "channel_id": str(uuid.uuid4())})
        closed = await api.delete("/auth/session")
        api.cookies.clear()
        after = await api.get("/auth/me")
    assert me.status_code == 200 and me.json()["role"] == "admin"
    assert decoded.status_code == 200
    assert cancel.status_code == 401 and queue.status_code == 401  # a forged cross-site change finds no principal
    assert closed.status_code == 204 and f'{SESSION_COOKIE}=""' in closed.headers["set-cookie"]
    assert after.status_code == 401


async def test_cors_answers_the_ui_origin_on_the_codec_only(dev_env: WorkflowEnvironment, settings: Settings) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace"}
    async with api_client(settings, signed_in=False) as api:
        ui = await api.options("/codec/decode", headers={"Origin": UI_ORIGIN, **preflight})
        localhost = await api.options("/codec/decode", headers={"Origin": "http://localhost:8233", **preflight})
        stranger = await api.options("/codec/decode", headers={"Origin": "http://evil.test", **preflight})
        elsewhere = await api.options("/pipeline/queue", headers={"Origin": UI_ORIGIN, **preflight})
        unsigned = await api.post("/codec/decode", content=await sealed_body(settings, request()))
    assert ui.status_code == 200 and ui.headers["access-control-allow-origin"] == UI_ORIGIN
    assert ui.headers["access-control-allow-credentials"] == "true"
    assert localhost.headers["access-control-allow-origin"] == "http://localhost:8233"
    assert "access-control-allow-origin" not in stranger.headers
    assert "access-control-allow-origin" not in elsewhere.headers
    assert unsigned.status_code == 401


async def test_codec_calls_count_apart_at_ten_times_the_limit(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    tight = settings.model_copy(update={"rate_limit_per_minute": 2})
    viewer = {"X-API-Key": await make_key(ledger, Role.VIEWER)}
    body = await sealed_body(settings, request())
    async with api_client(tight, signed_in=False) as api:
        reads = [(await api.get("/auth/me", headers=viewer)).status_code for _ in range(3)]
        decoded = await api.post("/codec/decode", content=body, headers=viewer)
    if reads == [200, 200, 200]:  # a minute boundary fell between the reads: the count started again
        return
    assert reads[-1] == 429
    assert decoded.status_code == 200 and decoded.headers["RateLimit-Limit"] == "20"
