"""Builds the Temporal workers for the pipeline, cpu and gpu task queues (any subset in one process)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from activities.pipeline import PipelineActivities
from activities.rendering import RenderActivities
from workflows.video import VideoWorkflow
from ytempire.domain import TaskQueues
from ytempire.ledger import Ledger
from ytempire.settings import Settings
from ytempire.worker_metrics import WorkerMetrics

QUEUE_ROLES = ("pipeline", "cpu", "gpu")
log = logging.getLogger(__name__)


def build_workers(
    client: Client,
    settings: Settings,
    ledger: Ledger,
    roles: Sequence[str],
    queues: TaskQueues | None = None,
    metrics: WorkerMetrics | None = None,
) -> list[Worker]:
    """`roles` picks which queues this process serves; `queues` overrides the queue names (tests)."""
    metrics = metrics or WorkerMetrics()
    unknown = set(roles) - set(QUEUE_ROLES)
    if unknown:
        raise ValueError(f"unknown queue role(s) {sorted(unknown)}; choose from {', '.join(QUEUE_ROLES)}")
    queues = queues or settings.task_queues
    workers: list[Worker] = []
    if "pipeline" in roles:
        stages = PipelineActivities(settings, ledger, metrics)
        workers.append(
            Worker(
                client,
                task_queue=queues.pipeline,
                workflows=[VideoWorkflow],
                activities=[
                    stages.generate_script,
                    stages.synthesize_audio,
                    stages.collect_media,
                    stages.validate_quality,
                    stages.prepare_upload,
                    stages.finalize_video,
                    stages.record_cost_alert,
                    stages.set_video_status,
                ],
                max_concurrent_activities=settings.pipeline_max_concurrent,
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
        workers.append(
            Worker(
                client,
                task_queue=getattr(queues, role),
                activities=[render.render_video],
                max_concurrent_activities=limit,
                # Heartbeats carry render progress and bring cancellation: send them about once a second.
                max_heartbeat_throttle_interval=timedelta(seconds=1),
                default_heartbeat_throttle_interval=timedelta(seconds=1),
            )
        )
    return workers


@asynccontextmanager
async def running(workers: Sequence[Worker]) -> AsyncIterator[None]:
    """Run several workers together; on exit each shuts down gracefully (in-flight activities finish)."""
    async with AsyncExitStack() as stack:
        for worker in workers:
            await stack.enter_async_context(worker)
        yield
