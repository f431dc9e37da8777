"""A gpu worker's GPU figures in the ledger (`gpu_status`, sql/006), so the API's /metrics shows every worker's GPUs.

publisher = GpuStatusPublisher(ledger, sampler.snapshot, worker_host_id(settings.worker_metrics_port))
publisher.start()        # an asyncio task: the sampler's latest snapshot every 10 s, first as soon as NVML answered
...
await publisher.aclose()  # stops, and removes this worker's rows (a crashed worker's age out: readers skip > 60 s)

`host` names one worker process: `hostname:metrics-port` (two gpu workers on one host cannot share a metrics port,
and the name survives restarts), or `hostname:pid<N>` when the worker's metrics port is off. A failed write is logged
once per outage and retried at the next tick; publishing never takes the worker down.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable

from core.periodic import BackgroundTask
from core.records import GpuSnapshot
from ledger import Ledger
from telemetry.gpu import STARTING

log = logging.getLogger(__name__)

PUBLISH_INTERVAL_SECONDS = 10.0
STALE_AFTER_SECONDS = 30.0  # an available snapshot this old (6 missed 5 s samples: a wedged NVML) is not published
STALE_SAMPLE = "stale_sample"  # the reason published instead
WRITE_TIMEOUT_SECONDS = 5.0
_FIRST_SAMPLE_POLL_SECONDS = 0.2


def worker_host_id(metrics_port: int, *, hostname: str | None = None, pid: int | None = None) -> str:
    """This worker's `host` in gpu_status: hostname:metrics-port, or hostname:pid<N> without a metrics port."""
    name = hostname or socket.gethostname()
    return f"{name}:{metrics_port}" if metrics_port else f"{name}:pid{pid if pid is not None else os.getpid()}"


class GpuStatusPublisher:
    """Writes `snapshot()` (a `GpuSampler.snapshot`) to the ledger as `host`'s rows every `interval_seconds`."""

    def __init__(
        self,
        ledger: Ledger,
        snapshot: Callable[[], GpuSnapshot],
        host: str,
        *,
        interval_seconds: float = PUBLISH_INTERVAL_SECONDS,
        stale_after_seconds: float = STALE_AFTER_SECONDS,
    ) -> None:
        self.ledger = ledger
        self.host = host
        self.interval_seconds = interval_seconds
        self.stale_after_seconds = stale_after_seconds
        self._snapshot = snapshot
        self._failing = False
        self._background = BackgroundTask("gpu-status-publisher", self.run)

    def current(self) -> GpuSnapshot:
        """The snapshot to publish: the sampler's, unless it claims GPUs but has not sampled them for too long."""
        snap = self._snapshot()
        if snap.available and time.monotonic() - snap.monotonic_at > self.stale_after_seconds:
            return GpuSnapshot(False, STALE_SAMPLE)
        return snap

    async def publish(self) -> bool:
        """Write the current snapshot once; False (logged once per outage) when the ledger did not take it."""
        try:
            await asyncio.wait_for(self.ledger.save_gpu_status(self.host, self.current()), WRITE_TIMEOUT_SECONDS)
        except Exception:
            if not self._failing:
                log.warning(
                    "could not publish the GPU status of %s to the ledger; will keep trying", self.host, exc_info=True
                )
            self._failing = True
            return False
        if self._failing:
            log.info("GPU status of %s published to the ledger again", self.host)
        self._failing = False
        return True

    async def run(self) -> None:
        """Publish until cancelled; the first time as soon as the sampler has an answer (at most one interval)."""
        for _ in range(max(1, round(self.interval_seconds / _FIRST_SAMPLE_POLL_SECONDS))):
            if self._snapshot().reason != STARTING:
                break
            await asyncio.sleep(_FIRST_SAMPLE_POLL_SECONDS)
        while True:
            await self.publish()
            await asyncio.sleep(self.interval_seconds)

    def start(self) -> asyncio.Task[None]:
        log.info("GPU status published to the ledger as host %s every %g s", self.host, self.interval_seconds)
        return self._background.start()

    async def aclose(self) -> None:
        """Stop publishing and remove this worker's rows (best effort: otherwise they age out of the readers)."""
        if not await self._background.aclose():
            return
        try:
            await asyncio.wait_for(self.ledger.clear_gpu_status(self.host), WRITE_TIMEOUT_SECONDS)
        except Exception as exc:
            log.info("could not remove the GPU status of %s from the ledger (%s); it ages out", self.host, exc)
