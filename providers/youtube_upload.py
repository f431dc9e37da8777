"""YouTube upload from the outbox through google-api-python-client: `videos.insert` as a resumable upload that a
retried activity resumes instead of restarting, then `thumbnails.set`.

Progress lives in `outbox/<video_id>/youtube_upload.json` (session URI, bytes the server confirmed, the YouTube
video id once done, quota spent), written after every chunk. A retry after a crash or a 5xx asks the session how far
it got (`Content-Range: bytes */<size>`, answered by 308 + `Range` or by the finished video) and continues from
there; a retry after success makes no request at all. The state file holds no token: the OAuth credentials stay in
the credentials file and in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httplib2
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import Resource, build_from_document
from googleapiclient.discovery_cache import get_static_doc
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest, MediaFileUpload, build_http
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.errors import ErrorType
from core.settings import Settings
from providers.context import ProviderContext
from providers.errors import (
    MAX_RETRY_AFTER_SECONDS,
    header,
    http_error,
    invalid_response,
    missing_credential,
    retry_after_seconds,
    unavailable,
)
from providers.redaction import redact
from providers.youtube_quota import INSERT, THUMBNAIL, QuotaCost, QuotaGuard, quota_exhausted

SERVICE = "YouTube"
PROVIDER = "youtube"
CREDENTIALS_SETTING = "YTEMPIRE_YOUTUBE_CREDENTIALS_FILE"
SCOPES = ["https://www.googleapis.com/auth/youtube.upload", "https://www.googleapis.com/auth/youtube"]
STATE_FILE = "youtube_upload.json"
# Error reasons (error.errors[].reason) that mean "no quota left today", whatever the HTTP status.
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded", "uploadLimitExceeded"})
# 403s that are rate limits, not refusals: retried like a 429.
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class UploadState:
    """What one attempt leaves for the next (the file is rewritten atomically after every step)."""

    video_sha256: str = ""  # the state belongs to exactly these bytes; another file starts afresh
    total_bytes: int = 0
    session_uri: str | None = None
    bytes_sent: int = 0  # as confirmed by the server
    sessions: int = 0  # upload sessions started, each one videos.insert call
    publish_at: str | None = None
    youtube_video_id: str | None = None
    thumbnail_set: bool = False
    quota: dict[str, int] = field(default_factory=dict)  # units reserved per method, over all attempts

    @classmethod
    def load(cls, path: Path, video_sha256: str) -> UploadState:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return cls(video_sha256=video_sha256)
        state = cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        return state if state.video_sha256 == video_sha256 else cls(video_sha256=video_sha256)

    def save(self, path: Path) -> None:
        """Owner-only (0600): the session URI lets whoever holds it upload into the channel for a week."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            out.write(json.dumps(asdict(self), indent=2))
        tmp.replace(path)


@dataclass(frozen=True)
class UploadResult:
    youtube_video_id: str
    bytes: int
    sessions: int
    resumed_from: int  # bytes already on YouTube when this attempt began (0: a fresh upload)
    quota: dict[str, int]
    publish_at: str | None
    state_path: Path
    uploaded_now: bool  # False: an earlier attempt had finished everything; no request was made

    @property
    def quota_units(self) -> int:
        return sum(self.quota.values())


async def upload_from_outbox(ctx: ProviderContext, outbox: Path) -> UploadResult:
    """Upload `outbox`'s video.mp4 with its metadata.json body, then set thumbnail.jpg; resumes an earlier attempt."""
    video, thumbnail = outbox / "video.mp4", outbox / "thumbnail.jpg"
    body = json.loads((outbox / "metadata.json").read_text())["youtube"]
    state_path = outbox / STATE_FILE
    state = UploadState.load(state_path, await asyncio.to_thread(_sha256, video))
    resumed_from = state.bytes_sent if state.youtube_video_id is None else state.total_bytes
    if state.youtube_video_id is not None and state.thumbnail_set:
        return _result(state, state_path, resumed_from, uploaded_now=False)
    if ctx.ledger is None:
        raise ApplicationError(
            "the YouTube quota guard needs the ledger: build the ProviderContext with one",
            type=ErrorType.INVALID_CONFIGURATION,
            non_retryable=True,
        )
    guard = QuotaGuard(ctx.ledger, ctx.settings)
    client = await asyncio.to_thread(YouTubeClient.from_settings, ctx.settings)
    if state.youtube_video_id is None:
        resumed_from = await _upload_video(ctx, client, guard, video, body, state, state_path)
    if not state.thumbnail_set:
        await _set_thumbnail(ctx, client, guard, thumbnail, state, state_path)
    return _result(state, state_path, resumed_from, uploaded_now=True)


