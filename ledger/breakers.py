"""Circuit breaker states in PostgreSQL (`circuit_breakers`, sql/004): saved on each transition, read by dashboards."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import asyncpg

log = logging.getLogger(__name__)

SERVICE_MAX_LEN = 50  # circuit_breakers.service is VARCHAR(50)


async def save_state(pool: asyncpg.Pool, service: str, state: str, failures: int) -> None:
    """Upsert the service's breaker state (the latest transition wins)."""
    await pool.execute(
        """INSERT INTO circuit_breakers (service, state, failures, changed_at) VALUES ($1, $2, $3, NOW())
           ON CONFLICT (service) DO UPDATE
           SET state = EXCLUDED.state, failures = EXCLUDED.failures, changed_at = EXCLUDED.changed_at""",
        service[:SERVICE_MAX_LEN],
        state,
        failures,
    )


async def load_states(pool: asyncpg.Pool) -> dict[str, str]:
    """Every recorded service and its breaker state."""
    rows = await pool.fetch("SELECT service, state FROM circuit_breakers ORDER BY service")
    return {r["service"]: r["state"] for r in rows}


class StateWriter:
    """An `on_change` callback for `BreakerBoard` that saves each transition, in order, without blocking the caller.

    Transitions happen inside synchronous code (the breaker's bookkeeping), so the writes go to a queue that one
    background task drains. A failed write is logged and dropped: a ledger outage must never fail a delivery.

        writer = StateWriter(pool, failures=lambda service: board.get(service).failures)
        board = BreakerBoard(threshold, cooldown, registry, on_change=writer)
        ...
        await writer.aclose()  # at shutdown: flushes what is queued
    """

    def __init__(self, pool: asyncpg.Pool, failures: Callable[[str], int] | None = None) -> None:
        self._pool = pool
        self._failures = failures
        self._queue: asyncio.Queue[tuple[str, str, int] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def __call__(self, service: str, old: str, new: str) -> None:
        failures = self._failures(service) if self._failures is not None else 0
        self._queue.put_nowait((service, new, failures))
        if self._task is None:
            try:
                self._task = asyncio.get_running_loop().create_task(self._drain(), name="breaker-state-writer")
            except RuntimeError:  # no loop (a state read from sync code): written with the next transition
                return

    async def aclose(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            if self._queue.empty():
                return
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="breaker-state-writer")
        self._queue.put_nowait(None)
        await self._task
        self._task = None

    async def _drain(self) -> None:
        while (item := await self._queue.get()) is not None:
            service, state, failures = item
            try:
                await save_state(self._pool, service, state, failures)
            except Exception:
                log.warning("could not save circuit breaker state %s=%s", service, state, exc_info=True)
