"""Builds the Temporal workers for the pipeline, cpu and gpu task queues (any subset in one process)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from activities.alerts import AlertActivities
from activities.catalogue import stage_activities
from activities.event_partitions import EventPartitionActivities
from activities.pipeline import PipelineActivities
from activities.reconciliation import ReconcileActivities
from activities.rendering import RenderActivities
from activities.rollups import RollupActivities
from activities.youtube_collection import YouTubeCollectionActivities
from core.domain import TaskQueues
from core.records import VideoRow
from core.settings import Settings
from ledger import Ledger
from ledger.breakers import StateWriter
from providers.circuit_breaker import BreakerBoard
from stages.configuration import describe, missing_credentials, voice_problems
from stages.music import music_problems
from telemetry.worker_metrics import WorkerMetrics
from workflows.alert_delivery import AlertDeliveryWorkflow
from workflows.client import start_recorded_attempt
from workflows.event_partitions import EventPartitionsWorkflow
from workflows.reconciliation import ReconcileWorkflow
from workflows.rollups import RollupWorkflow
from workflows.video import VideoWorkflow
from workflows.youtube_collection import YouTubeReportsWorkflow, YouTubeStatsWorkflow

QUEUE_ROLES = ("pipeline", "cpu", "gpu")
log = logging.getLogger(__name__)


@dataclass
class WorkerSet:
    """The workers of one process and what they hold open (closed after the workers stop)."""

    workers: list[Worker]
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def task_queues(self) -> list[str]:
        return [worker.task_queue for worker in self.workers]


def build_workers(
    client: Client,
    settings: Settings,
    ledger: Ledger,
    roles: Sequence[str],
    queues: TaskQueues | None = None,
    metrics: WorkerMetrics | None = None,
) -> WorkerSet:
    """`roles` picks which queues this process serves; `queues` overrides the queue names (tests)."""
    metrics = metrics or WorkerMetrics()
    closers: list[Callable[[], Awaitable[None]]] = []
    unknown = set(roles) - set(QUEUE_ROLES)
    if unknown:
        raise ValueError(f"unknown queue role(s) {sorted(unknown)}; choose from {', '.join(QUEUE_ROLES)}")
    queues = queues or settings.task_queues
    workers: list[Worker] = []
    if "pipeline" in roles:
        stages = PipelineActivities(settings, ledger, metrics)
        log.info("providers: %s", "; ".join(describe(settings)))
        for problem in missing_credentials(settings) + voice_problems(settings):
            log.warning("providers: %s", problem)
        alerts, alert_closers = _alert_activities(settings, ledger, metrics)
        closers += alert_closers

        async def start_row(row: VideoRow) -> bool:
            return (await start_recorded_attempt(client, settings, ledger, row)).started

        reconciler = ReconcileActivities(
            ledger,
            client,
            start_row,
            metrics,
            task_queue=queues.pipeline,
            grace_seconds=settings.reconcile_grace_seconds,
        )
        collection = YouTubeCollectionActivities(settings, ledger, metrics)
        workers.append(
            Worker(
                client,
                task_queue=queues.pipeline,
                workflows=[
                    VideoWorkflow,
                    AlertDeliveryWorkflow,
                    ReconcileWorkflow,
                    EventPartitionsWorkflow,
                    YouTubeStatsWorkflow,
                    YouTubeReportsWorkflow,
                    RollupWorkflow,
                ],
                activities=[
                    *stage_activities(stages, "pipeline"),
                    stages.finalize_video,
                    stages.schedule_video_retry,
                    stages.record_cost_alert,
                    stages.set_video_status,
                    alerts.deliver_webhook,
                    reconciler.reconcile_videos,
                    EventPartitionActivities(ledger, settings.events_retention_days).maintain_event_partitions,
                    collection.collect_youtube_statistics,
                    collection.collect_youtube_reports,
                    RollupActivities(settings, ledger).roll_up,
                ],
                max_concurrent_activities=settings.pipeline_max_concurrent,
                graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_grace_seconds),
                # Stages heartbeat once a second (stage_runner.keep_alive): sent at that pace, a cancel arrives
                # within about a second.
                max_heartbeat_throttle_interval=timedelta(seconds=1),
                default_heartbeat_throttle_interval=timedelta(seconds=1),
            )
        )
    for role, limit, prefer_gpu in (
        ("cpu", settings.cpu_max_concurrent, False),
        ("gpu", settings.gpu_max_concurrent, True),
    ):
        if role not in roles:
            continue
        render = RenderActivities(settings, ledger, prefer_gpu=prefer_gpu, metrics=metrics)
        log.info("%s render worker: %s", role, render.encoder_reason)
        for problem in music_problems(settings):
            log.warning("%s render worker: %s", role, problem)
        workers.append(
            Worker(
                client,
                task_queue=getattr(queues, role),
                activities=stage_activities(render, "render"),
                max_concurrent_activities=limit,
                graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_grace_seconds),
                # Heartbeats carry render progress and bring cancellation: send them about once a second.
                max_heartbeat_throttle_interval=timedelta(seconds=1),
                default_heartbeat_throttle_interval=timedelta(seconds=1),
            )
        )
    return WorkerSet(workers, closers)


def _alert_activities(
    settings: Settings, ledger: Ledger, metrics: WorkerMetrics
) -> tuple[AlertActivities, list[Callable[[], Awaitable[None]]]]:
    """Webhook delivery with a circuit breaker per receiver; breaker changes are kept in the ledger."""
    http = httpx.AsyncClient()
    board: BreakerBoard | None = None

    def failures(service: str) -> int:
        return board.get(service).failures if board is not None else 0

    writer = StateWriter(ledger.pool, failures=failures)
    board = BreakerBoard(
        settings.circuit_breaker_failure_threshold,
        settings.circuit_breaker_cooldown_seconds,
        metrics.registry,
        on_change=writer,
    )
    secret = settings.alert_webhook_secret.get_secret_value() if settings.alert_webhook_secret else None
    alerts = AlertActivities(
        http,
        secret,
        board,
        default_url=settings.alert_webhook_url,
        timeout_seconds=settings.alert_webhook_timeout_seconds,
        allowed=settings.outbound_allowlist,
        callback_secret=settings.callback_secret,
    )
    return alerts, [writer.aclose, http.aclose]


@asynccontextmanager
async def running(worker_set: WorkerSet) -> AsyncIterator[None]:
    """Run a process's workers together; on exit each shuts down gracefully: it takes no new task, and its in-flight
    activities get YTEMPIRE_WORKER_SHUTDOWN_GRACE_SECONDS to finish before they are cancelled."""
    async with AsyncExitStack() as stack:
        for close in reversed(worker_set.closers):
            stack.push_async_callback(close)
        for worker in worker_set.workers:
            await stack.enter_async_context(worker)
        yield