class YouTubeClient:
    """The discovery-built `youtube` v3 service with OAuth credentials, our timeout and no client-side retries."""

    def __init__(self, service: Resource, credentials: Credentials) -> None:
        self.service = service
        self.credentials = credentials

    @classmethod
    def from_settings(cls, settings: Settings) -> YouTubeClient:
        credentials = load_credentials(settings)
        http = build_http()  # googleapiclient's own: 308 is "Resume Incomplete" here, not a redirect
        http.timeout = settings.provider_timeout_seconds
        authorized = AuthorizedHttp(credentials, http=http)
        return cls(build_from_document(discovery_document(settings.youtube_base_url), http=authorized), credentials)

    def secrets(self) -> list[str | None]:
        return [self.credentials.token, self.credentials.refresh_token, self.credentials.client_secret]


def load_credentials(settings: Settings) -> Credentials:
    path = settings.youtube_credentials_file
    if path is None:
        raise missing_credential(SERVICE, CREDENTIALS_SETTING)
    return credentials_from_file(path, CREDENTIALS_SETTING, SCOPES)


def credentials_from_file(path: Path, setting: str, scopes: list[str] | None) -> Credentials:
    """OAuth credentials from an authorized-user JSON; a file that is not one is a non-retryable auth failure."""
    try:
        info = json.loads(Path(path).read_text())
        if not isinstance(info, dict):
            raise ValueError("not a JSON object")
        credentials: Credentials = Credentials.from_authorized_user_info(info, scopes=scopes)
        # google-auth sets Google's token endpoint for authorized-user info whatever the file says; the file's
        # token_uri (a gateway, a local fake) is applied through the supported override.
        if isinstance(info.get("token_uri"), str) and info["token_uri"]:
            credentials = credentials.with_token_uri(info["token_uri"])
    except (OSError, ValueError) as err:
        raise ApplicationError(
            f"{SERVICE} credentials file {path} is unusable ({type(err).__name__}: {redact(str(err))[:200]}): "
            f"set {setting} to an authorized-user JSON with client_id, client_secret, refresh_token and token_uri",
            {"service": SERVICE, "setting": setting},
            type=ErrorType.PROVIDER_AUTH_FAILED,
            non_retryable=True,
        ) from None
    return credentials


def discovery_document(base_url: str | None, name: str = "youtube", version: str = "v3") -> dict[str, Any]:
    """The packaged (static) discovery document of a Google API (youtube v3 unless named), its root rewritten to
    `base_url` when one is set.

    `client_options={"api_endpoint": ...}` is not enough: googleapiclient swaps only the host of the media upload
    URL (`_fix_up_media_path_base_url`) and keeps its https scheme and root path, so uploads would miss a gateway
    or a local fake. The upload URL is `rootUrl + "upload/" + servicePath + path`, hence the rewrite of rootUrl.
    """
    doc: dict[str, Any] = json.loads(get_static_doc(name, version))
    if base_url:
        root = base_url.rstrip("/") + "/"
        doc.update(rootUrl=root, mtlsRootUrl=root, baseUrl=root + doc.get("servicePath", ""))
    return doc


