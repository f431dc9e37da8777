"""Fixtures for tests on the real stack: dev server, PostgreSQL, ffmpeg, Piper and espeak-ng, real workers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from api.auth import API_KEY_HEADER
from api.local_admin import read_key_file
from api.main import create_app
from core.domain import TaskQueues
from core.settings import Settings
from devstack.postgres import PostgresServer
from ledger import Ledger
from telemetry.worker_metrics import WorkerMetrics
from tests.conftest import database_settings
from tests.providers.test_webhooks import Receiver, _receiver_server  # noqa: F401 (a fixture)
from workers.hosting import build_workers, running


@pytest.fixture
def settings(tmp_path: Path, pg_server: PostgresServer, dev_env: WorkflowEnvironment, queues: TaskQueues) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        **database_settings(pg_server),
        temporal_address=dev_env.client.service_client.config.target_host,
        task_queue_pipeline=queues.pipeline,
        task_queue_cpu=queues.cpu,
        task_queue_gpu=queues.gpu,
        render_heartbeat_timeout_seconds=5,
        # Tests share one database, one client address and many a minute: each limit is tested with its own values.
        rate_limit_per_minute=100_000,
        api_allowed_hosts=["127.0.0.1", "localhost", "api.test"],  # api_client's base URL
        sign_in_rate_per_minute=100_000,
        daily_spend_limit_per_principal_usd=1_000_000,
        daily_spend_limit_per_channel_usd=1_000_000,
    )


@asynccontextmanager
async def running_workers(
    env: WorkflowEnvironment,
    settings: Settings,
    ledger: Ledger,
    roles: tuple[str, ...] = ("pipeline", "cpu", "gpu"),
    metrics: WorkerMetrics | None = None,
) -> AsyncIterator[None]:
    async with running(build_workers(env.client, settings, ledger, roles, metrics=metrics)):
        yield


@pytest.fixture
def receiver(_receiver_server: Receiver) -> Receiver:  # noqa: F811 - the imported fixture, by name
    """A real webhook receiver on 127.0.0.1 that checks signatures (see tests/providers/test_webhooks.py)."""
    _receiver_server.reset()
    return _receiver_server


def admin_headers(settings: Settings) -> dict[str, str]:
    """The local admin key the API made on its first start (`<data_dir>/admin.key`), as a request header."""
    key = read_key_file(settings.admin_key_path)
    assert key is not None, f"the API made no admin key at {settings.admin_key_path}"
    return {API_KEY_HEADER: key}


@asynccontextmanager
async def api_client(
    settings: Settings, *, signed_in: bool = True, address: str = "127.0.0.1"
) -> AsyncIterator[httpx.AsyncClient]:
    """The real FastAPI app with its lifespan (real pool, real Temporal client), over ASGI; signed in with the local
    admin key unless `signed_in=False`; its requests come from `address`."""
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        headers = admin_headers(settings) if signed_in else {}
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test", headers=headers) as client:
            yield client
