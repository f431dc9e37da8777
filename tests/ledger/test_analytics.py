"""GET /pipeline/metrics figures against the real PostgreSQL ledger (one fresh channel per test: the DB is shared)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from api.routes import pipeline_metrics as route
from core.domain import VideoRequest
from core.records import CostLine
from ledger import Ledger
from ledger.analytics import pipeline_metrics
from ledger.breakers import save_state
from tests.admission import admit


async def add_video(
    ledger: Ledger,
    pool: asyncpg.Pool,
    channel_id: str,
    status: str,
    *,
    stage: str | None = None,
    finished_minutes_ago: float | None = None,
    costs: tuple[float, ...] = (),
) -> str:
    req = VideoRequest(
        video_id=str(uuid.uuid4()), topic="octopus hearts", channel_id=channel_id, user_id=str(uuid.uuid4())
    )
    await admit(ledger, req, {"topic": req.topic})
    for i, amount in enumerate(costs):
        await ledger.record_stage_cost(req.video_id, f"stage_{i}", CostLine("compute", "test", amount))
    await pool.execute(
        """UPDATE video_queue SET status = $2, stage = $3,
               completed_at = NOW() - make_interval(secs => $4::float8)
           WHERE id = $1""",
        req.video_id,
        status,
        stage,
        finished_minutes_ago * 60 if finished_minutes_ago is not None else None,
    )
    return req.video_id


@pytest.fixture
async def channel(ledger: Ledger, pg_pool: asyncpg.Pool) -> str:
    """A channel with one video in every situation the figures distinguish."""
    channel_id = str(uuid.uuid4())
    for _ in range(2):
        await add_video(ledger, pg_pool, channel_id, "queued")
    await add_video(ledger, pg_pool, channel_id, "processing", stage="script_generation")  # still waiting
    await add_video(ledger, pg_pool, channel_id, "processing", stage="video_rendering")  # no longer waiting
    await add_video(ledger, pg_pool, channel_id, "halted", stage="video_rendering", costs=(2.9,))
    await add_video(ledger, pg_pool, channel_id, "completed", finished_minutes_ago=5, costs=(0.5, 0.5))
    await add_video(ledger, pg_pool, channel_id, "completed", finished_minutes_ago=20, costs=(2.0,))
    await add_video(ledger, pg_pool, channel_id, "completed", finished_minutes_ago=50, costs=(1.0, 1.5, 0.5))
    await add_video(ledger, pg_pool, channel_id, "completed", finished_minutes_ago=150, costs=(10.0,))
    await add_video(ledger, pg_pool, channel_id, "failed", finished_minutes_ago=10, costs=(0.3,))
    await add_video(ledger, pg_pool, channel_id, "failed", finished_minutes_ago=170)
    return channel_id


async def test_figures_over_the_last_hour(pg_pool: asyncpg.Pool, channel: str) -> None:
    m = await pipeline_metrics(pg_pool, window_hours=1.0, channel_id=channel)
    assert m.queue_depth == 3
    assert (m.processing, m.halted) == (2, 1)
    assert m.videos_by_status == {"queued": 2, "processing": 2, "halted": 1, "completed": 4, "failed": 2}
    assert (m.completed_in_window, m.failed_in_window) == (3, 1)
    assert m.processing_rate_per_hour == 3.0
    assert m.error_rate == 0.25
    assert m.avg_cost_usd == pytest.approx(2.0)  # 1.0, 2.0, 3.0: halted and failed videos do not count
    assert m.p95_cost_usd == pytest.approx(2.9)  # percentile_cont interpolates: 2 + 0.9 * (3 - 2)
    assert m.window_hours == 1.0 and m.generated_at.tzinfo is not None


async def test_a_wider_window(pg_pool: asyncpg.Pool, channel: str) -> None:
    m = await pipeline_metrics(pg_pool, window_hours=3.0, channel_id=channel)
    assert (m.completed_in_window, m.failed_in_window) == (4, 2)
    assert m.processing_rate_per_hour == pytest.approx(4 / 3)
    assert m.error_rate == pytest.approx(2 / 6)
    assert m.avg_cost_usd == pytest.approx(4.0)
    assert m.queue_depth == 3  # current, whatever the window


async def test_an_empty_channel(pg_pool: asyncpg.Pool) -> None:
    m = await pipeline_metrics(pg_pool, channel_id=str(uuid.uuid4()))
    assert (m.queue_depth, m.processing, m.halted, m.completed_in_window, m.failed_in_window) == (0, 0, 0, 0, 0)
    assert (m.processing_rate_per_hour, m.error_rate) == (0.0, 0.0)
    assert m.avg_cost_usd is None and m.p95_cost_usd is None
    assert m.videos_by_status == {}


async def test_whole_pipeline_includes_the_channel_and_breakers(pg_pool: asyncpg.Pool, channel: str) -> None:
    service = f"test-{uuid.uuid4().hex[:12]}"
    await save_state(pg_pool, service, "open", 5)
    m = await pipeline_metrics(pg_pool)
    assert m.queue_depth >= 3 and m.videos_by_status["completed"] >= 4
    assert m.circuit_breakers[service] == "open"


async def test_window_must_be_positive(pg_pool: asyncpg.Pool) -> None:
    with pytest.raises(ValueError, match="window_hours"):
        await pipeline_metrics(pg_pool, window_hours=0)


@pytest.fixture
async def api(pg_pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(route.router)
    app.state.pool = pg_pool
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


async def test_get_pipeline_metrics(api: httpx.AsyncClient, channel: str) -> None:
    response = await api.get("/pipeline/metrics", params={"channel_id": channel, "window_hours": 1})
    assert response.status_code == 200
    body = response.json()
    assert body["queue_depth"] == 3 and body["processing_rate_per_hour"] == 3.0 and body["error_rate"] == 0.25
    assert body["avg_cost_usd"] == pytest.approx(2.0) and body["p95_cost_usd"] == pytest.approx(2.9)
    assert body["videos_by_status"]["completed"] == 4
    assert set(body) >= {"window_hours", "generated_at", "halted", "processing", "circuit_breakers"}


@pytest.mark.parametrize("params", [{"window_hours": "0"}, {"window_hours": "-1"}, {"channel_id": "not-a-uuid"}])
async def test_bad_parameters_are_422(api: httpx.AsyncClient, params: dict[str, str]) -> None:
    response = await api.get("/pipeline/metrics", params=params)
    assert response.status_code == 422


async def test_costs_per_service_stage_durations_and_alerts(ledger: Ledger, pg_pool: asyncpg.Pool) -> None:
    channel_id = str(uuid.uuid4())
    video = await add_video(ledger, pg_pool, channel_id, "processing")
    for stage, service, usd, seconds in [
        ("script_generation", "openai", 0.01, 2.0),
        ("audio_synthesis", "elevenlabs", 0.30, 4.0),
        ("media_collection", "pexels", 0.002, 1.0),
    ]:
        await ledger.record_stage_cost(video, stage, CostLine(service, "call", usd, {"seconds": seconds}))
    other = await add_video(ledger, pg_pool, channel_id, "processing")
    await ledger.record_stage_cost(other, "audio_synthesis", CostLine("elevenlabs", "call", 0.20, {"seconds": 8.0}))
    await ledger.record_event("cost_warning", "warning", "past the warning threshold", {}, video)
    m = await pipeline_metrics(pg_pool, channel_id=channel_id)
    assert m.cost_by_service_usd == pytest.approx({"openai": 0.01, "elevenlabs": 0.50, "pexels": 0.002})
    assert m.stage_seconds["audio_synthesis"].p50 == pytest.approx(6.0)
    assert m.stage_seconds["audio_synthesis"].p95 == pytest.approx(7.8)
    assert m.stage_seconds["script_generation"].p95 == pytest.approx(2.0)
    assert m.cost_alerts == {"cost_warning": 1}
