"""`api_rate_windows`: hits per bucket (a principal, a client address) in one-minute windows, for every API process."""

from __future__ import annotations

from datetime import datetime, timedelta

from ledger.tables import Table

_KEEP = timedelta(minutes=10)


class RateWindows(Table):
    async def hit(self, bucket: str, window_start: datetime) -> int:
        """Count one request of `bucket` in the window starting at `window_start`; the window's count so far."""
        hits = await self._pool.fetchval(
            """INSERT INTO api_rate_windows (bucket, window_start, hits) VALUES ($1, $2, 1)
               ON CONFLICT (bucket, window_start) DO UPDATE SET hits = api_rate_windows.hits + 1
               RETURNING hits""",
            bucket,
            window_start,
        )
        return int(hits)

    async def forget_windows_before(self, moment: datetime) -> None:
        await self._pool.execute("DELETE FROM api_rate_windows WHERE window_start < $1", moment - _KEEP)
