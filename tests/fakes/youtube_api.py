"""A fake YouTube Data API v3 + Google OAuth token endpoint, speaking the wire protocol googleapiclient uses.

- `POST /token`: the OAuth refresh-token grant (form body) → `{"access_token", "expires_in", ...}`, or 400
  `{"error": "invalid_grant"}`.
- `POST /upload/youtube/v3/videos?uploadType=resumable&part=...`: starts a resumable session (Bearer token, JSON
  metadata, `X-Upload-Content-Length/-Type`) → 200 + `Location: <session URL with upload_id>`.
- `PUT <session URL>`: chunks with `Content-Range: bytes a-b/total` → 308 + `Range: bytes=0-N` while incomplete,
  200 + the video resource once complete; `Content-Range: bytes */total` asks for the status the same way;
  an unknown session is 404 (YouTube's answer for an expired one).
- `POST /upload/youtube/v3/thumbnails/set?videoId=...` (simple upload) → a thumbnailSetResponse.

Scripted faults (`fake.fail(...)`) answer the next matching request(s) with an error in Google's JSON error shape;
a chunk fault can first keep part of the chunk (`keep_until`), as a server does that fails mid-request.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

Where = Literal["token", "insert", "chunk", "status", "thumbnail"]


@dataclass
class Fault:
    where: Where
    status: int
    reason: str = ""
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    # Chunk faults: fire on the chunk that reaches past this offset, keeping the upload's bytes up to it.
    keep_until: int | None = None
    times: int = 1
    body: Any = None  # answer this JSON instead of Google's error shape (e.g. a malformed 200)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body_bytes: int
    where: str


@dataclass
class Session:
    upload_id: str
    total: int
    content_type: str
    metadata: dict[str, Any]
    data: bytearray = field(default_factory=bytearray)
    video: dict[str, Any] | None = None


class FakeYouTube:
    def __init__(self, *, client_id: str, client_secret: str, refresh_token: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.access_tokens: list[str] = []
        self.requests: list[Recorded] = []
        self.sessions: dict[str, Session] = {}
        self.thumbnails: dict[str, bytes] = {}
        self.faults: list[Fault] = []
        self.app = self._build()

    # --- what tests script and inspect -------------------------------------------------------------------------
    def fail(self, where: Where, status: int, reason: str = "", **kwargs: Any) -> None:
        self.faults.append(Fault(where, status, reason, **kwargs))

    def credentials_file(self, path: Path, base_url: str) -> Path:
        """An authorized-user JSON (YTEMPIRE_YOUTUBE_CREDENTIALS_FILE) whose refresh goes to this fake's /token."""
        info = {
            "type": "authorized_user",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "token_uri": f"{base_url}/token",
        }
        path.write_text(json.dumps(info))
        return path

    def calls(self, where: str) -> list[Recorded]:
        return [r for r in self.requests if r.where == where]

    def uploaded(self) -> bytes:
        """The bytes of the one completed upload."""
        done = [s for s in self.sessions.values() if s.video is not None]
        assert len(done) == 1, f"{len(done)} completed uploads"
        return bytes(done[0].data)

    # --- the API ------------------------------------------------------------------------------------------------
    def _fault(self, where: Where, end: int | None = None) -> Fault | None:
        """The next scripted fault for `where`; a chunk fault with `keep_until` waits for a chunk ending past it."""
        for fault in self.faults:
            if fault.where == where and (fault.keep_until is None or end is None or end > fault.keep_until):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _record(self, request: Request, body: bytes, where: str) -> None:
        self.requests.append(
            Recorded(
                request.method,
                request.url.path,
                dict(request.query_params),
                {k.lower(): v for k, v in request.headers.items()},
                len(body),
                where,
            )
        )

    def _authorized(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        return auth.startswith("Bearer ") and auth.removeprefix("Bearer ") in self.access_tokens

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/token")
        async def token(request: Request) -> Response:
            body = await request.body()
            self._record(request, body, "token")
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if fault := self._fault("token"):
                return JSONResponse(
                    {"error": fault.reason or "invalid_grant", "error_description": fault.message or "Bad Request"},
                    fault.status,
                )
            if (
                form.get("grant_type") != "refresh_token"
                or form.get("refresh_token") != self.refresh_token
                or form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret
            ):
                return JSONResponse({"error": "invalid_grant", "error_description": "Bad Request"}, 400)
            access = "ya29." + secrets.token_urlsafe(24)
            self.access_tokens.append(access)
            return JSONResponse(
                {"access_token": access, "expires_in": 3599, "scope": form.get("scope", ""), "token_type": "Bearer"}
            )

        @app.post("/upload/youtube/v3/videos")
        async def start_session(request: Request) -> Response:
            body = await request.body()
            self._record(request, body, "insert")
            if not self._authorized(request):
                return _unauthenticated()
            if fault := self._fault("insert"):
                return _error(fault, request)
            query = request.query_params
            if query.get("uploadType") != "resumable":
                return google_error(400, "badRequest", "this fake speaks only uploadType=resumable")
            if not query.get("part"):
                return google_error(400, "required", "Required parameter: part")
            try:
                metadata = json.loads(body or b"{}")
            except ValueError:
                return google_error(400, "parseError", "Parse Error")
            length = request.headers.get("x-upload-content-length")
            content_type = request.headers.get("x-upload-content-type", "")
            if length is None or not content_type.startswith("video/"):
                return google_error(400, "badContent", "X-Upload-Content-Length/-Type required for video/*")
            if not (metadata.get("snippet") or {}).get("title"):
                return google_error(400, "invalidTitle", "The request metadata specifies an invalid video title.")
            status = metadata.get("status") or {}
            if status.get("publishAt") and status.get("privacyStatus") != "private":
                return google_error(400, "invalidPublishAt", "publishAt requires privacyStatus private")
            upload_id = "ADPycd" + secrets.token_urlsafe(16)
            self.sessions[upload_id] = Session(upload_id, int(length), content_type, metadata)
            location = (
                f"{str(request.base_url).rstrip('/')}{request.url.path}?{request.url.query}&upload_id={upload_id}"
            )
            return Response(status_code=200, headers={"Location": location, "X-GUploader-UploadID": upload_id})

        @app.put("/upload/youtube/v3/videos")
        async def put_chunk(request: Request) -> Response:
            body = await request.body()
            content_range = request.headers.get("content-range", "")
            where: Where = "status" if content_range.startswith("bytes */") else "chunk"
            self._record(request, body, where)
            if not self._authorized(request):
                return _unauthenticated()
            session = self.sessions.get(request.query_params.get("upload_id", ""))
            if session is None:
                return google_error(404, "notFound", "The upload session was not found or has expired.")
            if where == "status":
                if fault := self._fault("status"):
                    return _error(fault, request)
                return _progress(session)
            first, last, total = _parse_range(content_range)
            if total != session.total or last - first + 1 != len(body) or first > len(session.data):
                return google_error(400, "badContent", f"Content-Range {content_range!r} does not fit the upload")
            if fault := self._fault("chunk", end=last + 1):
                if fault.keep_until is not None and fault.keep_until > len(session.data):
                    session.data += body[len(session.data) - first : fault.keep_until - first]
                return _error(fault, request)
            session.data += body[len(session.data) - first :]  # bytes it already holds are ignored, as Google does
            if len(session.data) < session.total:
                return _progress(session)
            session.video = _video_resource(session)
            return JSONResponse(session.video, 200)

        @app.post("/upload/youtube/v3/thumbnails/set")
        async def set_thumbnail(request: Request) -> Response:
            body = await request.body()
            self._record(request, body, "thumbnail")
            if not self._authorized(request):
                return _unauthenticated()
            if fault := self._fault("thumbnail"):
                return _error(fault, request)
            video_id = request.query_params.get("videoId", "")
            if not any(s.video and s.video["id"] == video_id for s in self.sessions.values()):
                return google_error(404, "videoNotFound", "The video that you are trying to update cannot be found.")
            if not body.startswith(b"\xff\xd8") or not request.headers.get("content-type", "").startswith("image/"):
                return google_error(400, "invalidImage", "The provided image content is invalid.")
            self.thumbnails[video_id] = body
            base = f"https://i.ytimg.com/vi/{video_id}"
            return JSONResponse(
                {
                    "kind": "youtube#thumbnailSetResponse",
                    "etag": secrets.token_hex(8),
                    "items": [
                        {
                            "default": {"url": f"{base}/default.jpg", "width": 120, "height": 90},
                            "medium": {"url": f"{base}/mqdefault.jpg", "width": 320, "height": 180},
                            "high": {"url": f"{base}/hqdefault.jpg", "width": 480, "height": 360},
                        }
                    ],
                }
            )

        return app


def _parse_range(value: str) -> tuple[int, int, int]:
    """`bytes a-b/total` → (a, b, total); anything else → (-1, -2, -1), which no upload fits."""
    try:
        unit, spec = value.split(" ", 1)
        span, total = spec.split("/")
        first, last = span.split("-")
        assert unit == "bytes"
        return int(first), int(last), int(total)
    except (ValueError, AssertionError):
        return -1, -2, -1


def _progress(session: Session) -> Response:
    if session.video is not None:
        return JSONResponse(session.video, 200)
    headers = {"Range": f"bytes=0-{len(session.data) - 1}"} if session.data else {}
    return Response(status_code=308, headers=headers)


def _video_resource(session: Session) -> dict[str, Any]:
    video_id = secrets.token_urlsafe(8)[:11]
    snippet = {**session.metadata.get("snippet", {}), "channelId": "UCfakechannel0000000000", "publishedAt": ""}
    status = {"uploadStatus": "uploaded", "privacyStatus": "private", **session.metadata.get("status", {})}
    return {"kind": "youtube#video", "etag": secrets.token_hex(8), "id": video_id, "snippet": snippet, "status": status}


def google_error(
    status: int, reason: str, message: str, domain: str = "", headers: dict[str, str] | None = None
) -> Response:
    """Google's JSON error shape, as its APIs answer (and googleapiclient's HttpError carries)."""
    domain = domain or ("youtube.quota" if reason == "quotaExceeded" else "global")
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
        }
    }
    return JSONResponse(body, status, headers=headers)


def _error(fault: Fault, request: Request) -> Response:
    """The scripted answer; "{token}" in its message echoes the request's access token (a leaky server)."""
    if fault.body is not None:
        return JSONResponse(fault.body, fault.status, headers=fault.headers)
    reasons = {401: "authError", 403: "forbidden", 429: "rateLimitExceeded", 503: "backendError"}
    reason = fault.reason or reasons.get(fault.status, "badRequest")
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    message = (fault.message or f"scripted {fault.status} {reason}").replace("{token}", token)
    return google_error(fault.status, reason, message, headers=fault.headers)


def _unauthenticated() -> Response:
    message = "Request had invalid authentication credentials. Expected OAuth 2 access token."
    return google_error(
        401, "authError", message, headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}
    )
