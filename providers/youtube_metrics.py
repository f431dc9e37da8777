"""Reading how uploaded videos perform, through google-api-python-client: the Data API's `videos.list` statistics
(lifetime counters, 50 ids a call) and the Analytics API's `reports.query` (one video's days a query). Each call's
quota is reserved in the ledger first: `videos.list` costs 1 unit of the Data API's 10,000-unit bucket (shared with
`thumbnails.set`), `reports.query` one query of the Analytics API's own daily allowance; both days end at midnight
Pacific. Revenue is asked for, and left out again when the channel's credentials may not read it (HTTP 403).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import Resource, build_from_document
from googleapiclient.http import build_http
from temporalio.exceptions import ApplicationError

from core.errors import ErrorType
from core.settings import Settings
from core.youtube_metrics import VIDEOS_PER_LIST_CALL, VideoCounters, VideoDay
from providers.context import QuotaStore
from providers.errors import invalid_response, missing_credential
from providers.youtube_quota import QuotaCost, QuotaGuard
from providers.youtube_upload import (
    CREDENTIALS_SETTING,
    SERVICE,
    call_google,
    credentials_from_file,
    discovery_document,
)

LIST = QuotaCost("videos.list", "youtube", 1, "youtube_daily_quota_units")
REPORT = QuotaCost("reports.query", "youtube.analytics", 1, "youtube_analytics_daily_queries")
CHANNEL_CREDENTIALS_SETTING = "YTEMPIRE_YOUTUBE_CHANNEL_CREDENTIALS"
_METRICS = ("views", "estimatedMinutesWatched", "averageViewDuration", "shares", "subscribersGained")
_REVENUE = "estimatedRevenue"
_REPORT_PAGE_ROWS = 200


def credentials_file_of(settings: Settings, channel_id: str) -> tuple[Path, str]:
    """The authorized-user file that reads `channel_id`'s videos, and the setting that names it."""
    if channel_id in settings.youtube_channel_credentials:
        return settings.youtube_channel_credentials[channel_id], f"{CHANNEL_CREDENTIALS_SETTING}[{channel_id}]"
    if settings.youtube_credentials_file is None:
        raise missing_credential(SERVICE, f"{CHANNEL_CREDENTIALS_SETTING} or {CREDENTIALS_SETTING}")
    return settings.youtube_credentials_file, CREDENTIALS_SETTING


@dataclass
class Spent:
    """Quota units reserved by one collection run, whatever became of the calls."""

    units: int = 0


