"""gpu_status in the real PostgreSQL ledger: the worker's publisher writes snapshots, readers skip stale rows."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from core.encryption import KeyRing
from core.records import GpuReading, GpuSnapshot
from ledger import Ledger
from ledger.analytics import GpuStatus, gpu_status
from telemetry.gpu import STARTING, GpuGauges, GpuSampler
from tests.conftest import TEST_KEY_RING
from tests.telemetry.fake_nvml import GIB, FakeGpu, FakeNvml, NVMLError_DriverNotLoaded
from workers.housekeeping.gpu_status import STALE_SAMPLE, GpuStatusPublisher, worker_host_id

TWO_GPUS = GpuSnapshot(
    True,
    "ok",
    [
        GpuReading("0", "NVIDIA L4", 78.0, 5 * GIB, 24 * GIB, 3, 61.0),
        GpuReading("1", None, None, 1 * GIB, 16 * GIB, None, None),
    ],
)


@pytest.fixture
async def host(pg_pool: asyncpg.Pool) -> AsyncIterator[str]:
    """A host name of this test's own (the database is shared by the whole session); its rows go afterwards."""
    name = f"test-{uuid.uuid4().hex[:8]}:9464"
    yield name
    await pg_pool.execute("DELETE FROM gpu_status WHERE host = $1", name)


async def rows_of(pool: asyncpg.Pool, host: str, max_age_seconds: float = 60) -> list[GpuStatus]:
    return [r for r in await gpu_status(pool, max_age_seconds=max_age_seconds) if r.host == host]


async def test_a_snapshot_round_trips(ledger: Ledger, pg_pool: asyncpg.Pool, host: str) -> None:
    await ledger.save_gpu_status(host, TWO_GPUS)
    rows = await rows_of(pg_pool, host)
    assert [(r.gpu, r.available, r.reason) for r in rows] == [("0", True, "ok"), ("1", True, "ok")]
    first, second = rows
    assert (
        first.utilization_percent,
        first.memory_used_bytes,
        first.memory_total_bytes,
        first.encoder_sessions,
        first.encoder_utilization_percent,
    ) == (78.0, 5 * GIB, 24 * GIB, 3, 61.0)
    assert (second.utilization_percent, second.memory_total_bytes, second.encoder_sessions) == (None, 16 * GIB, None)

    # The next publication replaces the host's rows: the GPU went away, one '-' row with the reason remains.
    await ledger.save_gpu_status(host, GpuSnapshot(False, "driver_not_loaded"))
    rows = await rows_of(pg_pool, host)
    assert [(r.gpu, r.available, r.reason, r.utilization_percent) for r in rows] == [
        ("-", False, "driver_not_loaded", None)
    ]


async def test_stale_rows_are_ignored(ledger: Ledger, pg_pool: asyncpg.Pool, host: str) -> None:
    dead = f"{host}-dead"
    try:
        await ledger.save_gpu_status(host, TWO_GPUS)
        await ledger.save_gpu_status(dead, TWO_GPUS)
        await pg_pool.execute("UPDATE gpu_status SET sampled_at = NOW() - interval '61 seconds' WHERE host = $1", dead)
        assert len(await rows_of(pg_pool, host)) == 2
        assert await rows_of(pg_pool, dead) == []  # a worker silent for over a minute: its GPUs disappear
        assert len(await rows_of(pg_pool, dead, max_age_seconds=120)) == 2
        await ledger.clear_gpu_status(host)
        assert await rows_of(pg_pool, host) == []
    finally:
        await pg_pool.execute("DELETE FROM gpu_status WHERE host = $1", dead)


def test_worker_host_id() -> None:
    assert worker_host_id(9464, hostname="render-1") == "render-1:9464"
    assert worker_host_id(0, hostname="render-1", pid=4242) == "render-1:pid4242"  # metrics port off