async def _upload_video(
    ctx: ProviderContext,
    client: YouTubeClient,
    guard: QuotaGuard,
    video: Path,
    body: dict[str, Any],
    state: UploadState,
    state_path: Path,
) -> int:
    """videos.insert, resumable; returns the bytes that were already on YouTube when this attempt began."""
    size = video.stat().st_size
    media = MediaFileUpload(
        str(video), mimetype="video/mp4", chunksize=ctx.settings.youtube_chunk_bytes, resumable=True
    )
    publish_at = _publish_at(ctx.settings)  # sent only if this attempt starts a new session
    request = client.service.videos().insert(part="snippet,status", body=_scheduled(body, publish_at), media_body=media)
    response: Any = None
    called = False  # whether this attempt made a request (counted once in provider_calls, by its outcome)
    try:
        if state.session_uri is not None:
            session_uri, called = state.session_uri, True
            response = await _call(client, INSERT, lambda: _resume(request, session_uri, size))
            if request.resumable_uri is None:
                log.warning("YouTube upload session expired after %d bytes; starting a new one", state.bytes_sent)
                state.session_uri = None
            else:
                _remember(state, request, size if response is not None else None, state_path)
        if state.session_uri is None:
            state.quota[INSERT.method] = state.quota.get(INSERT.method, 0) + await guard.reserve(INSERT)
            state.sessions += 1
            state.total_bytes, state.bytes_sent, state.publish_at = size, 0, publish_at
            state.save(state_path)
        resumed_from = state.bytes_sent
        while response is None:
            called = True
            try:
                _, response = await _call(client, INSERT, lambda: request.next_chunk(num_retries=0))
            finally:  # after a failed chunk too: the next attempt resumes this session
                if request.resumable_uri is not None:
                    _remember(state, request, size if response is not None else None, state_path)
            _heartbeat(state.bytes_sent, size)
        state.youtube_video_id = _video_id(response)
    except ApplicationError as err:
        if called:
            _count(ctx, err.type or "Error")
        raise
    finally:
        media.stream().close()
    _count(ctx, "ok")
    state.save(state_path)
    log.info("uploaded video to YouTube as %s (%d bytes, %d session(s))", state.youtube_video_id, size, state.sessions)
    return resumed_from


def _resume(request: HttpRequest, session_uri: str, size: int) -> Any:
    """Point `request` at an earlier session and ask how far it got, as googleapiclient does after an error.

    Returns the video resource when the upload had already finished; leaves `resumable_uri` None when the session
    expired (404/410: YouTube's answer once a session is about a week old).
    """
    headers = {"Content-Range": f"bytes */{size}", "content-length": "0"}
    resp, content = request.http.request(session_uri, "PUT", headers=headers)
    if resp.status in (200, 201):
        request.resumable_uri = session_uri
        return request.postproc(resp, content)
    if resp.status == 308:
        request.resumable_uri = resp.get("location", session_uri)
        # "Range: bytes=0-N" lists what the server holds; no Range header means nothing yet.
        try:
            request.resumable_progress = int(resp["range"].split("-")[1]) + 1 if "range" in resp else 0
        except (IndexError, ValueError):
            raise invalid_response(SERVICE, f"unreadable Range header {resp['range']!r}") from None
        return None
    if resp.status in (404, 410):
        request.resumable_uri = None
        return None
    raise HttpError(resp, content, uri=session_uri)


def _remember(state: UploadState, request: HttpRequest, done_bytes: int | None, state_path: Path) -> None:
    state.session_uri = request.resumable_uri or state.session_uri
    state.bytes_sent = done_bytes if done_bytes is not None else request.resumable_progress
    state.save(state_path)


async def _set_thumbnail(
    ctx: ProviderContext, client: YouTubeClient, guard: QuotaGuard, thumbnail: Path, state: UploadState, path: Path
) -> None:
    video_id = state.youtube_video_id or ""
    state.quota[THUMBNAIL.method] = state.quota.get(THUMBNAIL.method, 0) + await guard.reserve(THUMBNAIL)
    state.save(path)
    media = MediaFileUpload(str(thumbnail), mimetype="image/jpeg")
    try:
        request = client.service.thumbnails().set(videoId=video_id, media_body=media)
        response = await _call(client, THUMBNAIL, lambda: request.execute(num_retries=0))
        if not isinstance(response, dict) or not isinstance(response.get("items"), list):
            raise invalid_response(SERVICE, "thumbnails.set answered without items")
    except ApplicationError as err:
        _count(ctx, err.type or "Error")
        raise
    finally:
        media.stream().close()
    _count(ctx, "ok")
    state.thumbnail_set = True
    state.save(path)


def _count(ctx: ProviderContext, outcome: str) -> None:
    ctx.metrics.provider_calls.labels(PROVIDER, outcome).inc()


async def _call(client: YouTubeClient, cost: QuotaCost, fn: Callable[[], T]) -> T:
    return await call_google(client.secrets, cost, fn)


async def call_google(secrets: Callable[[], list[str | None]], cost: QuotaCost, fn: Callable[[], T]) -> T:
    """Run a blocking googleapiclient call in a thread; every failure leaves as one typed ApplicationError (a spent
    quota as YouTubeQuotaExhausted, a refused refresh token as ProviderAuthFailed) with the credentials redacted as
    they are after the call (it may have refreshed the access token)."""
    try:
        return await asyncio.to_thread(fn)
    except HttpError as err:
        raise _http_failure(err, cost, secrets()) from None
    except RefreshError as err:
        raise _refresh_failure(err, secrets()) from None
    except (TransportError, httplib2.HttpLib2Error, OSError) as err:
        raise unavailable(SERVICE, err, secrets()) from None


