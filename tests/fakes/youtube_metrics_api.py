"""A fake YouTube Data API v3 `videos.list` + YouTube Analytics API v2 `reports.query` + Google OAuth token endpoint.

It speaks the wire protocol googleapiclient uses, for clients built with `build_from_document` from the packaged
discovery documents (`youtube.v3`, `youtubeAnalytics.v2`) whose root/base URLs point at this fake. One `Account` per
YouTube channel; each account's refresh token mints access tokens that the two APIs map back to that account.

- `POST /token`: the OAuth refresh-token grant (form body) → `{"access_token", "expires_in", "scope", ...}`, or 400
  `{"error": "invalid_grant"}` for a wrong client, an unknown refresh token or a revoked account.
- `GET /youtube/v3/videos?part=statistics&id=a,b,c[&pageToken=...][&maxResults=n]` (videos.list): lifetime
  counters as strings, like the real API; unknown (deleted) ids are absent from `items`; at most 50 ids. With
  `fake.page_size` set it pages with an opaque `nextPageToken`. Each answer that includes a video first adds that
  video's `views_per_call` (time passing between scheduled runs).
- `GET /v2/reports?ids=channel==MINE&startDate&endDate&metrics&dimensions=day&filters=video==ID[&startIndex]
  [&maxResults][&sort=day]` (reports.query): a `youtubeAnalytics#resultTable` of the days in the range that have
  data, ascending, paged by startIndex/maxResults; `rows` is omitted when empty. The video must belong to the
  token's account (403 otherwise); `estimatedRevenue` needs a monetary grant (403 otherwise).

Both APIs answer 401 `authError` without a valid Bearer token (a revoked account's tokens stop working too).
Scripted faults (`fake.fail(...)`) answer the next matching request(s) with an error in Google's JSON error shape
(the OAuth shape for "token"), with optional headers such as `Retry-After`.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tests.fakes.youtube_api import google_error

Where = Literal["token", "videos", "reports"]

SCOPES = (
    "https://www.googleapis.com/auth/youtube.readonly",
    "https://www.googleapis.com/auth/yt-analytics.readonly",
)
MONETARY_SCOPE = "https://www.googleapis.com/auth/yt-analytics-monetary.readonly"

MAX_IDS = 50
# reports.query metrics this fake knows, with the dataType the real API reports for each.
METRIC_TYPES: dict[str, Literal["INTEGER", "FLOAT"]] = {
    "views": "INTEGER",
    "estimatedMinutesWatched": "INTEGER",
    "averageViewDuration": "INTEGER",
    "shares": "INTEGER",
    "subscribersGained": "INTEGER",
    "likes": "INTEGER",
    "comments": "INTEGER",
    "estimatedRevenue": "FLOAT",
}


@dataclass
class Account:
    refresh_token: str
    monetary: bool = True  # the grant includes yt-analytics-monetary.readonly (estimatedRevenue allowed)
    revoked: bool = False  # refresh answers 400 invalid_grant; its access tokens answer 401
    videos: set[str] = field(default_factory=set)  # YouTube video ids this channel owns


@dataclass
class Counters:
    views: int = 0
    likes: int = 0
    comments: int = 0
    favorites: int = 0
    # Each videos.list answer that includes this video first adds this many views (and // 10 likes, // 50 comments):
    # time passing between scheduled runs.
    views_per_call: int = 0


@dataclass
class Fault:
    where: Where
    status: int
    reason: str = ""
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]  # a repeated parameter's values joined with ","
    where: Where
    account: str | None  # the account whose refresh/access token the request carried


@dataclass
class _Page:
    """What a videos.list `nextPageToken` stands for: the rest of one id list."""

    ids: tuple[str, ...]
    offset: int


class FakeYouTubeMetrics:
    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.accounts: dict[str, Account] = {}
        self.access_tokens: dict[str, str] = {}  # access token → account name
        self.counters: dict[str, Counters] = {}
        self.daily: dict[tuple[str, date], dict[str, float]] = {}
        self.page_size: int | None = None  # videos.list items per page; None answers every id at once
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self._pages: dict[str, _Page] = {}
        self.app = self._build()

    # --- what tests script and inspect -------------------------------------------------------------------------
    def add_account(self, name: str, refresh_token: str, *, monetary: bool = True) -> Account:
        account = Account(refresh_token, monetary=monetary)
        self.accounts[name] = account
        return account

    def credentials_file(self, name: str, path: Path, base_url: str) -> Path:
        """An authorized-user JSON for account `name` whose refresh goes to this fake's /token."""
        info = {
            "type": "authorized_user",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.accounts[name].refresh_token,
            "token_uri": f"{base_url}/token",
        }
        path.write_text(json.dumps(info))
        return path

    def revoke(self, name: str) -> None:
        self.accounts[name].revoked = True

    def set_counters(self, video_id: str, **fields: int) -> Counters:
        """Create or update a video's lifetime counters (a video without counters is unknown: deleted)."""
        counters = self.counters.setdefault(video_id, Counters())
        for key, value in fields.items():
            if not hasattr(counters, key):
                raise TypeError(f"Counters has no field {key!r}")
            setattr(counters, key, value)
        return counters

    def set_day(self, video_id: str, day: date, **metrics: float) -> None:
        """Set (merge) one video's Analytics metrics for one day."""
        unknown = set(metrics) - set(METRIC_TYPES)
        if unknown:
            raise TypeError(f"unsupported metrics {sorted(unknown)}")
        self.daily.setdefault((video_id, day), {}).update(metrics)

    def fail(
        self,
        where: Where,
        status: int,
        reason: str = "",
        *,
        message: str = "",
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.faults.append(Fault(where, status, reason, message, dict(headers or {}), times))

    def calls(self, where: Where) -> list[Recorded]:
        return [r for r in self.requests if r.where == where]

    # --- the API ------------------------------------------------------------------------------------------------
    def _fault(self, where: Where) -> Fault | None:
        for fault in self.faults:
            if fault.where == where:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _record(self, request: Request, where: Where, account: str | None) -> None:
        query = {key: ",".join(request.query_params.getlist(key)) for key in request.query_params}
        self.requests.append(Recorded(request.method, request.url.path, query, where, account))

    def _bearer_account(self, request: Request) -> str | None:
        """The name of the live account whose access token the request carries, else None."""
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return None
        name = self.access_tokens.get(auth.removeprefix("Bearer "))
        if name is None or self.accounts[name].revoked:
            return None
        return name

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/token")
        async def token(request: Request) -> Response:
            body = await request.body()
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            name = next(
                (n for n, a in self.accounts.items() if a.refresh_token == form.get("refresh_token")),
                None,
            )
            self._record(request, "token", name)
            if fault := self._fault("token"):
                return JSONResponse(
                    {"error": fault.reason or "invalid_grant", "error_description": fault.message},
                    fault.status,
                    headers=fault.headers,
                )
            if (
                name is None
                or self.accounts[name].revoked
                or form.get("grant_type") != "refresh_token"
                or form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret
            ):
                return JSONResponse(
                    {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}, 400
                )
            access = "ya29." + secrets.token_urlsafe(24)
            self.access_tokens[access] = name
            # Google answers the scopes the user granted; the client only warns when it asked for more.
            scopes = [*SCOPES, MONETARY_SCOPE] if self.accounts[name].monetary else list(SCOPES)
            return JSONResponse(
                {"access_token": access, "expires_in": 3599, "scope": " ".join(scopes), "token_type": "Bearer"}
            )

        @app.get("/youtube/v3/videos")
        async def videos_list(request: Request) -> Response:
            name = self._bearer_account(request)
            self._record(request, "videos", name)
            if name is None:
                return _unauthenticated()
            if fault := self._fault("videos"):
                return _error(fault)
            query = request.query_params
            parts = _split(query.getlist("part"))
            if "statistics" not in parts:
                return google_error(
                    400, "badRequest", f"this fake answers part=statistics, not {parts}", "youtube.parameter"
                )
            ids = tuple(_split(query.getlist("id")))
            if not ids:
                return google_error(400, "missingRequiredParameter", "No filter selected.", "youtube.parameter")
            if len(ids) > MAX_IDS:
                message = f"The request specifies {len(ids)} video ids; at most {MAX_IDS} are allowed."
                return google_error(400, "invalidFilters", message, "youtube.parameter")
            limit = self.page_size
            if "maxResults" in query:
                max_results = _int(query["maxResults"])
                if max_results is None or not 1 <= max_results <= MAX_IDS:
                    message = f"Invalid value for maxResults: {query['maxResults']!r} (1..{MAX_IDS})."
                    return google_error(400, "invalidValue", message, "youtube.parameter")
                limit = max_results if limit is None else min(limit, max_results)
            offset = 0
            if page_token := query.get("pageToken"):
                page = self._pages.get(page_token)
                if page is None or page.ids != ids:
                    return google_error(
                        400, "invalidPageToken", "The request's pageToken is invalid.", "youtube.parameter"
                    )
                offset = page.offset
            known = [video_id for video_id in ids if video_id in self.counters]
            end = len(known) if limit is None else offset + limit
            answer: dict[str, Any] = {
                "kind": "youtube#videoListResponse",
                "etag": secrets.token_hex(8),
                "items": [_video_item(video_id, self.counters[video_id]) for video_id in known[offset:end]],
                "pageInfo": {"totalResults": len(known), "resultsPerPage": len(known) if limit is None else limit},
            }
            if end < len(known):
                next_token = "CA" + secrets.token_urlsafe(12)
                self._pages[next_token] = _Page(ids, end)
                answer["nextPageToken"] = next_token
            return JSONResponse(answer)

        @app.get("/v2/reports")
        async def reports_query(request: Request) -> Response:
            name = self._bearer_account(request)
            self._record(request, "reports", name)
            if name is None:
                return _unauthenticated()
            if fault := self._fault("reports"):
                return _error(fault)
            query = request.query_params
            if query.get("ids") != "channel==MINE":
                return google_error(400, "badRequest", f"Invalid value for ids: {query.get('ids')!r}.")
            start, end = _date(query.get("startDate")), _date(query.get("endDate"))
            if start is None or end is None or start > end:
                message = f"Invalid date range {query.get('startDate')!r}..{query.get('endDate')!r} (YYYY-MM-DD)."
                return google_error(400, "badRequest", message)
            metrics = _split(query.getlist("metrics"))
            unknown = [m for m in metrics if m not in METRIC_TYPES]
            if not metrics or unknown:
                return google_error(400, "badRequest", f"Unknown or missing metrics: {unknown or metrics}.")
            if query.get("dimensions") != "day":
                return google_error(
                    400, "badRequest", f"This fake supports dimensions=day, not {query.get('dimensions')!r}."
                )
            if query.get("sort", "day") not in ("day", "-day"):
                return google_error(400, "badRequest", f"Unsupported sort {query.get('sort')!r}.")
            video_id = query.get("filters", "").removeprefix("video==")
            if not query.get("filters", "").startswith("video==") or not video_id or "," in video_id or ";" in video_id:
                return google_error(
                    400, "badRequest", f"This fake needs filters=video==ONE_ID, not {query.get('filters')!r}."
                )
            start_index = _int(query.get("startIndex", "1"))
            max_results = _int(query["maxResults"]) if "maxResults" in query else None
            if start_index is None or start_index < 1 or (max_results is not None and max_results < 1):
                return google_error(400, "badRequest", "startIndex and maxResults must be integers >= 1.")
            account = self.accounts[name]
            if video_id not in account.videos or ("estimatedRevenue" in metrics and not account.monetary):
                return google_error(403, "forbidden", "Forbidden")
            days = sorted(d for (v, d) in self.daily if v == video_id and start <= d <= end)
            if query.get("sort") == "-day":
                days.reverse()
            days = days[start_index - 1 :]
            if max_results is not None:
                days = days[:max_results]
            headers = [{"name": "day", "columnType": "DIMENSION", "dataType": "STRING"}]
            headers += [{"name": m, "columnType": "METRIC", "dataType": METRIC_TYPES[m]} for m in metrics]
            answer: dict[str, Any] = {"kind": "youtubeAnalytics#resultTable", "columnHeaders": headers}
            if days:
                answer["rows"] = [_row(day, self.daily[(video_id, day)], metrics) for day in days]
            return JSONResponse(answer)

        return app


def _split(values: list[str]) -> list[str]:
    """A repeated, comma-separated query parameter (`id=a,b&id=c`) as one list."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "") if len(value or "") == 10 else None
    except ValueError:
        return None


def _video_item(video_id: str, counters: Counters) -> dict[str, Any]:
    counters.views += counters.views_per_call
    counters.likes += counters.views_per_call // 10
    counters.comments += counters.views_per_call // 50
    return {
        "kind": "youtube#video",
        "etag": secrets.token_hex(8),
        "id": video_id,
        "statistics": {
            "viewCount": str(counters.views),
            "likeCount": str(counters.likes),
            "favoriteCount": str(counters.favorites),
            "commentCount": str(counters.comments),
        },
    }


def _row(day: date, values: dict[str, float], metrics: list[str]) -> list[str | int | float]:
    row: list[str | int | float] = [day.isoformat()]
    for metric in metrics:
        value = values.get(metric, 0)
        row.append(float(value) if METRIC_TYPES[metric] == "FLOAT" else int(value))
    return row


def _error(fault: Fault) -> Response:
    reasons = {401: "authError", 403: "forbidden", 429: "rateLimitExceeded", 500: "backendError", 503: "backendError"}
    reason = fault.reason or reasons.get(fault.status, "badRequest")
    return google_error(fault.status, reason, fault.message or reason, headers=fault.headers)


def _unauthenticated() -> Response:
    message = "Request had invalid authentication credentials. Expected OAuth 2 access token."
    return google_error(
        401, "authError", message, headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}
    )
