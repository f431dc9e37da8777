"""A worker process's background coroutines: one task each, started once, cancelled and awaited on close."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class BackgroundTask:
    """`run` as a named task of the running loop; `aclose` cancels it and waits for its clean-up."""

    def __init__(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        self.name = name
        self._run = run
        self._task: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._main(), name=self.name)
        return self._task

    async def _main(self) -> None:
        await self._run()

    async def aclose(self) -> bool:
        """Stop the task; False when it was never started (nothing to clean up after)."""
        if self._task is None:
            return False
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        return True


class Periodic(BackgroundTask):
    """Runs a housekeeping coroutine now and then every `interval_seconds`, until closed."""

    def __init__(self, name: str, interval_seconds: float, tick: Callable[[], Awaitable[object]]) -> None:
        super().__init__(name, self._loop)
        self.interval_seconds = interval_seconds
        self._tick = tick

    async def _loop(self) -> None:
        while True:
            await self._tick()  # the tick logs and swallows its own errors: one bad round must not end the loop
            await asyncio.sleep(self.interval_seconds)
