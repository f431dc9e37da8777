"""Queue admission, idempotency, cancel and whole-video retry through the real API, dev server and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from core.stage_table import STAGES
from ledger import Ledger
from ledger.videos import HOLDS_CAPACITY, WAITING
from tests.integration.conftest import api_client, running_workers
from tests.integration.test_end_to_end import wait_final


def body(channel: str, **extra: object) -> dict[str, object]:
    return {"topic": "octopus hearts", "channel_id": channel, "user_id": str(uuid.uuid4()), **extra}


@pytest.fixture
async def channel(pg_pool: asyncpg.Pool, dev_env: WorkflowEnvironment) -> AsyncIterator[str]:
    """A fresh channel; its videos (ledger rows and workflows) are removed afterwards."""
    channel_id = str(uuid.uuid4())
    yield channel_id
    async for wf in dev_env.client.list_workflows(f'ChannelId = "{channel_id}" AND ExecutionStatus = "Running"'):
        await dev_env.client.get_workflow_handle(wf.id).terminate("test cleanup")
    await pg_pool.execute(
        "DELETE FROM pipeline_costs WHERE video_id IN (SELECT id FROM video_queue WHERE channel_id = $1)", channel_id
    )
    await pg_pool.execute("DELETE FROM video_queue WHERE channel_id = $1", channel_id)


async def fill_queue(pg_pool: asyncpg.Pool, channel_id: str, depth: int) -> None:
    """Top the queue up to `depth` waiting videos with ledger rows of `channel_id` (no workflows needed)."""
    current = int(await pg_pool.fetchval(f"SELECT count(*) FROM video_queue WHERE {HOLDS_CAPACITY}"))
    assert current <= depth, f"{current} videos already wait in the shared test database"
    await pg_pool.executemany(
        "INSERT INTO video_queue (id, user_id, channel_id, request_data) VALUES ($1, $2, $3, '{}'::jsonb)",
        [(str(uuid.uuid4()), str(uuid.uuid4()), channel_id) for _ in range(depth - current)],
    )


async def count_workflows(env: WorkflowEnvironment, query: str, expected: int) -> int:
    found = -1
    for _ in range(50):  # visibility is eventually consistent
        found = len([wf async for wf in env.client.list_workflows(query)])
        if found == expected:
            break
        await asyncio.sleep(0.1)
    return found


async def test_capacity_is_exact_under_concurrency(
    dev_env: WorkflowEnvironment, settings: Settings, pg_pool: asyncpg.Pool, channel: str
) -> None:
    filler, contender = channel, str(uuid.uuid4())
    await fill_queue(pg_pool, filler, 95)
    try:
        async with api_client(settings) as api:
            responses = await asyncio.gather(*(api.post("/pipeline/queue", json=body(contender)) for _ in range(20)))
            metrics = (await api.get("/metrics")).text
    finally:
        accepted_ids = [r.json()["video_id"] for r in responses if r.status_code == 201]
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 5 + [429] * 15
    rejected = next(r for r in responses if r.status_code == 429)
    assert rejected.headers["Retry-After"] == str(settings.queue_retry_after_seconds)
    assert rejected.json()["error"] == "queue_full" and rejected.json()["capacity"] == 100
    assert "queue is full" in rejected.json()["message"]
    ledger_rows = await pg_pool.fetch("SELECT id FROM video_queue WHERE channel_id = $1", contender)
    assert sorted(str(r["id"]) for r in ledger_rows) == sorted(accepted_ids)
    assert await count_workflows(dev_env, f'ChannelId = "{contender}"', 5) == 5
    assert 'ytempire_videos_enqueued_total{outcome="rejected_full"} 15.0' in metrics
    for video_id in accepted_ids:
        await dev_env.client.get_workflow_handle(f"video-{video_id}").terminate("test cleanup")
    await pg_pool.execute("DELETE FROM video_queue WHERE channel_id = $1", contender)


async def test_depth_alerts_fire_once_each(
    dev_env: WorkflowEnvironment, settings: Settings, pg_pool: asyncpg.Pool, ledger: Ledger, channel: str
) -> None:
    depth = int(await pg_pool.fetchval(f"SELECT count(*) FROM video_queue WHERE {WAITING}"))
    held = int(await pg_pool.fetchval(f"SELECT count(*) FROM video_queue WHERE {HOLDS_CAPACITY}"))  # + halted
    tight = settings.model_copy(
        update={"queue_depth_warning": depth + 2, "queue_depth_critical": depth + 4, "queue_capacity": held + 5}
    )
    async with api_client(tight) as api:
        codes = [(await api.post("/pipeline/queue", json=body(channel))).status_code for _ in range(7)]
        metrics = (await api.get("/metrics")).text
    assert codes == [201] * 5 + [429] * 2
    mine = [
        e
        for e in await ledger.events("queue_depth")
        if e["details"]["threshold"] in (depth + 2, depth + 4) and e["details"]["depth"] in (depth + 2, depth + 4)
    ]
    assert [(e["level"], e["details"]["depth"]) for e in mine][-2:] == [("warning", depth + 2), ("critical", depth + 4)]
    assert 'ytempire_queue_depth_alerts_total{level="warning"} 1.0' in metrics
    assert 'ytempire_queue_depth_alerts_total{level="critical"} 1.0' in metrics
    assert f"ytempire_queue_depth {float(depth + 5)}" in metrics


async def test_idempotent_enqueue(
    dev_env: WorkflowEnvironment, settings: Settings, pg_pool: asyncpg.Pool, channel: str
) -> None:
    key = f"n8n-run-{uuid.uuid4()}"
    async with api_client(settings) as api:
        first = await api.post("/pipeline/queue", json=body(channel), headers={"Idempotency-Key": key})
        again = await api.post("/pipeline/queue", json=body(channel), headers={"Idempotency-Key": key})
        racing = await asyncio.gather(
            *(api.post("/pipeline/queue", json=body(channel, request_id=f"{key}-field")) for _ in range(8))
        )
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["video_id"] == first.json()["video_id"]
    assert len({r.json()["video_id"] for r in racing}) == 1
    assert sorted(r.status_code for r in racing) == [200] * 7 + [201]
    assert await pg_pool.fetchval("SELECT count(*) FROM video_queue WHERE channel_id = $1", channel) == 2
    assert await count_workflows(dev_env, f'ChannelId = "{channel}"', 2) == 2


async def test_status_has_position_and_eta_while_waiting(
    dev_env: WorkflowEnvironment, settings: Settings, channel: str
) -> None:
    async with api_client(settings) as api:  # no workers: everything waits
        low = (await api.post("/pipeline/queue", json=body(channel, priority=2))).json()
        high = (await api.post("/pipeline/queue", json=body(channel, priority=9))).json()
        low_status = (await api.get(f"/pipeline/status/{low['video_id']}")).json()
        high_status = (await api.get(f"/pipeline/status/{high['video_id']}")).json()
    assert high_status["position"] < low_status["position"]
    assert low_status["status"] == "queued" and low_status["eta"] > 0
    assert high["eta"] > 0 and low["position"] >= 1


async def test_cancel_through_the_api(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger, channel: str
) -> None:
    async with running_workers(dev_env, settings, ledger), api_client(settings) as api:
        video_id = (await api.post("/pipeline/queue", json=body(channel, complexity="complex"))).json()["video_id"]
        for _ in range(300):
            state = (await api.get(f"/pipeline/status/{video_id}")).json()
            if state["stage"] == "video_rendering":
                break
            await asyncio.sleep(0.1)
        cancel = await api.post(f"/pipeline/cancel/{video_id}")
        assert cancel.status_code == 202, cancel.text
        final = await wait_final(api, video_id, timeout=60)
        again = await api.post(f"/pipeline/cancel/{video_id}")
        missing = await api.post(f"/pipeline/cancel/{uuid.uuid4()}")
    assert final["status"] == "cancelled"
    assert [c["stage"] for c in final["costs"]] == ["script_generation", "audio_synthesis", "media_collection"]
    assert not (settings.artifacts_dir / video_id).exists(), "partial artifacts are removed"
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]
    assert missing.status_code == 404


async def test_whole_video_retry_resumes_from_the_failed_stage(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger, channel: str
) -> None:
    broken = settings.model_copy(update={"render_preset": "no-such-preset"})  # ffmpeg rejects it: render fails
    manual = settings.model_copy(update={"automatic_video_retries": False})  # the operator retries
    async with running_workers(dev_env, broken, ledger), api_client(manual) as api:
        video_id = (await api.post("/pipeline/queue", json=body(channel, duration_seconds=30))).json()["video_id"]
        failed = await wait_final(api, video_id)
    assert failed["status"] == "failed" and failed["stage"] == "video_rendering"
    assert failed["errors"][-1]["stage"] == "video_rendering"
    failure = failed["failure"]
    assert (failure["stage"], failure["retry_worthwhile"]) == ("video_rendering", True) and failure["type"]
    assert failure["type"] == "FFmpegError" and "Conversion failed" in failure["message"]

    async with running_workers(dev_env, settings, ledger), api_client(settings) as api:  # the operator fixed it
        retry = await api.post(f"/pipeline/retry/{video_id}")
        assert retry.status_code == 202, retry.text
        assert retry.json()["resume_from"] == "video_rendering"
        assert retry.json()["reused_stages"] == ["script_generation", "audio_synthesis", "media_collection"]
        done = await wait_final(api, video_id)
        again = await api.post(f"/pipeline/retry/{video_id}")
    assert done["status"] == "completed" and done["attempts"] == 2
    assert (settings.data_dir / done["outputs"]["mp4_path"]).exists()
    assert [(c["stage"], c["attempt"]) for c in done["costs"]] == [
        ("script_generation", 1),
        ("audio_synthesis", 1),
        ("media_collection", 1),
        ("video_rendering", 2),
        ("quality_validation", 2),
        ("upload_preparation", 2),
    ]
    assert again.status_code == 409 and "only a failed video" in again.json()["detail"]
    history = await dev_env.client.get_workflow_handle(f"video-{video_id}").fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled == [s.activity for s in STAGES[3:]] + ["finalize_video"]


async def test_a_failed_video_retries_itself_once_the_machine_is_fixed(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger, channel: str
) -> None:
    """The render fails both its attempts (a broken render host); nobody intervenes: the video waits its backoff,
    the host is fixed meanwhile, and attempt 2 resumes at the render and completes, each stage paid once."""
    broken = settings.model_copy(update={"render_preset": "no-such-preset"})
    quick = settings.model_copy(update={"video_retry_backoff_seconds": 3.0})
    async with api_client(quick) as api:
        async with running_workers(dev_env, broken, ledger):
            video_id = (await api.post("/pipeline/queue", json=body(channel, duration_seconds=30))).json()["video_id"]
            for _ in range(600):
                row = await ledger.get_video(video_id)
                if row is not None and row.attempts == 2:
                    break
                await asyncio.sleep(0.1)
        waiting = (await api.get(f"/pipeline/status/{video_id}")).json()
        assert waiting["status"] == "queued" and waiting["attempts"] == 2
        async with running_workers(dev_env, settings, ledger):
            done = await wait_final(api, video_id)
    assert done["status"] == "completed" and done["attempts"] == 2
    assert [(c["stage"], c["attempt"]) for c in done["costs"] if not c["failed_attempt"]] == [
        ("script_generation", 1),
        ("audio_synthesis", 1),
        ("media_collection", 1),
        ("video_rendering", 2),
        ("quality_validation", 2),
        ("upload_preparation", 2),
    ]
    events = [e["kind"] for e in await ledger.video_events(video_id)]
    assert events.count("retry_scheduled") == 1


async def test_at_most_three_attempts(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger, channel: str
) -> None:
    broken = settings.model_copy(update={"render_preset": "no-such-preset"})
    manual = settings.model_copy(update={"automatic_video_retries": False})
    async with running_workers(dev_env, broken, ledger), api_client(manual) as api:
        video_id = (await api.post("/pipeline/queue", json=body(channel, duration_seconds=30))).json()["video_id"]
        for attempt in (2, 3):
            assert (await wait_final(api, video_id))["status"] == "failed"
            retry = await api.post(f"/pipeline/retry/{video_id}")
            assert retry.status_code == 202 and retry.json()["attempt"] == attempt
        assert (await wait_final(api, video_id))["status"] == "failed"
        fourth = await api.post(f"/pipeline/retry/{video_id}")
    assert fourth.status_code == 409
    assert "3 attempts" in fourth.json()["detail"] and "at most 3" in fourth.json()["detail"]


async def test_batch_enqueue_answers_for_each_video_and_is_safe_to_resend(
    dev_env: WorkflowEnvironment, settings: Settings, pg_pool: asyncpg.Pool, channel: str
) -> None:
    depth = int(await pg_pool.fetchval(f"SELECT count(*) FROM video_queue WHERE {HOLDS_CAPACITY}"))
    tight = settings.model_copy(update={"queue_capacity": depth + 3})
    videos = [body(channel, priority=p) for p in (3, 9, 5, 7, 1)]
    videos[1]["language"] = "ja"  # no Japanese templates offline: invalid here, not a 422 for the whole batch
    key = f"batch-{uuid.uuid4()}"
    async with api_client(tight) as api:
        first = await api.post("/pipeline/queue/batch", json={"videos": videos}, headers={"Idempotency-Key": key})
    assert first.status_code == 200, first.text
    answer = first.json()
    assert (answer["created"], answer["repeated"], answer["rejected"]) == (3, 0, 2)
    outcomes = [(r["index"], r["outcome"], r["error"]) for r in answer["results"]]
    assert outcomes == [
        (0, "created", None),
        (1, "rejected", "invalid"),
        (2, "created", None),
        (3, "created", None),
        (4, "rejected", "queue_full"),
    ]
    assert "YTEMPIRE_SCRIPT_PROVIDER" in answer["results"][1]["message"]
    assert "queue is full" in answer["results"][4]["message"]
    assert first.headers["Retry-After"] == str(settings.queue_retry_after_seconds)
    created = {r["index"]: r["video"]["video_id"] for r in answer["results"] if r["outcome"] == "created"}

    roomy = settings.model_copy(update={"queue_capacity": depth + 10})
    async with api_client(roomy) as api:
        again = await api.post("/pipeline/queue/batch", json={"videos": videos}, headers={"Idempotency-Key": key})
        invalid = await api.post("/pipeline/queue/batch", json={"videos": [body(channel, priority=11)]})
        empty = await api.post("/pipeline/queue/batch", json={"videos": []})
    resent = again.json()
    assert (resent["created"], resent["repeated"], resent["rejected"]) == (1, 3, 1), resent
    assert [r["outcome"] for r in resent["results"]] == ["repeated", "rejected", "repeated", "repeated", "created"]
    assert {r["index"]: r["video"]["video_id"] for r in resent["results"] if r["outcome"] == "repeated"} == created
    assert "Retry-After" not in again.headers
    assert invalid.status_code == 422 and invalid.json()["detail"][0]["loc"] == ["body", "videos", 0, "priority"]
    assert empty.status_code == 422
    assert await pg_pool.fetchval("SELECT count(*) FROM video_queue WHERE channel_id = $1", channel) == 4
    assert await count_workflows(dev_env, f'ChannelId = "{channel}"', 4) == 4


async def test_list_videos_by_channel_and_status_a_page_at_a_time(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger, channel: str
) -> None:
    async with api_client(settings) as api:
        queued = await api.post(
            "/pipeline/queue/batch", json={"videos": [body(channel, topic=f"topic number {i}") for i in range(5)]}
        )
        ids = [r["video"]["video_id"] for r in queued.json()["results"]]
        await ledger.stage_failed(ids[1], "script_generation", 1, "InvalidRequest", "no")
        await ledger.finalize(ids[1], "failed", "InvalidRequest", "no")
        seen: list[str] = []
        cursor = None
        for _ in range(5):
            params = {"channel_id": channel, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await api.get("/pipeline/videos", params=params)).json()
            seen += [v["video_id"] for v in page["videos"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        failed = (
            await api.get("/pipeline/videos", params={"channel_id": channel, "status": ["failed", "halted"]})
        ).json()
        queued_only = (await api.get("/pipeline/videos", params={"channel_id": channel, "status": "queued"})).json()
        bad_cursor = await api.get("/pipeline/videos", params={"cursor": "yesterday"})
        bad_status = await api.get("/pipeline/videos", params={"status": "done"})
    assert seen == ids[::-1]  # newest first, every video once across three pages
    [row] = failed["videos"]
    assert (row["video_id"], row["status"], row["last_error_type"]) == (ids[1], "failed", "InvalidRequest")
    assert row["topic"] == "topic number 1" and row["status_url"] == f"/pipeline/status/{ids[1]}"
    assert {v["video_id"] for v in queued_only["videos"]} == set(ids) - {ids[1]}
    assert bad_cursor.status_code == 422 and bad_status.status_code == 422
