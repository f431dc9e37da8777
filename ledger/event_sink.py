"""Events written in batches: every write waits for the batch it joined to commit, and a batch leaves as soon as
the one before it has (or at once when none is in flight), so a lone event costs one round trip and a stream of
them is grouped into COPYs of up to `max_batch` rows."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from types import TracebackType

from core.events import Event
from ledger.event_store import EventStore

log = logging.getLogger(__name__)


class EventSinkClosed(RuntimeError):
    """The sink was closed before the events could be written."""


class EventSink:
    def __init__(self, store: EventStore, *, max_batch: int = 10_000) -> None:
        self._store = store
        self._max_batch = max_batch
        self._waiting: deque[tuple[Sequence[Event], asyncio.Future[None]]] = deque()
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closed = False

    async def __aenter__(self) -> EventSink:
        self._writer = asyncio.create_task(self._write_batches(), name="event-sink")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def write(self, events: Sequence[Event]) -> None:
        """Return once `events` are committed (or were already there); raises what writing them raised."""
        if not events:
            return
        if self._closed or self._writer is None:
            raise EventSinkClosed("the event sink is not running")
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((events, done))
        self._wake.set()
        await done

    async def close(self) -> None:
        """Write what is waiting, then stop."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        if self._writer is not None:
            await self._writer

    async def _write_batches(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting:
                batch: list[Event] = []
                futures: list[asyncio.Future[None]] = []
                size = 0
                while self._waiting and (not batch or size + len(self._waiting[0][0]) <= self._max_batch):
                    events, done = self._waiting.popleft()
                    batch.extend(events)
                    futures.append(done)
                    size += len(events)
                try:
                    await self._store.record_events(batch)
                except Exception as err:  # noqa: BLE001 - each writer gets what failed its batch
                    log.warning("writing %d events failed: %s", len(batch), err)
                    for done in futures:
                        if not done.done():
                            done.set_exception(err)
                else:
                    for done in futures:
                        if not done.done():
                            done.set_result(None)
            if self._closed:
                return
