"""The API's Prometheus series (one registry per app, so several apps can live in one test process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