def _http_failure(err: HttpError, cost: QuotaCost, secrets: list[str | None]) -> ApplicationError:
    status = int(err.resp.status)
    reason, message = _error_reason(err.content)
    body = f"{reason}: {message}" if reason else err.content.decode("utf-8", "replace")
    if reason in QUOTA_REASONS:
        return quota_exhausted(cost, datetime.now(UTC), f"YouTube answered HTTP {status} {reason}")
    if status == 403 and reason in RATE_REASONS:
        delay = retry_after_seconds(header(dict(err.resp), "Retry-After"), cap_seconds=MAX_RETRY_AFTER_SECONDS)
        return ApplicationError(
            f"{SERVICE} rate-limited the request (HTTP 403 {reason})",
            {"service": SERVICE, "status": status, "retry_after_seconds": delay},
            type=ErrorType.PROVIDER_RATE_LIMITED,
            next_retry_delay=timedelta(seconds=delay) if delay is not None else None,
        )
    if status < 300:  # a session start without a Location header (ResumableUploadError)
        return invalid_response(SERVICE, f"{cost.method} answered HTTP {status} without an upload session")
    return http_error(SERVICE, status, setting=CREDENTIALS_SETTING, headers=dict(err.resp), body=body, secrets=secrets)


def _refresh_failure(err: RefreshError, secrets: list[str | None]) -> ApplicationError:
    if err.retryable:
        return unavailable(SERVICE, err, secrets)
    detail = redact(str(err.args[0]) if err.args else type(err).__name__, secrets)[:200]
    return ApplicationError(
        f"{SERVICE} refused the OAuth refresh token ({detail}): authorize again and update the file named by "
        f"{CREDENTIALS_SETTING}",
        {"service": SERVICE, "setting": CREDENTIALS_SETTING},
        type=ErrorType.PROVIDER_AUTH_FAILED,
        non_retryable=True,
    )


def _error_reason(content: bytes) -> tuple[str, str]:
    """(reason, message) of a Google API error body ({"error": {"errors": [{"reason": ...}], "message": ...}})."""
    try:
        error = json.loads(content.decode("utf-8"))["error"]
        errors = error.get("errors") or [{}]
        return str(errors[0].get("reason") or error.get("status") or ""), str(error.get("message") or "")
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        return "", ""


def _video_id(response: Any) -> str:
    if not isinstance(response, dict) or not isinstance(response.get("id"), str) or not response["id"]:
        raise invalid_response(SERVICE, "videos.insert finished without a video id")
    upload_status = (response.get("status") or {}).get("uploadStatus")
    if upload_status in ("rejected", "failed"):
        reason = response["status"].get("rejectionReason") or response["status"].get("failureReason") or "unknown"
        raise ApplicationError(
            f"{SERVICE} {upload_status} the upload ({reason}); see the video {response['id']} in YouTube Studio",
            {"service": SERVICE, "youtube_video_id": response["id"], "reason": reason},
            type=ErrorType.YOUTUBE_UPLOAD_REJECTED,
            non_retryable=True,
        )
    return str(response["id"])


def _publish_at(settings: Settings) -> str | None:
    if settings.youtube_publish_delay_hours is None:
        return None
    when = datetime.now(UTC) + timedelta(hours=settings.youtube_publish_delay_hours)
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _scheduled(body: dict[str, Any], publish_at: str | None) -> dict[str, Any]:
    """The videos.insert body with `status.publishAt`; YouTube publishes only private videos on a schedule."""
    if publish_at is None:
        return body
    return {**body, "status": {**body.get("status", {}), "privacyStatus": "private", "publishAt": publish_at}}


def _heartbeat(sent: int, total: int) -> None:
    if activity.in_activity():
        activity.heartbeat({"bytes_sent": sent, "total_bytes": total})


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _result(state: UploadState, path: Path, resumed_from: int, *, uploaded_now: bool) -> UploadResult:
    return UploadResult(
        youtube_video_id=state.youtube_video_id or "",
        bytes=state.total_bytes,
        sessions=state.sessions,
        resumed_from=resumed_from,
        quota=dict(state.quota),
        publish_at=state.publish_at,
        state_path=path,
        uploaded_now=uploaded_now,
    )
