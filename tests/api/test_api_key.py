"""The optional API key (YTEMPIRE_API_KEY): /pipeline needs X-API-Key when set; health and Prometheus stay open."""

from __future__ import annotations

import asyncio
import secrets
import uuid

import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from core.settings import Settings
from tests.api.test_stream import serving
from tests.integration import conftest as integration
from tests.integration.conftest import api_client

settings = integration.settings  # the real-stack Settings fixture: tmp data dir, the dev server, fresh task queues


@pytest.fixture
def keyed(settings: Settings) -> Settings:
    return settings.model_copy(update={"api_key": SecretStr(secrets.token_urlsafe(24))})


def video() -> dict[str, object]:
    return {"topic": "keyed octopus", "channel_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4())}


async def test_pipeline_routes_refuse_a_missing_or_wrong_key(dev_env: WorkflowEnvironment, keyed: Settings) -> None:
    assert keyed.api_key is not None
    key = keyed.api_key.get_secret_value()
    async with api_client(keyed) as api:
        missing = await api.post("/pipeline/queue", json=video())
        wrong = await api.get("/pipeline/metrics", headers={"X-API-Key": key[:-1] + ("x" if key[-1] != "x" else "y")})
        status_without = await api.get(f"/pipeline/status/{uuid.uuid4()}")
        queued = await api.post("/pipeline/queue", json=video(), headers={"X-API-Key": key})
        metrics = await api.get("/pipeline/metrics", headers={"X-API-Key": key})
        unknown = await api.get(f"/pipeline/status/{uuid.uuid4()}", headers={"X-API-Key": key})
        health = await api.get("/healthz")
        prometheus = await api.get("/metrics")
        schema = (await api.get("/openapi.json")).json()

    assert missing.status_code == 401 and "missing X-API-Key header" in missing.json()["detail"]
    assert missing.headers["www-authenticate"] == "X-API-Key"
    assert wrong.status_code == 401 and wrong.json()["detail"] == "invalid API key in the X-API-Key header"
    assert status_without.status_code == 401
    assert key not in missing.text + wrong.text
    assert queued.status_code == 201, queued.text
    assert metrics.status_code == 200 and unknown.status_code == 404
    assert health.status_code == 200 and prometheus.status_code == 200
    assert schema["components"]["securitySchemes"]["APIKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The value of YTEMPIRE_API_KEY; required on /pipeline when the server sets one.",
    }
    assert {"APIKeyHeader": []} in schema["paths"]["/pipeline/queue"]["post"]["security"]


async def test_without_a_configured_key_the_api_stays_open(dev_env: WorkflowEnvironment, settings: Settings) -> None:
    assert settings.api_key is None
    async with api_client(settings) as api:
        assert (await api.get("/pipeline/metrics")).status_code == 200
        assert (await api.get("/pipeline/metrics", headers={"X-API-Key": "anything"})).status_code == 200


async def test_the_stream_needs_the_key_too(dev_env: WorkflowEnvironment, keyed: Settings) -> None:
    assert keyed.api_key is not None
    async with serving(keyed) as api:
        url = f"{api.ws_base}/{uuid.uuid4()}"
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url):
                pass
        assert refused.value.response.status_code == 403
        async with connect(url, additional_headers={"X-API-Key": keyed.api_key.get_secret_value()}) as ws:
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), timeout=10)
        assert ws.close_code == 4404  # past the key check: the unknown video's own close code
