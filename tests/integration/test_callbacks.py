"""A request's callback_url hears, signed, that its real video completed (what an n8n Wait node resumes on)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from ledger import Ledger
from tests.integration.conftest import api_client, running_workers
from tests.integration.test_end_to_end import wait_final
from tests.providers.test_webhooks import SECRET, Receiver


async def test_completion_callback_is_signed_and_carries_the_outputs(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger, receiver: Receiver
) -> None:
    receiver_host = receiver.url.split("://", 1)[1].split("/", 1)[0]  # 127.0.0.1:<port>: allow-listed, as n8n's is
    # Callbacks are signed with their own secret (the receiver checks SECRET); alerts with another.
    signing = settings.model_copy(
        update={
            "alert_webhook_secret": SecretStr("an-alert-secret-the-caller-never-sees"),
            "callback_signing_secret": SecretStr(SECRET),
            "outbound_allowed": [receiver_host],
        }
    )
    body = {
        "topic": "callback octopus",
        "channel_id": str(uuid.uuid4()),
        "user_id": str(uuid.uuid4()),
        "duration_seconds": 30,
        "callback_url": receiver.url,
    }
    async with running_workers(dev_env, signing, ledger), api_client(signing) as api:
        bad = await api.post("/pipeline/queue", json={**body, "callback_url": "ftp://example.org/x"})
        assert bad.status_code == 422
        # This machine's other services and private networks are refused unless allow-listed (SSRF).
        for internal in ("http://127.0.0.1:5432/", "http://localhost:8233/x", "http://169.254.169.254/latest/"):
            refused = await api.post("/pipeline/queue", json={**body, "callback_url": internal})
            assert refused.status_code == 422, internal
            assert refused.json()["detail"][0]["loc"] == ["body", "callback_url"]
            assert "YTEMPIRE_OUTBOUND_ALLOWED" in refused.json()["detail"][0]["msg"]
        video_id = (await api.post("/pipeline/queue", json=body)).json()["video_id"]
        final = await wait_final(api, video_id)
        for _ in range(100):
            if receiver.deliveries:
                break
            await asyncio.sleep(0.1)
    assert final["status"] == "completed"
    [delivery] = receiver.deliveries
    assert delivery.verified and delivery.headers["x-ytempire-event"] == "video_completed"
    event = json.loads(delivery.body)["payload"]
    assert event["video_id"] == video_id and event["status"] == "completed"
    assert Path(event["mp4_path"]).exists() and event["cost_usd"] == final["cost_usd"]
