"""What YouTube says about the uploaded videos: lifetime counters (Data API `videos.list`), days of a video
(Analytics API `reports.query`), and the record of each scheduled collection run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from temporalio.exceptions import ApplicationError

from core.errors import ErrorType


@cache
def pacific() -> ZoneInfo:
    """America/Los_Angeles, looked up on first use: a host without a tz database fails only the YouTube upload."""
    try:
        return ZoneInfo("America/Los_Angeles")
    except ZoneInfoNotFoundError:
        raise ApplicationError(
            "the YouTube quota day needs the America/Los_Angeles time zone: install tzdata (OS or pip)",
            type=ErrorType.INVALID_CONFIGURATION,
            non_retryable=True,
        ) from None


def quota_day(now: datetime) -> date:
    """The quota day YouTube counts `now` in (its days run midnight to midnight Pacific time)."""
    return now.astimezone(pacific()).date()


CollectionApi = Literal["data", "analytics"]
CollectionOutcome = Literal["ok", "no_videos", "auth_failed", "quota_exhausted"]
VIDEOS_PER_LIST_CALL: Final = 50  # videos.list takes at most 50 ids
MAX_REPORT_DAYS: Final = 400  # a report reaches back no further than this (a channel's first collection)


@dataclass(frozen=True)
class UploadedVideo:
    video_id: str
    channel_id: str
    youtube_video_id: str
    uploaded_at: datetime


@dataclass(frozen=True)
class VideoCounters:
    views: int
    likes: int
    comments: int


@dataclass(frozen=True)
class VideoDay:
    """One day of one video from the Analytics API; revenue None when the credentials may not read it."""

    youtube_video_id: str
    day: date
    views: int
    watch_minutes: float
    average_view_seconds: float
    shares: int
    subscribers_gained: int
    estimated_revenue_usd: float | None


@dataclass(frozen=True)
class CollectionRun:
    channel_id: str
    api: CollectionApi
    scheduled_for: datetime
    outcome: CollectionOutcome
    videos: int = 0
    rows_written: int = 0
    quota_units: int = 0
    first_day: date | None = None
    last_day: date | None = None
    revenue: bool | None = None
    detail: str = ""


def report_days(
    scheduled_day: date, settle_days: int, last_collected: date | None, first_upload: date
) -> tuple[date, date] | None:
    """The days a daily report run collects: the last `settle_days` before `scheduled_day` (YouTube revises them),
    and every day since the last successful run's unsettled ones (a run missed for an outage or a spent quota), never
    before the channel's first upload nor more than MAX_REPORT_DAYS back. None when there is no day to collect."""
    last = scheduled_day - timedelta(days=1)
    first = last - timedelta(days=settle_days - 1)
    if last_collected is not None:
        first = min(first, last_collected - timedelta(days=settle_days - 2))
    else:
        first = first_upload
    first = max(first, first_upload, last - timedelta(days=MAX_REPORT_DAYS - 1))
    return (first, last) if first <= last else None