class YouTubeMetricsClient:
    """The youtube v3 and youtubeAnalytics v2 services on one channel's credentials."""

    def __init__(self, settings: Settings, quota: QuotaStore, channel_id: str) -> None:
        path, setting = credentials_file_of(settings, channel_id)
        # No scopes on the refresh: the grant's own decide, and a channel granted no revenue scope still refreshes.
        self._credentials: Credentials = credentials_from_file(path, setting, None)
        self._guard = QuotaGuard(quota, settings)
        self.spent = Spent()
        self._data = _service(settings, self._credentials, settings.youtube_base_url, "youtube", "v3")
        self._analytics = _service(
            settings, self._credentials, settings.youtube_analytics_base_url, "youtubeAnalytics", "v2"
        )

    def secrets(self) -> list[str | None]:
        return [self._credentials.token, self._credentials.refresh_token, self._credentials.client_secret]

    async def video_counters(self, youtube_ids: Sequence[str]) -> dict[str, VideoCounters]:
        """Lifetime views, likes and comments of each video YouTube still has (a deleted one is absent)."""
        counters: dict[str, VideoCounters] = {}
        for start in range(0, len(youtube_ids), VIDEOS_PER_LIST_CALL):
            ids = ",".join(youtube_ids[start : start + VIDEOS_PER_LIST_CALL])
            page_token: str | None = None
            while True:
                answer = await self._execute(
                    LIST, self._data.videos().list(part="statistics", id=ids, pageToken=page_token)
                )
                for item in _list_of(answer, "items"):
                    counters[str(item.get("id"))] = _counters(item)
                page_token = answer.get("nextPageToken") or None
                if page_token is None:
                    break
        return counters

    async def video_days(
        self, youtube_id: str, first: date, last: date, *, with_revenue: bool
    ) -> tuple[list[VideoDay], bool]:
        """The video's days from `first` to `last` that YouTube has, and whether revenue could be read (asked for
        only `with_revenue`; refused credentials answer 403 and the report is asked again without it)."""
        if with_revenue:
            try:
                return await self._video_days(youtube_id, first, last, (*_METRICS, _REVENUE)), True
            except ApplicationError as err:
                if not (err.type == ErrorType.PROVIDER_AUTH_FAILED and _status(err) == 403):
                    raise
        return await self._video_days(youtube_id, first, last, _METRICS), False

    async def _video_days(self, youtube_id: str, first: date, last: date, metrics: Sequence[str]) -> list[VideoDay]:
        days: list[VideoDay] = []
        start_index = 1
        while True:
            request = self._analytics.reports().query(
                ids="channel==MINE",
                startDate=first.isoformat(),
                endDate=last.isoformat(),
                metrics=",".join(metrics),
                dimensions="day",
                filters=f"video=={youtube_id}",
                sort="day",
                startIndex=start_index,
                maxResults=_REPORT_PAGE_ROWS,
            )
            answer = await self._execute(REPORT, request)
            rows = _report_rows(answer)
            days.extend(_video_day(youtube_id, row) for row in rows)
            if len(rows) < _REPORT_PAGE_ROWS:
                return days
            start_index += len(rows)

    async def _execute(self, cost: QuotaCost, request: Any) -> dict[str, Any]:
        self.spent.units += await self._guard.reserve(cost)
        answer = await call_google(self.secrets, cost, request.execute)
        if not isinstance(answer, dict):
            raise invalid_response(SERVICE, f"{cost.method} answered {type(answer).__name__}, not an object")
        return answer


def _service(settings: Settings, credentials: Credentials, base_url: str | None, name: str, version: str) -> Resource:
    http = build_http()
    http.timeout = settings.provider_timeout_seconds
    return build_from_document(discovery_document(base_url, name, version), http=AuthorizedHttp(credentials, http=http))


def _status(err: ApplicationError) -> int | None:
    details = err.details[0] if err.details else None
    return details.get("status") if isinstance(details, dict) else None


def _list_of(answer: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = answer.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise invalid_response(SERVICE, f"`{key}` is not a list of objects")
    return items


def _counters(item: dict[str, Any]) -> VideoCounters:
    stats = item.get("statistics")
    if not isinstance(stats, dict):
        raise invalid_response(SERVICE, f"video {item.get('id')!r} has no statistics")
    try:  # counts come as strings; a hidden count (likes, comments off) is absent
        return VideoCounters(
            int(stats.get("viewCount", 0)), int(stats.get("likeCount", 0)), int(stats.get("commentCount", 0))
        )
    except (TypeError, ValueError):
        raise invalid_response(SERVICE, f"video {item.get('id')!r} has counts that are not numbers") from None


def _report_rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows as {column: value}; the API leaves `rows` out when there are none."""
    headers = answer.get("columnHeaders")
    if not isinstance(headers, list) or not all(isinstance(h, dict) and "name" in h for h in headers):
        raise invalid_response(SERVICE, "reports.query answered without columnHeaders")
    names = [str(h["name"]) for h in headers]
    rows = answer.get("rows") or []
    if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == len(names) for r in rows):
        raise invalid_response(SERVICE, "reports.query rows do not match its columns")
    return [dict(zip(names, row, strict=True)) for row in rows]


def _video_day(youtube_id: str, row: dict[str, Any]) -> VideoDay:
    try:
        revenue = row.get(_REVENUE)
        return VideoDay(
            youtube_video_id=youtube_id,
            day=date.fromisoformat(str(row["day"])),
            views=int(row.get("views", 0)),
            watch_minutes=float(row.get("estimatedMinutesWatched", 0)),
            average_view_seconds=float(row.get("averageViewDuration", 0)),
            shares=int(row.get("shares", 0)),
            subscribers_gained=int(row.get("subscribersGained", 0)),
            estimated_revenue_usd=float(revenue) if revenue is not None else None,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise invalid_response(SERVICE, f"a reports.query row is not a day of numbers ({err})") from None
