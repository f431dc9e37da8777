"""The API's Prometheus series (one registry per app, so several apps can live in one test process).

Counters and the enqueue histogram are updated by the routes; the ledger figures (videos by status, halted videos,
cost per video, throughput, error rate, breaker states, queue depth) are read from PostgreSQL at each scrape, so
they are right whichever process changed the ledger.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import get_args

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ytempire.analytics import PipelineMetrics, pipeline_metrics
from ytempire.domain import VideoStatus

log = logging.getLogger(__name__)

LEDGER_WINDOW_HOURS = 1.0  # rates and costs cover the last hour, like GET /pipeline/metrics' default
LEDGER_TIMEOUT_SECONDS = 5.0  # a slow ledger must not hang the scrape (Prometheus' default timeout is 10 s)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.queue_depth = Gauge(
            "ytempire_queue_depth", "Videos waiting (queued, or preparing before their render)", registry=self.registry
        )
        self.queue_alerts = Counter(
            "ytempire_queue_depth_alerts", "Queue depth threshold crossings", ["level"], registry=self.registry
        )
        self.enqueued = Counter(
            "ytempire_videos_enqueued", "Enqueue requests by outcome", ["outcome"], registry=self.registry
        )
        self.enqueue_seconds = Histogram(
            "ytempire_enqueue_seconds",
            "Wall time of POST /pipeline/queue",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        window = f"last {LEDGER_WINDOW_HOURS:g} h"
        self.videos = Gauge("ytempire_videos", "Videos in the ledger per status", ["status"], registry=self.registry)
        self.halted = Gauge(
            "ytempire_videos_halted",
            "Videos stopped at their cost cap, waiting for an operator",
            registry=self.registry,
        )
        self.cost_avg = Gauge(
            "ytempire_video_cost_avg_usd",
            f"Mean cost of the videos completed in the {window} (NaN when none completed)",
            registry=self.registry,
        )
        self.cost_p95 = Gauge(
            "ytempire_video_cost_p95_usd",
            f"95th percentile cost of the videos completed in the {window} (NaN when none completed)",
            registry=self.registry,
        )
        self.processing_rate = Gauge(
            "ytempire_processing_rate_per_hour", f"Videos completed per hour over the {window}", registry=self.registry
        )
        self.error_rate = Gauge(
            "ytempire_error_rate",
            f"failed / (completed + failed) over the {window}; 0 when none finished",
            registry=self.registry,
        )
        self.breaker_open = Gauge(
            "ytempire_circuit_breaker_open",
            "1 while a service's circuit breaker is open (last state a worker saved in the ledger), else 0",
            ["service"],
            registry=self.registry,
        )
        self.cost_by_service = Gauge(
            "ytempire_service_cost_usd",
            f"Dollars charged per service (openai, elevenlabs, compute, storage, ...) in the {window}, all workers",
            ["service"],
            registry=self.registry,
        )
        self.stage_duration = Gauge(
            "ytempire_stage_duration_seconds",
            f"Wall time of successful stage runs in the {window}, all workers (quantile 0.5 and 0.95)",
            ["stage", "quantile"],
            registry=self.registry,
        )
        self.cost_alerts = Gauge(
            "ytempire_cost_alerts_recent",
            f"Cost alerts (cost_warning, cost_critical, cost_halt) recorded in the {window}",
            ["kind"],
            registry=self.registry,
        )
        self.ledger_up = Gauge(
            "ytempire_ledger_up",
            "1 when the last scrape read the ledger figures; 0: they are the last ones read",
            registry=self.registry,
        )

    def update_from(self, figures: PipelineMetrics) -> None:
        """Set the ledger-derived series from one snapshot (no await in here: a concurrent scrape sees all or none)."""
        self.queue_depth.set(figures.queue_depth)
        self.videos.clear()
        for status in get_args(VideoStatus):
            self.videos.labels(status).set(0)  # every status always present, so sums and rates have no gaps
        for status, count in figures.videos_by_status.items():
            self.videos.labels(status).set(count)
        self.halted.set(figures.halted)
        self.cost_avg.set(figures.avg_cost_usd if figures.avg_cost_usd is not None else math.nan)
        self.cost_p95.set(figures.p95_cost_usd if figures.p95_cost_usd is not None else math.nan)
        self.processing_rate.set(figures.processing_rate_per_hour)
        self.error_rate.set(figures.error_rate)
        self.cost_by_service.clear()
        for service, usd in figures.cost_by_service_usd.items():
            self.cost_by_service.labels(service).set(usd)
        self.stage_duration.clear()
        for stage, seconds in figures.stage_seconds.items():
            self.stage_duration.labels(stage, "0.5").set(seconds.p50)
            self.stage_duration.labels(stage, "0.95").set(seconds.p95)
        self.cost_alerts.clear()
        for kind in ("cost_warning", "cost_critical", "cost_halt"):
            self.cost_alerts.labels(kind).set(figures.cost_alerts.get(kind, 0))
        self.breaker_open.clear()
        for service, state in figures.circuit_breakers.items():
            self.breaker_open.labels(service).set(1 if state == "open" else 0)

    async def refresh_from_ledger(self, pool: asyncpg.Pool) -> bool:
        """Re-read the ledger figures; on failure keep the last ones and set `ytempire_ledger_up` to 0."""
        try:
            figures = await asyncio.wait_for(
                pipeline_metrics(pool, window_hours=LEDGER_WINDOW_HOURS), LEDGER_TIMEOUT_SECONDS
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning("metrics scrape could not read the ledger: %s", exc)
            self.ledger_up.set(0)
            return False
        self.update_from(figures)
        self.ledger_up.set(1)
        return True
