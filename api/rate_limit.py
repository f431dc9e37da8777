"""Requests per minute per principal (the spec's 100), counted in PostgreSQL so that every API process shares one
limit; sign-in and invalid credentials are counted per client address, and stricter. Past a limit the answer is
429 with Retry-After; every answer under a limit carries RateLimit-Limit / -Remaining / -Reset."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import HTTPException, status

from ledger.rate_limits import RateWindows

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Allowance:
    limit: int
    hits: int
    reset_seconds: int  # until the window ends

    @property
    def exceeded(self) -> bool:
        return self.hits > self.limit

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(0, self.limit - self.hits)),
            "RateLimit-Reset": str(self.reset_seconds),
        }

    def refusal(self, who: str) -> HTTPException:
        return HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"{who} made more than {self.limit} requests this minute: retry in {self.reset_seconds} s",
            headers={**self.headers(), "Retry-After": str(self.reset_seconds)},
        )


class RateLimiter:
    """One per API process (on app.state); the counts live in the database."""

    def __init__(self, windows: RateWindows) -> None:
        self._windows = windows
        self._swept: datetime | None = None  # the window this process last cleared old windows in

    async def count(self, bucket: str, limit: int) -> Allowance:
        now = datetime.now(UTC)
        window = now.replace(second=0, microsecond=0)
        hits = await self._windows.hit(bucket, window)
        if self._swept != window:
            self._swept = window
            await self._windows.forget_windows_before(window)
        reset = max(1, math.ceil(WINDOW_SECONDS - (now - window).total_seconds()))
        return Allowance(limit, hits, reset)
