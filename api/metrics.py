"""The API's Prometheus series (one registry per app, so several apps can live in one test process).

Counters and the enqueue histogram are updated by the routes; the ledger figures (videos by status, halted videos,
cost per video, throughput, error rate, breaker states, queue depth, the gpu workers' last reported GPU figures) are
read from PostgreSQL at each scrape, so they are right whichever process changed the ledger.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import get_args

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from core.domain import VideoStatus
from core.youtube_metrics import quota_day
from ledger.analytics import GPU_STATUS_MAX_AGE_SECONDS, GpuStatus, PipelineMetrics, gpu_status, pipeline_metrics
from ledger.performance import ChannelTotal, channel_totals
from ledger.quota import quota_used_on
from ledger.youtube_metrics import CollectionStatus, collection_status
from telemetry.gpu import TARGET_BAND_PERCENT, in_band

log = logging.getLogger(__name__)

LEDGER_WINDOW_HOURS = 1.0  # rates and costs cover the last hour, like GET /pipeline/metrics' default
LEDGER_TIMEOUT_SECONDS = 5.0  # a slow ledger must not hang the scrape (Prometheus' default timeout is 10 s)


@dataclass(frozen=True)
class LedgerFigures:
    """What one scrape reads from the ledger."""

    pipeline: PipelineMetrics
    gpus: list[GpuStatus]
    collection: list[CollectionStatus]
    quota_used: dict[str, int]
    channels: list[ChannelTotal]


class ApiMetrics:
    def __init__(self, quota_limits: dict[str, int] | None = None) -> None:
        self.registry = CollectorRegistry()
        self._quota_limits = quota_limits or {}
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
        reported = f"as last reported to the ledger by the gpu workers (fresh within {GPU_STATUS_MAX_AGE_SECONDS:g} s)"
        self.gpu_available = Gauge(
            "ytempire_gpu_reported_available",
            f'Whether a gpu worker samples GPUs: 1 with reason="ok", else 0 with why not, {reported}',
            ["host", "reason"],
            registry=self.registry,
        )
        gpu_labels = ["host", "gpu"]
        self.gpu_utilization = Gauge(
            "ytempire_gpu_reported_utilization_percent",
            f"Percent of the sample period in which a kernel ran on the GPU, {reported}",
            gpu_labels,
            registry=self.registry,
        )
        self.gpu_memory_used = Gauge(
            "ytempire_gpu_reported_memory_used_bytes",
            f"GPU memory in use, {reported}",
            gpu_labels,
            registry=self.registry,
        )
        self.gpu_memory_total = Gauge(
            "ytempire_gpu_reported_memory_total_bytes",
            f"GPU memory installed, {reported}",
            gpu_labels,
            registry=self.registry,
        )
        self.gpu_encoder_sessions = Gauge(
            "ytempire_gpu_reported_encoder_sessions",
            f"Active NVENC encoder sessions, {reported}",
            gpu_labels,
            registry=self.registry,
        )
        low, high = TARGET_BAND_PERCENT
        self.gpu_in_target_band = Gauge(
            "ytempire_gpu_reported_in_target_band",
            f"1 while GPU utilisation is within the {low:g}-{high:g} % target band, else 0, {reported}",
            gpu_labels,
            registry=self.registry,
        )
        collection = ["channel", "api"]
        self.collection_last_success = Gauge(
            "ytempire_youtube_collection_last_success_timestamp_seconds",
            "When a channel's YouTube collection from an API (data, analytics) last succeeded (Unix time)",
            collection,
            registry=self.registry,
        )
        self.collection_last_ok = Gauge(
            "ytempire_youtube_collection_last_ok",
            "1 when a channel's latest collection run from an API succeeded, 0 when refused (credentials, quota)",
            collection,
            registry=self.registry,
        )
        self.collection_last_rows = Gauge(
            "ytempire_youtube_collection_last_rows",
            "Rows a channel's latest collection run from an API wrote",
            collection,
            registry=self.registry,
        )
        self.quota_used = Gauge(
            "ytempire_provider_quota_used_units",
            "Units of a provider quota bucket used today (YouTube's day ends at midnight Pacific)",
            ["bucket"],
            registry=self.registry,
        )
        self.quota_left = Gauge(
            "ytempire_provider_quota_left_units",
            "Units of a provider quota bucket left today, under this deployment's limit",
            ["bucket"],
            registry=self.registry,
        )
        day = "over the last 24 h of hourly rollups"
        self.channel_views = Gauge(
            "ytempire_channel_views_24h", f"A channel's views {day}", ["channel"], registry=self.registry
        )
        self.channel_revenue = Gauge(
            "ytempire_channel_revenue_usd_24h",
            f"A channel's estimated revenue {day} (absent while YouTube reported none)",
            ["channel"],
            registry=self.registry,
        )
        self.channel_cost = Gauge(
            "ytempire_channel_cost_usd_24h", f"What a channel's videos cost {day}", ["channel"], registry=self.registry
        )
        self.channel_margin = Gauge(
            "ytempire_channel_margin_usd_24h",
            f"A channel's revenue minus cost {day} (unknown revenue counted as none)",
            ["channel"],
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

    def update_gpus(self, rows: list[GpuStatus]) -> None:
        """Set the ytempire_gpu_reported_* series from the fresh gpu_status rows (a worker gone: its series go too)."""
        gauges = (
            self.gpu_available,
            self.gpu_utilization,
            self.gpu_memory_used,
            self.gpu_memory_total,
            self.gpu_encoder_sessions,
            self.gpu_in_target_band,
        )
        for gauge in gauges:
            gauge.clear()
        for row in rows:
            # Every row of a host comes from one snapshot: the same available/reason (one series per host).
            self.gpu_available.labels(row.host, row.reason).set(1 if row.available else 0)
            if not row.available:
                continue  # the gpu '-' row: nothing per GPU
            if row.utilization_percent is not None:
                self.gpu_utilization.labels(row.host, row.gpu).set(row.utilization_percent)
                self.gpu_in_target_band.labels(row.host, row.gpu).set(1 if in_band(row.utilization_percent) else 0)
            if row.memory_used_bytes is not None:
                self.gpu_memory_used.labels(row.host, row.gpu).set(row.memory_used_bytes)
            if row.memory_total_bytes is not None:
                self.gpu_memory_total.labels(row.host, row.gpu).set(row.memory_total_bytes)
            if row.encoder_sessions is not None:
                self.gpu_encoder_sessions.labels(row.host, row.gpu).set(row.encoder_sessions)

    def update_collection(self, runs: list[CollectionStatus], quota_used: dict[str, int]) -> None:
        for gauge in (self.collection_last_success, self.collection_last_ok, self.collection_last_rows):
            gauge.clear()
        for run in runs:
            if run.last_success_at is not None:
                self.collection_last_success.labels(run.channel_id, run.api).set(run.last_success_at.timestamp())
            self.collection_last_ok.labels(run.channel_id, run.api).set(
                1 if run.last_outcome in ("ok", "no_videos") else 0
            )
            self.collection_last_rows.labels(run.channel_id, run.api).set(run.last_rows_written)
        self.quota_used.clear()
        self.quota_left.clear()
        for bucket in {*quota_used, *self._quota_limits}:
            used = quota_used.get(bucket, 0)
            self.quota_used.labels(bucket).set(used)
            if bucket in self._quota_limits:
                self.quota_left.labels(bucket).set(max(self._quota_limits[bucket] - used, 0))

    def update_channels(self, totals: list[ChannelTotal]) -> None:
        for gauge in (self.channel_views, self.channel_revenue, self.channel_cost, self.channel_margin):
            gauge.clear()
        for total in totals:
            self.channel_views.labels(total.channel_id).set(total.views)
            if total.revenue_usd is not None:
                self.channel_revenue.labels(total.channel_id).set(total.revenue_usd)
            self.channel_cost.labels(total.channel_id).set(total.cost_usd)
            self.channel_margin.labels(total.channel_id).set(total.margin_usd)

    async def _read_ledger(self, pool: asyncpg.Pool) -> LedgerFigures:
        now = datetime.now(UTC)
        return LedgerFigures(
            await pipeline_metrics(pool, window_hours=LEDGER_WINDOW_HOURS),
            await gpu_status(pool, max_age_seconds=GPU_STATUS_MAX_AGE_SECONDS),
            await collection_status(pool),
            await quota_used_on(pool, quota_day(now)),
            await channel_totals(pool, "hour", now - timedelta(hours=24), now),
        )

    async def refresh_from_ledger(self, pool: asyncpg.Pool) -> bool:
        """Re-read the ledger figures; on failure keep the last ones and set `ytempire_ledger_up` to 0."""
        try:
            read = await asyncio.wait_for(self._read_ledger(pool), LEDGER_TIMEOUT_SECONDS)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning("metrics scrape could not read the ledger: %s", exc)
            self.ledger_up.set(0)
            return False
        self.update_from(read.pipeline)
        self.update_gpus(read.gpus)
        self.update_collection(read.collection, read.quota_used)
        self.update_channels(read.channels)
        self.ledger_up.set(1)
        return True
