"""YouTube Data API quota: what each call costs, and a daily guard shared by every worker through the ledger.

Since June 2026 YouTube charges `videos.insert` to its own bucket (1 per call, 100 calls a day by default) and
every other method to the 10,000-unit bucket (`thumbnails.set`: 50 units); before that an upload cost ~1,600
units (until December 2025), then ~100, of the one shared bucket. Both buckets reset at midnight Pacific time.
https://developers.google.com/youtube/v3/determine_quota_cost

Units are reserved before each call (YouTube charges failed and invalid requests too), atomically in PostgreSQL,
so workers on many hosts never overshoot the limits together; a refusal stops the upload before any request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from temporalio.exceptions import ApplicationError

from core.errors import ErrorType
from core.settings import Settings
from core.youtube_metrics import pacific, quota_day
from providers.context import QuotaStore


@dataclass(frozen=True)
class QuotaCost:
    method: str
    bucket: str  # provider_quota.service
    units: int
    limit_setting: str  # the Settings field holding the bucket's daily limit


INSERT = QuotaCost("videos.insert", "youtube.videos.insert", 1, "youtube_daily_upload_limit")
THUMBNAIL = QuotaCost("thumbnails.set", "youtube", 50, "youtube_daily_quota_units")


def quota_resets_at(now: datetime) -> datetime:
    """The next Pacific midnight after `now` (aware, in Pacific time)."""
    return datetime.combine(quota_day(now) + timedelta(days=1), time(0), tzinfo=pacific())


def quota_exhausted(cost: QuotaCost, now: datetime, detail: str) -> ApplicationError:
    """Non-retryable: a retry within minutes cannot succeed; the video can be retried once the day resets."""
    resets = quota_resets_at(now)
    hours = (resets - now).total_seconds() / 3600
    env = f"YTEMPIRE_{cost.limit_setting.upper()}"
    return ApplicationError(
        f"YouTube quota exhausted for {cost.method} ({detail}); it resets at midnight Pacific time, "
        f"{resets.isoformat()} (in {hours:.1f} h). Retry the video after that, or raise {env} if Google "
        "granted this project more quota.",
        {"method": cost.method, "bucket": cost.bucket, "resets_at": resets.isoformat(), "setting": env},
        type=ErrorType.YOUTUBE_QUOTA_EXHAUSTED,
        non_retryable=True,
    )


class QuotaGuard:
    """Reserves a call's quota before it is made; refuses with `YouTubeQuotaExhausted` past the daily limit."""

    def __init__(self, ledger: QuotaStore, settings: Settings) -> None:
        self._ledger = ledger
        self._settings = settings

    async def reserve(self, cost: QuotaCost, now: datetime | None = None) -> int:
        """Reserve `cost` on today's bucket; returns the units reserved."""
        now = now or datetime.now(UTC)
        limit = int(getattr(self._settings, cost.limit_setting))
        day = quota_day(now)
        if not await self._ledger.reserve_quota(cost.bucket, day, cost.units, limit):
            used = await self._ledger.quota_used(cost.bucket, day)
            raise quota_exhausted(cost, now, f"{used} of {limit} used on {day}, the call needs {cost.units}")
        return cost.units
