"""`python -m workers --queues pipeline,cpu,gpu`: host any subset of the task queues in one process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal

from prometheus_client import start_http_server
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from core.settings import Settings
from ledger import Ledger, create_pool
from ledger.migrations import migrate
from telemetry import log_context
from telemetry.gpu import GpuSampler
from telemetry.worker_metrics import WorkerMetrics
from workers.hosting import QUEUE_ROLES, build_workers, running
from workers.housekeeping.gpu_status import GpuStatusPublisher, worker_host_id
from workers.housekeeping.janitor import Janitor
from workflows.client import (
    connect,
    ensure_event_partitions_schedule,
    ensure_reconcile_schedule,
    ensure_rollup_schedules,
    ensure_youtube_collection_schedules,
    youtube_channels,
)

log = logging.getLogger("workers")


async def serve(roles: list[str]) -> None:
    settings = Settings()
    pool = await create_pool(settings.app_database)
    await migrate(settings.owner_database, pool)
    runtime = None
    if settings.worker_sdk_metrics_port:
        runtime = Runtime(
            telemetry=TelemetryConfig(
                metrics=PrometheusConfig(bind_address=f"127.0.0.1:{settings.worker_sdk_metrics_port}")
            )
        )
    client = await connect(settings, runtime=runtime)
    metrics = WorkerMetrics()
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, addr="127.0.0.1", registry=metrics.registry)
    ledger = Ledger(pool, settings.key_ring)
    if "pipeline" in roles and (resealed := await ledger.reseal_request_secrets()):
        log.info("sealed %d stored callback URLs under encryption key %s", resealed, settings.key_ring.active_id)
    workers = build_workers(client, settings, ledger, roles, metrics=metrics)
    # The gpu role exports ytempire_gpu_* (utilisation against the 70-85 % band, memory, NVENC sessions), and
    # publishes the same figures to the ledger for the API's ytempire_gpu_reported_* (housekeeping/gpu_status.py).
    gpu_sampler = GpuSampler(metrics.gpu) if "gpu" in roles else None
    gpu_publisher = (
        GpuStatusPublisher(ledger, gpu_sampler.snapshot, worker_host_id(settings.worker_metrics_port))
        if gpu_sampler is not None
        else None
    )
    janitor = Janitor.for_worker(settings, ledger, metrics) if "pipeline" in roles else None
    if "pipeline" in roles and settings.reconcile_interval_seconds > 0:
        # Rows without workflows, closed workflows with unfinished rows: repaired every interval, cluster-wide.
        await ensure_reconcile_schedule(client, settings)
    if "pipeline" in roles:
        await ensure_event_partitions_schedule(client, settings)
        await ensure_youtube_collection_schedules(client, settings, await youtube_channels(settings, ledger))
        await ensure_rollup_schedules(client, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("serving task queues %s (pid %d)", ", ".join(workers.task_queues), os.getpid())
    try:
        if gpu_sampler is not None:
            gpu_sampler.start()
        if gpu_publisher is not None:
            gpu_publisher.start()
        if janitor is not None:
            janitor.start()
        async with running(workers):
            await stop.wait()
            log.info("shutting down: finishing in-flight activities")
    finally:
        if janitor is not None:
            await janitor.aclose()
        if gpu_publisher is not None:
            await gpu_publisher.aclose()
        if gpu_sampler is not None:
            await gpu_sampler.aclose()
    await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__)
    parser.add_argument("--queues", default=",".join(QUEUE_ROLES), help="comma list of pipeline,cpu,gpu")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        log_context.install(handler)  # engines' lines inside an activity name its video, stage and attempt
    roles = [r.strip() for r in args.queues.split(",") if r.strip()]
    code = 0
    try:
        asyncio.run(serve(roles))
    except Exception:
        log.exception("worker stopped on an error")
        code = 1
    # Ending with os._exit avoids an interpreter-exit crash in the SDK's runtime thread (sdk-python#300).
    os._exit(code)


if __name__ == "__main__":
    main()
