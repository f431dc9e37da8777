"""Cost control on the real stack: fixed stage prices force a halt; an approval over HTTP lets the video finish."""

from __future__ import annotations

import asyncio
import json
import uuid

from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from ledger import Ledger
from tests.integration.conftest import api_client, running_workers
from tests.integration.test_end_to_end import wait_final
from tests.providers.test_webhooks import SECRET, Receiver
from workflows.video import VideoWorkflow

PRICES = {"script_generation": 1.2, "audio_synthesis": 1.0, "media_collection": 0.8, "video_rendering": 0.5}


async def test_halt_approve_complete_over_http(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    priced = settings.model_copy(update={"stage_price_overrides": PRICES})
    body = {
        "topic": "expensive octopus",
        "channel_id": str(uuid.uuid4()),
        "user_id": str(uuid.uuid4()),
        "duration_seconds": 30,
    }
    async with running_workers(dev_env, priced, ledger), api_client(priced) as api:
        too_rich = await api.post("/pipeline/queue", json={**body, "cost_cap_usd": 5.0})
        assert too_rich.status_code == 422 and "at most 3.00" in too_rich.text
        video_id = (await api.post("/pipeline/queue", json=body)).json()["video_id"]
        for _ in range(300):
            state = (await api.get(f"/pipeline/status/{video_id}")).json()
            if state["status"] == "halted":
                break
            await asyncio.sleep(0.1)
        assert state["status"] == "halted", state
        assert state["stage"] == "video_rendering", "the stage it halted before, where a retry resumes"
        assert state["cost_usd"] == 3.0 and [c["stage"] for c in state["costs"]] == list(PRICES)[:3]
        assert state["cost_cap_usd"] == 3.0 and "would cross the cap $3.00" in state["halted_reason"]
        query = f'WorkflowId = "video-{video_id}" AND VideoStatus = "halted"'
        for _ in range(50):
            if (await dev_env.client.count_workflows(query)).count == 1:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("VideoStatus=halted is not searchable")
        progress = await dev_env.client.get_workflow_handle(f"video-{video_id}").query(VideoWorkflow.progress)
        assert progress.status == "halted" and "video_rendering may cost $0.50" in (progress.halted_reason or "")

        lower = await api.post(
            f"/pipeline/approve/{video_id}", json={"new_cap_usd": 2.0, "approved_by": "ops", "reason": "no"}
        )
        assert lower.status_code == 422 and "must be above the current cap" in lower.text
        assert set(lower.json()["detail"][0]) == {"loc", "msg", "type"}  # the 422 shape the OpenAPI document gives
        approved = await api.post(
            f"/pipeline/approve/{video_id}",
            json={"new_cap_usd": 4.0, "approved_by": "maria", "reason": "flagship video"},
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["cap_usd"] == 4.0
        final = await wait_final(api, video_id)
        too_late = await api.post(
            f"/pipeline/approve/{video_id}", json={"new_cap_usd": 5.0, "approved_by": "ops", "reason": "late"}
        )
    assert final["status"] == "completed"
    assert 3.5 <= final["cost_usd"] <= 4.0
    assert too_late.status_code == 409
    notable = [e for e in await ledger.video_events(video_id) if not e["kind"].startswith("stage_")]
    kinds = [(e["kind"], e["level"]) for e in notable]
    assert kinds[:2] == [("cost_warning", "warning"), ("cost_critical", "critical")]
    assert sorted(kinds[2:4]) == [("cost_halt", "critical"), ("video_halted", "info")]  # the halt, either order
    assert kinds[4:] == [("budget_approved", "info"), ("video_completed", "info")]
    approval = notable[-2]["message"]
    assert "api_key:local-admin for maria" in approval and "flagship video" in approval  # who signed in, for whom


async def test_cost_alerts_reach_the_webhook_signed(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger, receiver: Receiver
) -> None:
    alerting = settings.model_copy(
        update={
            "stage_price_overrides": {"script_generation": 2.6, "audio_synthesis": 0.25},
            "alert_webhook_url": receiver.url,
            "alert_webhook_secret": SecretStr(SECRET),
        }
    )
    body = {
        "topic": "alerting octopus",
        "channel_id": str(uuid.uuid4()),
        "user_id": str(uuid.uuid4()),
        "duration_seconds": 30,
    }
    async with running_workers(dev_env, alerting, ledger), api_client(alerting) as api:
        video_id = (await api.post("/pipeline/queue", json=body)).json()["video_id"]
        final = await wait_final(api, video_id)
        for _ in range(100):
            if len(receiver.deliveries) >= 2:
                break
            await asyncio.sleep(0.1)
    assert final["status"] == "completed"
    events = [json.loads(d.body) for d in receiver.deliveries]
    assert sorted(e["kind"] for e in events) == ["cost_critical", "cost_warning"]
    assert all(d.verified for d in receiver.deliveries), "every delivery carries a valid HMAC-SHA256 signature"
    assert {e["payload"]["video_id"] for e in events} == {video_id}
    assert all(e["id"] == d.headers["idempotency-key"] for e, d in zip(events, receiver.deliveries, strict=True))
    assert all(SECRET not in d.body.decode() for d in receiver.deliveries)
