"""Pipeline health figures from the ledger: queue depth, throughput, error rate, cost per video, breaker states,
and the GPU figures the gpu workers last reported."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from ledger.breakers import load_states
from ledger.videos import WAITING

_CHANNEL = "($1::uuid IS NULL OR channel_id = $1::uuid)"

# One pass over video_queue per status: how many, how many wait, how many finished inside the window.
_STATUS_SQL = f"""
SELECT status,
       count(*) AS videos,
       count(*) FILTER (WHERE {WAITING}) AS waiting,
       count(*) FILTER (WHERE completed_at >= NOW() - make_interval(secs => $2::float8)) AS finished_in_window
FROM video_queue
WHERE {_CHANNEL}
GROUP BY status
"""

# A video's cost is every pipeline_costs row of it (all attempts: a whole-video retry pays again) plus what failed
# stage attempts were billed (pipeline_failed_charges).
_COST_SQL = """
SELECT avg(total) AS avg_cost, percentile_cont(0.95) WITHIN GROUP (ORDER BY total) AS p95_cost
FROM (SELECT v.id,
             COALESCE((SELECT sum(c.amount) FROM pipeline_costs c WHERE c.video_id = v.id), 0)
             + COALESCE((SELECT sum(f.amount) FROM pipeline_failed_charges f WHERE f.video_id = v.id), 0) AS total
      FROM video_queue v
      WHERE v.status = 'completed' AND v.completed_at >= NOW() - make_interval(secs => $2::float8)
        AND ($1::uuid IS NULL OR v.channel_id = $1::uuid)) per_video
"""

# Charges per service, stage durations and cost alerts inside the window: what every worker wrote, so the API's
# /metrics shows them even though each worker process only counts its own.
_SERVICE_COST_SQL = """
SELECT c.service, sum(c.amount) AS usd
FROM (SELECT video_id, service, amount, timestamp AS at FROM pipeline_costs
      UNION ALL
      SELECT video_id, service, amount, created_at AS at FROM pipeline_failed_charges) c
JOIN video_queue v ON v.id = c.video_id
WHERE c.at >= NOW() - make_interval(secs => $2::float8) AND ($1::uuid IS NULL OR v.channel_id = $1::uuid)
GROUP BY c.service
"""
_STAGE_SECONDS_SQL = """
SELECT c.stage,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY (c.metadata->>'seconds')::float8) AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY (c.metadata->>'seconds')::float8) AS p95
FROM pipeline_costs c JOIN video_queue v ON v.id = c.video_id
WHERE c.timestamp >= NOW() - make_interval(secs => $2::float8) AND c.metadata ? 'seconds'
  AND ($1::uuid IS NULL OR v.channel_id = $1::uuid)
GROUP BY c.stage
"""
_ALERTS_SQL = """
SELECT kind, count(*) AS alerts FROM events
WHERE kind IN ('cost_warning', 'cost_critical', 'cost_halt')
  AND occurred_at >= NOW() - make_interval(secs => $2::float8)
  AND ($1::uuid IS NULL OR channel_id = $1::uuid)
GROUP BY kind
"""


GPU_STATUS_MAX_AGE_SECONDS = 60.0  # gpu workers report every 10 s: older rows are of a worker that is gone

_GPU_STATUS_SQL = """
SELECT host, gpu, available, reason, utilization_percent, memory_used_bytes, memory_total_bytes,
       encoder_sessions, encoder_utilization_percent, sampled_at