async def test_the_publisher_writes_the_samplers_snapshot(ledger: Ledger, pg_pool: asyncpg.Pool, host: str) -> None:
    nvml = FakeNvml([FakeGpu(utilization=77, name="NVIDIA Fake T4")])
    sampler = GpuSampler(GpuGauges(CollectorRegistry()), nvml, interval_seconds=0.01)
    publisher = GpuStatusPublisher(ledger, sampler.snapshot, host, interval_seconds=0.05)
    publisher.start()  # before the sampler: it waits for the first sample instead of publishing "starting"
    sampler.start()
    try:
        for _ in range(200):
            rows = await rows_of(pg_pool, host)
            if rows:
                break
            await asyncio.sleep(0.02)
        assert [(r.gpu, r.available, r.utilization_percent) for r in rows] == [("0", True, 77.0)]
        nvml.gpus[0].utilization = 40
        for _ in range(200):
            rows = await rows_of(pg_pool, host)
            if rows[0].utilization_percent == 40:
                break
            await asyncio.sleep(0.02)
        assert rows[0].utilization_percent == 40
    finally:
        await publisher.aclose()
        await sampler.aclose()
    assert await rows_of(pg_pool, host) == []  # a worker stopping cleanly takes its GPUs off at once


async def test_the_publisher_without_a_gpu(ledger: Ledger, pg_pool: asyncpg.Pool, host: str) -> None:
    sampler = GpuSampler(GpuGauges(CollectorRegistry()), FakeNvml([], init_error=NVMLError_DriverNotLoaded("x")))
    assert sampler.open() is False
    publisher = GpuStatusPublisher(ledger, sampler.snapshot, host)
    assert await publisher.publish()
    rows = await rows_of(pg_pool, host)
    assert [(r.gpu, r.available, r.reason) for r in rows] == [("-", False, "driver_not_loaded")]


async def test_a_stalled_sampler_is_not_published_as_fresh(ledger: Ledger, pg_pool: asyncpg.Pool, host: str) -> None:
    old = GpuSnapshot(True, "ok", TWO_GPUS.readings, monotonic_at=time.monotonic() - 31)
    publisher = GpuStatusPublisher(ledger, lambda: old, host, stale_after_seconds=30)
    assert await publisher.publish()
    rows = await rows_of(pg_pool, host)
    assert [(r.gpu, r.available, r.reason) for r in rows] == [("-", False, STALE_SAMPLE)]


async def test_the_first_publication_waits_at_most_one_interval(
    ledger: Ledger, pg_pool: asyncpg.Pool, host: str
) -> None:
    publisher = GpuStatusPublisher(ledger, lambda: GpuSnapshot(False, STARTING), host, interval_seconds=0.3)
    publisher.start()  # NVML never answers (a wedged driver): "starting" is published after one interval
    try:
        await asyncio.sleep(0.1)
        assert await rows_of(pg_pool, host) == []
        for _ in range(100):
            if rows := await rows_of(pg_pool, host):
                break
            await asyncio.sleep(0.02)
        assert [(r.gpu, r.available, r.reason) for r in rows] == [("-", False, STARTING)]
    finally:
        await publisher.aclose()


class BrokenLedger(Ledger):
    def __init__(self, pool: asyncpg.Pool, key_ring: KeyRing) -> None:
        super().__init__(pool, key_ring)
        self.broken = True
        self.saves = 0

    async def save_gpu_status(self, host: str, snapshot: GpuSnapshot) -> None:
        self.saves += 1
        if self.broken:
            raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
        await super().save_gpu_status(host, snapshot)


async def test_ledger_failures_are_logged_once_and_never_raise(
    pg_pool: asyncpg.Pool, host: str, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = BrokenLedger(pg_pool, TEST_KEY_RING)
    publisher = GpuStatusPublisher(ledger, lambda: TWO_GPUS, host, interval_seconds=0.01)
    with caplog.at_level(logging.INFO, logger="workers.housekeeping.gpu_status"):
        publisher.start()
        for _ in range(300):
            if ledger.saves >= 5:
                break
            await asyncio.sleep(0.01)
        assert ledger.saves >= 5
        ledger.broken = False
        for _ in range(300):
            if await rows_of(pg_pool, host):
                break
            await asyncio.sleep(0.01)
        await publisher.aclose()
    messages = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "workers.housekeeping.gpu_status"]
    warnings = [m for level, m in messages if level == "WARNING"]
    assert len(warnings) == 1 and "will keep trying" in warnings[0]
    assert any("published to the ledger again" in m for _, m in messages)
