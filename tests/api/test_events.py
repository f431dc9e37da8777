"""POST /events through the real app (its lifespan's pool, sink and Temporal client): one event or a batch, readable
as soon as it is answered, a resend harmless, bad input refused with where, and a channel-limited key kept to its
channels."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from api.auth import API_KEY_HEADER
from api.credentials import new_api_key
from core.principals import Role
from core.settings import Settings
from ledger import Ledger
from tests.integration import conftest as integration
from tests.integration.conftest import api_client

settings = integration.settings


def an_event(**overrides: object) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC).isoformat(),
        "kind": "n8n.workflow_run",
        **overrides,
    }


async def test_events_posted_are_stored_once_and_readable_at_once(
    settings: Settings, dev_env: WorkflowEnvironment, ledger: Ledger
) -> None:
    video = uuid.uuid4()
    single = an_event(video_id=str(video), cost_usd=0.25, details={"workflow": "cost_tracking"})
    batch = [an_event(video_id=str(video), kind="n8n.node_run", duration_seconds=n / 10) for n in range(50)]
    async with api_client(settings) as http:
        answers = await asyncio.gather(
            http.post("/events", json=single),
            http.post("/events", json={"events": batch}),
            http.post("/events", json={"events": batch[:10]}),  # a resend, concurrent with the first
        )
        again = await http.post("/events", json=single)
    assert [a.status_code for a in answers] == [202, 202, 202], [a.text for a in answers]
    assert [a.json()["accepted"] for a in answers] == [1, 50, 10]
    assert again.status_code == 202

    stored = await ledger.stored_events(since=datetime.now(UTC) - timedelta(minutes=5), video_id=video)
    assert len(stored) == 51
    first = next(s.event for s in stored if s.event.kind == "n8n.workflow_run")
    assert first.source.startswith("api_key:") and first.cost_usd == 0.25
    assert first.details == {"workflow": "cost_tracking"}


async def test_bad_events_are_refused_with_where(settings: Settings, dev_env: WorkflowEnvironment) -> None:
    old = (datetime.now(UTC) - timedelta(days=settings.events_retention_days + 1)).isoformat()
    ahead = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    twin = an_event()
    cases = {
        "naive time": an_event(occurred_at="2026-12-07T10:00:00"),
        "kind": an_event(kind="Stage Finished!"),
        "level": an_event(level="loud"),
        "negative cost": an_event(cost_usd=-1),
        "unknown field": an_event(colour="red"),
        "huge details": an_event(details={"blob": "x" * 9000}),
    }
    async with api_client(settings) as http:
        answers = {name: await http.post("/events", json=body) for name, body in cases.items()}
        too_old = await http.post("/events", json={"events": [an_event(), an_event(occurred_at=old)]})
        future = await http.post("/events", json=an_event(occurred_at=ahead))
        twins = await http.post("/events", json={"events": [twin, twin]})
        bad_in_batch = await http.post("/events", json={"events": [an_event(), an_event(kind="Bad Kind")]})
        empty = await http.post("/events", json={"events": []})
        too_many = await http.post("/events", json={"events": [an_event() for _ in range(1001)]})
    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(cases, 422)
    assert too_old.status_code == 422 and too_old.json()["detail"][0]["loc"] == ["body", "events", 1, "occurred_at"]
    assert future.status_code == 422 and future.json()["detail"][0]["loc"] == ["body", "occurred_at"]
    assert twins.status_code == 422 and "share an event_id" in twins.text
    assert bad_in_batch.status_code == 422
    assert [e["loc"] for e in bad_in_batch.json()["detail"]] == [["body", "events", 1, "kind"]]
    assert empty.status_code == 422 and too_many.status_code == 422


async def test_a_key_limited_to_channels_posts_events_of_its_channels_only(
    settings: Settings, dev_env: WorkflowEnvironment, ledger: Ledger
) -> None:
    channel = uuid.uuid4()
    key = new_api_key()
    await ledger.create_key(key.id, f"events-{key.id}", key.sha256, Role.OPERATOR, channels=[channel])
    viewer = new_api_key()
    await ledger.create_key(viewer.id, f"viewer-{viewer.id}", viewer.sha256, Role.VIEWER)
    async with api_client(settings, signed_in=False) as http:
        own = await http.post("/events", json=an_event(channel_id=str(channel)), headers={API_KEY_HEADER: key.value})
        other = await http.post(
            "/events", json=an_event(channel_id=str(uuid.uuid4())), headers={API_KEY_HEADER: key.value}
        )
        none = await http.post("/events", json=an_event(), headers={API_KEY_HEADER: key.value})
        read_only = await http.post("/events", json=an_event(), headers={API_KEY_HEADER: viewer.value})
    assert own.status_code == 202, own.text
    assert (other.status_code, none.status_code, read_only.status_code) == (403, 403, 403)
