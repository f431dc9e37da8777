"""The status hub: one watcher per followed video polls its status and fans each change out to the subscribers.

However many WebSocket clients follow a video, Temporal and PostgreSQL see one `video_status` call per tick for it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from temporalio.client import Client

from api.status import video_status
from core.domain import FINAL_STATUSES
from core.errors import UnknownVideo
from core.settings import Settings
from ledger import Ledger

log = logging.getLogger(__name__)

# A video in one of these states will not change again; `halted` (a cost halt) can go back to processing.


@dataclass(frozen=True)
class StreamMessage:
    """One state of a video: the StatusResponse JSON plus `final`, serialised once for every subscriber."""

    payload: dict[str, Any]
    text: str

    @property
    def final(self) -> bool:
        return bool(self.payload["final"])


class HubClosed(Exception):
    """The hub shut down (the API is stopping) before the video reached a final state."""


class Subscription:
    """One subscriber's view of a video: iterate to get each new state; the iteration ends after the final one."""

    def __init__(self, video_id: UUID, depth: int) -> None:
        self.video_id = video_id
        self.dropped = 0
        self._queue: asyncio.Queue[StreamMessage | Exception] = asyncio.Queue(maxsize=depth)
        self._finished = False

    def deliver(self, item: StreamMessage | Exception) -> None:
        """Queue without ever blocking the watcher: a subscriber that lags gets the latest state, not every one."""
        if self._queue.full():
            while not self._queue.empty():
                self._queue.get_nowait()
                self.dropped += 1
        self._queue.put_nowait(item)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> StreamMessage:
        """The next state; raises UnknownVideo for an id the ledger does not know, HubClosed at shutdown."""
        if self._finished:
            raise StopAsyncIteration
        item = await self._queue.get()
        if isinstance(item, Exception):
            self._finished = True
            raise item
        self._finished = item.final
        return item


@dataclass(eq=False)
class _Watcher:
    video_id: UUID
    subscribers: set[Subscription] = field(default_factory=set)
    last: StreamMessage | None = None
    failures: int = 0  # failed polls in a row
    task: asyncio.Task[None] | None = None


class StatusHub:
    """Live status of videos for many subscribers; lives on `app.state.stream`, closed by the lifespan."""

    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        temporal: Client,
        *,
        interval: float = 0.5,
        queue_depth: int = 8,
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.temporal = temporal
        self.interval = interval  # seconds between two polls of one video
        self.queue_depth = queue_depth  # states a subscriber may lag behind before it gets only the latest
        self.polls = 0  # video_status calls, all videos together
        self.poll_errors = 0
        self.messages = 0  # distinct states published, all videos together
        self._watchers: dict[UUID, _Watcher] = {}
        self._closed = False

    @property
    def watchers(self) -> int:
        return len(self._watchers)

    @property
    def subscribers(self) -> int:
        return sum(len(w.subscribers) for w in self._watchers.values())

    @asynccontextmanager
    async def subscribe(self, video_id: UUID) -> AsyncIterator[Subscription]:
        """Follow a video: the current state comes first (at once if it is already watched), then each change."""
        if self._closed:
            raise HubClosed("the status hub is closed")
        subscription = Subscription(video_id, self.queue_depth)
        watcher = self._watchers.get(video_id)
        if watcher is None:
            watcher = self._watchers[video_id] = _Watcher(video_id)
            watcher.task = asyncio.create_task(self._watch(watcher), name=f"status-watcher-{video_id}")
        elif watcher.last is not None:
            subscription.deliver(watcher.last)
        watcher.subscribers.add(subscription)
        try:
            yield subscription
        finally:
            watcher.subscribers.discard(subscription)
            if not watcher.subscribers and self._watchers.get(video_id) is watcher:
                self._stop(watcher)

    async def close(self) -> None:
        """Stop every watcher; subscribers still waiting get HubClosed."""
        self._closed = True
        watchers = list(self._watchers.values())
        for watcher in watchers:
            self._stop(watcher)
            for subscription in watcher.subscribers:
                subscription.deliver(HubClosed("the API is shutting down"))
        tasks = [w.task for w in watchers if w.task is not None]
        await asyncio.gather(*tasks, return_exceptions=True)

    def _stop(self, watcher: _Watcher) -> None:
        self._watchers.pop(watcher.video_id, None)
        if watcher.task is not None and watcher.task is not asyncio.current_task():
            watcher.task.cancel()

    def _publish(self, watcher: _Watcher, item: StreamMessage | Exception) -> None:
        for subscription in watcher.subscribers:
            subscription.deliver(item)

    async def _watch(self, watcher: _Watcher) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while True:
            self.polls += 1
            try:
                status = await video_status(watcher.video_id, self.settings, self.ledger, self.temporal)
            except UnknownVideo as unknown:
                # Publish and unregister with no await in between, so no subscriber joins a watcher that is gone.
                self._publish(watcher, unknown)
                self._stop(watcher)
                return
            except Exception:
                # A Temporal or PostgreSQL hiccup: the subscribers keep the last state; the next tick tries again.
                # The traceback once per outage, not twice a second while it lasts.
                self.poll_errors += 1
                watcher.failures += 1
                log.log(
                    logging.WARNING if watcher.failures == 1 else logging.DEBUG,
                    "status of video %s not readable (%d in a row); retrying every %.1f s",
                    watcher.video_id,
                    watcher.failures,
                    self.interval,
                    exc_info=watcher.failures == 1,
                )
            else:
                if watcher.failures:
                    log.info("status of video %s readable again after %d failures", watcher.video_id, watcher.failures)
                    watcher.failures = 0
                payload = {**status.model_dump(mode="json"), "final": status.status in FINAL_STATUSES}
                if watcher.last is None or payload != watcher.last.payload:
                    watcher.last = StreamMessage(payload, json.dumps(payload))
                    self.messages += 1
                    self._publish(watcher, watcher.last)
                if payload["final"]:
                    self._stop(watcher)
                    return
            next_tick += self.interval
            now = loop.time()
            if next_tick <= now:  # a slow poll: skip the missed ticks rather than poll back to back
                next_tick = now + self.interval
            await asyncio.sleep(next_tick - now)
