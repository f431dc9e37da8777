"""Runs a worker process's housekeeping coroutine now and then every `interval_seconds`, until closed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class Periodic:
    def __init__(self, name: str, interval_seconds: float, tick: Callable[[], Awaitable[object]]) -> None:
        self.name = name
        self.interval_seconds = interval_seconds
        self._tick = tick
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await self._tick()  # the tick logs and swallows its own errors: one bad round must not end the loop
            await asyncio.sleep(self.interval_seconds)

    def start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)
        return self._task

    async def aclose(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