FROM gpu_status
WHERE sampled_at >= NOW() - make_interval(secs => $1::float8)
ORDER BY host, gpu
"""


@dataclass(frozen=True)
class GpuStatus:
    """One gpu_status row: a GPU of a gpu worker (`host`), or gpu '-' with why that worker has none."""

    host: str
    gpu: str
    available: bool
    reason: str
    utilization_percent: float | None
    memory_used_bytes: int | None
    memory_total_bytes: int | None
    encoder_sessions: int | None
    encoder_utilization_percent: float | None
    sampled_at: datetime


async def gpu_status(pool: asyncpg.Pool, max_age_seconds: float = GPU_STATUS_MAX_AGE_SECONDS) -> list[GpuStatus]:
    """The gpu workers' last reported GPUs, ignoring rows older than `max_age_seconds` (a dead worker's)."""
    rows = await pool.fetch(_GPU_STATUS_SQL, float(max_age_seconds))
    return [GpuStatus(**dict(r)) for r in rows]


@dataclass(frozen=True)
class StageSeconds:
    p50: float
    p95: float


@dataclass(frozen=True)
class PipelineMetrics:
    window_hours: float
    generated_at: datetime
    queue_depth: int  # waiting videos: queued, or preparing before their render
    processing: int
    halted: int
    completed_in_window: int
    failed_in_window: int
    processing_rate_per_hour: float  # videos completed in the window / window hours
    error_rate: float  # failed / (completed + failed) in the window; 0 when none finished
    avg_cost_usd: float | None  # over videos completed in the window; None when none
    p95_cost_usd: float | None
    videos_by_status: dict[str, int] = field(default_factory=dict)
    circuit_breakers: dict[str, str] = field(default_factory=dict)
    cost_by_service_usd: dict[str, float] = field(default_factory=dict)  # charged in the window
    stage_seconds: dict[str, StageSeconds] = field(default_factory=dict)  # successful stage runs in the window
    cost_alerts: dict[str, int] = field(default_factory=dict)  # cost_warning / cost_critical / cost_halt


async def pipeline_metrics(
    pool: asyncpg.Pool, *, window_hours: float = 1.0, channel_id: str | None = None
) -> PipelineMetrics:
    """Figures over the last `window_hours` (queue and status counts are current), optionally for one channel."""
    if window_hours <= 0:
        raise ValueError(f"window_hours must be positive, got {window_hours}")
    seconds = window_hours * 3600.0
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        # One snapshot: every figure (and NOW()) is from the same instant.
        generated_at = await conn.fetchval("SELECT NOW()")
        status_rows = await conn.fetch(_STATUS_SQL, channel_id, seconds)
        cost = await conn.fetchrow(_COST_SQL, channel_id, seconds)
        service_rows = await conn.fetch(_SERVICE_COST_SQL, channel_id, seconds)
        stage_rows = await conn.fetch(_STAGE_SECONDS_SQL, channel_id, seconds)
        alert_rows = await conn.fetch(_ALERTS_SQL, channel_id, seconds)
    breakers = await load_states(pool)

    by_status = {r["status"] or "unknown": int(r["videos"]) for r in status_rows}
    finished = {r["status"]: int(r["finished_in_window"]) for r in status_rows}
    completed = finished.get("completed", 0)
    failed = finished.get("failed", 0)
    assert cost is not None
    return PipelineMetrics(
        window_hours=window_hours,
        generated_at=generated_at,
        queue_depth=sum(int(r["waiting"]) for r in status_rows),
        processing=by_status.get("processing", 0),
        halted=by_status.get("halted", 0),
        completed_in_window=completed,
        failed_in_window=failed,
        processing_rate_per_hour=completed / window_hours,
        error_rate=failed / (completed + failed) if completed + failed else 0.0,
        avg_cost_usd=float(cost["avg_cost"]) if cost["avg_cost"] is not None else None,
        p95_cost_usd=float(cost["p95_cost"]) if cost["p95_cost"] is not None else None,
        videos_by_status=by_status,
        circuit_breakers=breakers,
        cost_by_service_usd={r["service"]: float(r["usd"]) for r in service_rows},
        stage_seconds={r["stage"]: StageSeconds(float(r["p50"]), float(r["p95"])) for r in stage_rows},
        cost_alerts={r["kind"]: int(r["alerts"]) for r in alert_rows},
    )
