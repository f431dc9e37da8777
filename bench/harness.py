"""What every benchmark here needs: a throw-away PostgreSQL and Temporal dev server, free ports, percentiles."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from core import search_attributes
from core.domain import VideoRequest, VideoResult
from core.settings import Settings
from devstack.postgres import PostgresServer
from devstack.temporal_server import SERVER_STARTUP_TIMEOUT, dynamic_config_args, temporal_cli
from ledger import Ledger, create_pool
from ledger.migrations import migrate
from tests.admission import admit
from workers.hosting import build_workers, running
from workflows.client import start_video
from workflows.payload_codec import encrypting_converter


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


async def start_stack(root: Path) -> tuple[PostgresServer, WorkflowEnvironment]:
    """PostgreSQL in `root` and a dev server with the project's dynamic config and search attributes; its client
    encrypts with the key ring stack_settings' data dir holds."""
    pg = PostgresServer(root / "pg", free_port(), root / "data" / "secrets", fast_unsafe=True)
    pg.start()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        dev_server_startup_timeout=SERVER_STARTUP_TIMEOUT,
        dev_server_extra_args=dynamic_config_args(),
        search_attributes=search_attributes.ALL,
        data_converter=encrypting_converter(Settings(data_dir=root / "data").key_ring),
    )
    return pg, env


async def stop_stack(pg: PostgresServer, env: WorkflowEnvironment) -> None:
    await env.shutdown()
    stop_postgres(pg)


@asynccontextmanager
async def scratch_ledger(root: Path, *, max_size: int = 4) -> AsyncIterator[Ledger]:
    """A migrated PostgreSQL in `root` with fsync on (as `make up` runs it), as a Ledger; stopped and removed after."""
    pg = PostgresServer(root / "pg", free_port(), root / "data" / "secrets")
    pg.start()
    try:
        pool = await create_pool(pg.app_login(), max_size=max_size)
        try:
            await migrate(pg.owner_login(), pool)
            yield Ledger(pool, Settings(data_dir=root / "data").key_ring)
        finally:
            await pool.close()
    finally:
        stop_postgres(pg)


def stop_postgres(pg: PostgresServer) -> None:
    """Stop it and remove its cluster where that is not under the scratch dir (as root, the service user cannot
    reach /root, so the cluster falls back to /var/tmp: the scratch dir's removal would leave it behind)."""
    pg.stop()
    shutil.rmtree(pg.data_dir, ignore_errors=True)


def stack_settings(
    root: Path, pg: PostgresServer, env: WorkflowEnvironment, prefix: str, **overrides: object
) -> Settings:
    """Settings pointing at the throw-away stack, with task queues of their own."""
    return Settings(
        data_dir=root / "data",
        database_url=pg.dsn,
        database_owner_url=pg.owner_dsn,
        temporal_address=env.client.service_client.config.target_host,
        task_queue_pipeline=f"{prefix}-pipeline",
        task_queue_cpu=f"{prefix}-cpu",
        task_queue_gpu=f"{prefix}-gpu",
        **overrides,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class FinishedVideo:
    request: VideoRequest
    result: VideoResult
    seconds: float  # end to end, from the workflow's start to its result


async def make_videos(
    root: Path, prefix: str, requests: Sequence[VideoRequest], **overrides: object
) -> tuple[Settings, list[FinishedVideo]]:
    """Each request made in turn, end to end, on a throw-away stack with workers for every queue (so each video's
    timings are its own); its files stay under `root` (the settings say where)."""
    pg, env = await start_stack(root)
    try:
        settings = stack_settings(root, pg, env, prefix, **overrides)
        pool = await create_pool(settings.app_database)
        try:
            await migrate(settings.owner_database, pool)
            ledger = Ledger(pool, settings.key_ring)
            finished = []
            async with running(build_workers(env.client, settings, ledger, ("pipeline", "cpu", "gpu"))):
                for request in requests:
                    await admit(ledger, request, {})
                    started = time.monotonic()
                    result: VideoResult = await (await start_video(env.client, settings, request)).result()
                    finished.append(FinishedVideo(request, result, time.monotonic() - started))
        finally:
            await pool.close()
    finally:
        await stop_stack(pg, env)
    return settings, finished


def run_in_scratch_dir(
    bench: Callable[[argparse.Namespace, Path], Coroutine[Any, Any, None]], args: argparse.Namespace, prefix: str
) -> None:
    """Run `bench(args, root)` in a fresh temp dir, remove it, and exit at once (without waiting for the
    SDK's and the servers' background threads, already stopped by the benchmark)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        asyncio.run(bench(args, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    os._exit(0)
