"""A worker process's own Prometheus series (the Temporal SDK's series are served on a second port)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from telemetry.gpu import GpuGauges

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class WorkerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.render_schedule_to_start = Histogram(
            "ytempire_render_schedule_to_start_seconds",
            "Dequeue latency of render tasks: scheduled until a worker started the attempt",
            ["queue"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.stage_seconds = Histogram(
            "ytempire_stage_seconds",
            "Wall time of successful stage runs",
            ["stage"],
            buckets=(0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300),
            registry=self.registry,
        )
        self.cost_alerts = Counter(
            "ytempire_cost_alerts",
            "Cost alerts (warning, critical, halt), once per video and kind",
            ["kind"],
            registry=self.registry,
        )
        self.videos_failed = Counter(
            "ytempire_videos_failed",
            "Videos that failed for good, by error type, the stage they failed in, and whether a retry is worthwhile",
            ["error_type", "stage", "retry_worthwhile"],
            registry=self.registry,
        )
        self.video_retries = Counter(
            "ytempire_video_retries",
            "Automatic whole-video retries the workflows scheduled, by the failure's error type",
            ["error_type"],
            registry=self.registry,
        )
        self.reconciler_repairs = Counter(
            "ytempire_reconciler_repairs",
            "Disagreements between the ledger and Temporal the reconciler repaired, by kind (started: a recorded "
            "video had no run; finalized: a closed run had left its row unfinished; terminated: a run had no row)",
            ["kind"],
            registry=self.registry,
        )
        self.stage_failures = Counter(
            "ytempire_stage_failures", "Failed stage attempts", ["stage", "error_type"], registry=self.registry
        )
        self.cost_usd = Counter(
            "ytempire_cost_usd",
            "Dollars charged per service and stage (one increment per stage cost row this worker writes)",
            ["service", "stage"],
            registry=self.registry,
        )
        self.cache_lookups = Counter(
            "ytempire_provider_cache_lookups",
            "Content-addressed cache lookups of provider results, by kind (script, speech, media) and hit/miss",
            ["kind", "result"],
            registry=self.registry,
        )
        self.cache_hit_ratio = Gauge(
            "ytempire_provider_cache_hit_ratio",
            "Share of this worker's cache lookups that were hits, by kind (0 before the first lookup)",
            ["kind"],
            registry=self.registry,
        )
        self.cache_bytes = Gauge(
            "ytempire_provider_cache_bytes",
            "Size of the provider cache on disk after the last prune, by kind (script, speech, media)",
            ["kind"],
            registry=self.registry,
        )
        self.cache_evicted_entries = Counter(
            "ytempire_provider_cache_evicted_entries",
            "Cache entries removed by the pruner (least recently used beyond the size limit, or unused too long)",
            registry=self.registry,
        )
        self.artifacts_removed = Counter(
            "ytempire_artifacts_removed_videos",
            "Videos whose working files the retention removed (completed or cancelled longer ago than the setting)",
            registry=self.registry,
        )
        self.provider_calls = Counter(
            "ytempire_provider_calls",
            "Billable calls made to cloud providers, by provider and outcome (ok, or the error type)",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.youtube_collection_runs = Counter(
            "ytempire_youtube_collection_runs",
            "Scheduled YouTube collection runs, by API (data, analytics) and outcome",
            ["api", "outcome"],
            registry=self.registry,
        )
        self.youtube_collection_rows = Counter(
            "ytempire_youtube_collection_rows",
            "Rows the YouTube collection runs wrote (video readings, video days), by API",
            ["api"],
            registry=self.registry,
        )
        self._cache_counts: dict[str, list[int]] = {}
        # Set by the gpu role's GpuSampler (telemetry/gpu.py); other roles export only the band bounds.
        self.gpu = GpuGauges(self.registry)

    def record_cost(self, stage: str, service: str, amount_usd: float) -> None:
        """Count a stage's charge once its cost row is written."""
        self.cost_usd.labels(service, stage).inc(max(amount_usd, 0.0))

    def record_cache_prune(self, bytes_by_kind: dict[str, int], removed_entries: int) -> None:
        for kind, size in bytes_by_kind.items():
            self.cache_bytes.labels(kind).set(size)
        self.cache_evicted_entries.inc(removed_entries)

    def record_cache_lookup(self, kind: str, hit: bool) -> None:
        self.cache_lookups.labels(kind, "hit" if hit else "miss").inc()
        counts = self._cache_counts.setdefault(kind, [0, 0])
        counts[0 if hit else 1] += 1
        self.cache_hit_ratio.labels(kind).set(counts[0] / (counts[0] + counts[1]))
