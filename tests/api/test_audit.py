"""The audit log: every mutating call, refusals included, with who, what, which video, from where and the outcome;
read by admins a page at a time; rows can be neither changed nor removed."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from core.principals import Role
from core.settings import Settings
from ledger import Ledger
from tests.api.test_auth import make_key, video
from tests.integration import conftest as integration
from tests.integration.conftest import api_client
from workers.housekeeping.audit_retention import AuditRetention

settings = integration.settings  # the real-stack Settings fixture: tmp data dir, the dev server, fresh task queues


async def test_who_did_what_is_recorded_and_only_admins_read_it(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    name = f"ops-{uuid.uuid4().hex[:6]}"
    operator = {"X-API-Key": await make_key(ledger, Role.OPERATOR, name)}
    viewer = {"X-API-Key": await make_key(ledger, Role.VIEWER)}
    address = f"192.0.2.{uuid.uuid4().int % 250 + 1}"
    async with api_client(settings, signed_in=False, address=address) as api:
        queued = (await api.post("/pipeline/queue", json=video(), headers={**operator, "Idempotency-Key": "a1"})).json()
        video_id = queued["video_id"]
        refused = await api.post(f"/pipeline/cancel/{video_id}", headers=viewer)
        anonymous = await api.post(f"/pipeline/cancel/{video_id}")
        cancelled = await api.post(f"/pipeline/cancel/{video_id}", headers=operator)
        await api.get(f"/pipeline/status/{video_id}", headers=operator)  # a read: not audited
        mine = await api.get("/audit", params={"target": video_id}, headers=admin_headers_of(settings))
        first_page = await api.get(
            "/audit", params={"actor": f"api_key:{name}", "limit": 1}, headers=admin_headers_of(settings)
        )
        second_page = await api.get(
            "/audit",
            params={"actor": f"api_key:{name}", "limit": 1, "cursor": first_page.json()["next_cursor"]},
            headers=admin_headers_of(settings),
        )
        not_for_operators = await api.get("/audit", headers=operator)
    assert refused.status_code == 403 and anonymous.status_code == 401 and cancelled.status_code == 202
    entries = mine.json()["entries"]
    assert [(e["actor"], e["action"], e["outcome"]) for e in entries] == [
        (f"api_key:{name}", "POST /pipeline/cancel/{video_id}", 202),
        ("anonymous", "POST /pipeline/cancel/{video_id}", 401),
        (entries[2]["actor"], "POST /pipeline/cancel/{video_id}", 403),
    ]
    assert entries[2]["actor"].startswith("api_key:test-viewer-")
    assert all(e["client"] == address and e["target"] == video_id for e in entries)
    assert entries[0]["detail"] == {"temporal": "cancel"}
    queue_entries = [*first_page.json()["entries"], *second_page.json()["entries"]]
    assert [e["action"] for e in queue_entries] == ["POST /pipeline/cancel/{video_id}", "POST /pipeline/queue"]
    assert queue_entries[1]["detail"]["video_id"] == video_id and queue_entries[1]["detail"]["created"] is True
    assert queue_entries[1]["detail"]["idempotency_key"] == "a1"
    assert not_for_operators.status_code == 403


def admin_headers_of(settings: Settings) -> dict[str, str]:
    return integration.admin_headers(settings)


async def test_the_audit_log_is_append_only_even_for_its_owner(
    ledger: Ledger, pg_pool: asyncpg.Pool, owner_pool: asyncpg.Pool
) -> None:
    """The app's role may not change entries at all (tests/ledger/test_privileges.py); the owner meets the trigger."""
    await ledger.record_audit("api_key:test", "POST /pipeline/queue", None, "127.0.0.1", 201, {})
    for statement in (
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await owner_pool.execute(statement)
    assert await pg_pool.fetchval("SELECT count(*) FROM audit_log WHERE actor = 'api_key:test'") >= 1


async def test_entries_older_than_a_year_go_and_younger_ones_stay(ledger: Ledger, pg_pool: asyncpg.Pool) -> None:
    actor = f"api_key:retention-{uuid.uuid4().hex[:6]}"
    await ledger.record_audit(actor, "POST /pipeline/queue", None, "127.0.0.1", 201, {})
    # An entry from 13 months ago, as a year of appends would leave it (the trigger allows only INSERT here).
    await pg_pool.execute(
        "INSERT INTO audit_log (at, actor, action, client, outcome) "
        "VALUES (NOW() - INTERVAL '13 months', $1, 'POST /pipeline/cancel/{video_id}', '127.0.0.1', 202)",
        actor,
    )
    assert await AuditRetention(ledger).run() >= 1
    left = await ledger.audit_entries(actor=actor)
    assert [e.action for e in left] == ["POST /pipeline/queue"]
