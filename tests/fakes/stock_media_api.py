"""A fake of Pexels (`GET /v1/search`, `GET /videos/search`) and Pixabay (`GET /api/`, `GET /api/videos/`) plus
the image and video files their results point at.

Wire protocol as the real services speak it:
- Pexels: key in the `Authorization` header (a wrong one: 401 JSON), `photos[]` with `src{original, large2x, ...}`
  whose resized URLs carry imgix parameters (`w`, `h`, `dpr`, `fit=crop`) that the image route honours,
  `X-Ratelimit-*` headers on every answer.
- Pixabay: key in the query string (a wrong one: HTTP 400 "[ERROR 400] Invalid or missing API key", text),
  `hits[]` with `largeImageURL` (fits 1280 px) whose token changes with `url_epoch`, like the real temporary URLs,
  `X-RateLimit-*` headers (Reset in seconds).
- Pexels videos: `videos[]` with `user{name, url}`, `duration` and `video_files[]` (`quality` uhd/hd/sd,
  `file_type` video/mp4, `width`, `height`, `fps`, `link`), plus an HLS entry without a size, as the real answers
  carry; Pixabay videos: `hits[].videos.{large,medium,small,tiny}.{url,width,height,size,thumbnail}`, a size it
  does not have as an empty URL with zero width and height, `duration`, `user`, `user_id`.
- Images are real JPEGs drawn with Pillow at the sizes the URLs promise. A photo's `kind` scripts a bad download:
  "html" (text/html), "oversize" (Content-Length over the limit), "oversize_stream" (chunked, no length),
  "truncated", "corrupt", "small", "dark", "missing" (404); `same_as` serves another photo's bytes (one image
  under two ids).
- Video files are real MP4s made by ffmpeg at request time (lavfi `testsrc`, hue-shifted per video, or a solid
  `colour`), at the size the file entry promises. A video's `kind` scripts a bad one: "html", "oversize",
  "truncated" (cut short: the header still reads), "corrupt", "black" (opens on black), "small" (listed large,
  served at 320 px), "short" (0.3 s), "missing" (404).

State a test controls: `photos`, `videos`, `results` / `video_results` (query -> ids; default: every photo or
video of the requested orientation), `faults` (scripted answers returned next, per route), and `requests`
(everything received).

    api = StockMediaApi([FakePhoto(101, 1280, 2000), ...], videos=[FakeVideo(501, 1080, 1920), ...])
    with serve(api.app) as base_url: ...
"""

from __future__ import annotations

import asyncio
import colorsys
import io
import json
import re
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from PIL import Image, ImageDraw

Route = Literal["pexels", "pixabay", "download", "pexels_videos", "pixabay_videos", "video_download"]
PhotoKind = Literal[
    "ok", "png", "html", "oversize", "oversize_stream", "truncated", "corrupt", "small", "dark", "missing"
]
VideoKind = Literal["ok", "html", "oversize", "truncated", "corrupt", "black", "small", "short", "missing"]

PEXELS_KEY = "pexels-test-key-0123456789"
PIXABAY_KEY = "12345678-pixabaytestkey0123456789"
OVERSIZE_BYTES = 3_000_000


@dataclass
class FakePhoto:
    id: int
    width: int
    height: int
    kind: PhotoKind = "ok"
    same_as: int | None = None
    photographer: str = ""

    def __post_init__(self) -> None:
        self.photographer = self.photographer or f"Photographer {self.id}"


@dataclass
class FakeVideo:
    id: int
    width: int  # the original's size; smaller files are listed beside it
    height: int
    duration: float = 2.0
    kind: VideoKind = "ok"
    colour: str | None = None  # a solid colour (lavfi `color`) instead of the test pattern
    videographer: str = ""
    declared_size: int | None = None  # Pixabay's `size` of every file (default: a plausible small number)

    def __post_init__(self) -> None:
        self.videographer = self.videographer or f"Videographer {self.id}"


@dataclass
class Fault:
    route: Route
    status: int
    body: str | dict[str, Any] = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a timeout when longer than the client's)


@dataclass(frozen=True)
class Received:
    route: Route
    path: str
    query: dict[str, str]
    headers: dict[str, str]


def _orientation_matches(photo: FakePhoto, orientation: str | None) -> bool:
    if orientation in ("landscape", "horizontal"):
        return photo.width > photo.height
    if orientation in ("portrait", "vertical"):
        return photo.height > photo.width
    if orientation == "square":
        return photo.width == photo.height
    return True


def _fit(width: int, height: int, box_w: float, box_h: float) -> tuple[int, int]:
    scale = min(box_w / width, box_h / height, 1.0)
    return max(round(width * scale), 1), max(round(height * scale), 1)


@lru_cache(maxsize=256)
def render_jpeg(seed: int, width: int, height: int, dark: bool = False, fmt: str = "JPEG") -> bytes:
    """A photo-like picture: a two-colour gradient with a few shapes, distinct per seed."""
    hue = (seed * 0.137) % 1.0
    value = 0.04 if dark else 0.85

    def rgb(h: float, s: float) -> tuple[int, int, int]:
        r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, value)
        return round(r * 255), round(g * 255), round(b * 255)

    small = Image.linear_gradient("L").resize((64, 64))
    img = Image.merge("RGB", [small, small.transpose(Image.Transpose.ROTATE_90), small]).resize((width, height))
    img = Image.blend(Image.new("RGB", (width, height), rgb(hue, 0.7)), img, 0.0 if dark else 0.35)
    draw = ImageDraw.Draw(img)
    for i in range(4):
        x, y = (seed * 37 + i * 211) % width, (seed * 53 + i * 97) % height
        r = max(width, height) // (6 + i)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=rgb(hue + 0.25 * (i + 1), 0.6))
    out = io.BytesIO()
    img.save(out, format=fmt, quality=85)
    return out.getvalue()


@lru_cache(maxsize=128)
def render_mp4(seed: int, width: int, height: int, seconds: float, colour: str | None = None) -> bytes:
    """An H.264 MP4 made by ffmpeg: the test pattern hue-shifted by `seed`, or a solid `colour`; distinct bytes per
    seed either way (the title tag), so content dedupe sees one file per video."""
    source = f"color=c={colour}" if colour else "testsrc"
    lavfi = f"{source}:size={width}x{height}:rate=15:duration={seconds}".replace("testsrc:", "testsrc=")
    hue = [] if colour else ["-vf", f"hue=h={seed * 47 % 360}"]
    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/clip.mp4"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", lavfi, *hue, "-c:v", "libx264", "-preset",
             "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-metadata", f"title=fake-{seed}", out],
            check=True,
        )  # fmt: skip
        with open(out, "rb") as f:
            return f.read()


def video_sizes(video: FakeVideo) -> list[tuple[int, int]]:
    """The original and its renditions down to 640 px on the long side, as Pexels lists them (even sizes)."""
    sizes = [(video.width, video.height)]
    for long_side in (2560, 1920, 1280, 960, 640):
        if long_side < max(video.width, video.height):
            w, h = _fit(video.width, video.height, long_side, long_side)
            sizes.append((w // 2 * 2, h // 2 * 2))
    return list(dict.fromkeys(sizes))


class StockMediaApi:
    def __init__(self, photos: list[FakePhoto] | None = None, videos: list[FakeVideo] | None = None) -> None:
        self.pexels_key = PEXELS_KEY
        self.pixabay_key = PIXABAY_KEY
        self.photos: dict[int, FakePhoto] = {p.id: p for p in photos or []}
        self.videos: dict[int, FakeVideo] = {v.id: v for v in videos or []}
        self.results: dict[str, list[int]] = {}
        self.video_results: dict[str, list[int]] = {}
        self.faults: list[Fault] = []
        self.requests: list[Received] = []
        self.url_epoch = 1  # Pixabay's image URLs change with it
        self.app = self._build()

    # -- what tests use -------------------------------------------------------------------------------------
    def fail_next(self, route: Route, status: int, body: str | dict[str, Any] = "", **headers: str) -> None:
        self.faults.append(Fault(route, status, body, {k.replace("_", "-"): v for k, v in headers.items()}))

    def received(self, route: Route) -> list[Received]:
        return [r for r in self.requests if r.route == route]

    def downloaded_ids(self) -> list[int]:
        ids = []
        for r in self.received("download"):
            if m := re.search(r"/photos/(\d+)/|x(\d+)_\d+\.jpg$", r.path):
                ids.append(int(m.group(1) or m.group(2)))
        return ids

    def downloaded_video_ids(self) -> list[int]:
        pattern = r"/video-files/(\d+)/|/video/\d+/(\d+)_"
        return [
            int(m.group(1) or m.group(2)) for r in self.received("video_download") if (m := re.search(pattern, r.path))
        ]

    # -- plumbing -------------------------------------------------------------------------------------------
    def _record(self, route: Route, request: Request) -> None:
        self.requests.append(Received(route, request.url.path, dict(request.query_params), dict(request.headers)))

    async def _fault(self, route: Route) -> Response | None:
        fault = next((f for f in self.faults if f.route == route), None)
        if fault is None:
            return None
        self.faults.remove(fault)
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if isinstance(fault.body, dict):
            return JSONResponse(fault.body, status_code=fault.status, headers=fault.headers)
        return PlainTextResponse(fault.body, status_code=fault.status, headers=fault.headers)

    def _matching(self, query: str, orientation: str | None) -> list[FakePhoto]:
        ids = self.results.get(query, list(self.photos))
        return [self.photos[i] for i in ids if i in self.photos and _orientation_matches(self.photos[i], orientation)]

    def _matching_videos(self, query: str, orientation: str | None) -> list[FakeVideo]:
        ids = self.video_results.get(query, list(self.videos))
        found = [self.videos[i] for i in ids if i in self.videos]
        return [v for v in found if _orientation_matches(FakePhoto(v.id, v.width, v.height), orientation)]

    async def _video(self, video: FakeVideo, width: int, height: int) -> Response:
        if video.kind == "missing":
            return JSONResponse({"error": "Not found"}, status_code=404)
        if video.kind == "html":
            return Response("<html><body>Please verify you are human</body></html>", media_type="text/html")
        if video.kind == "corrupt":
            return Response(bytes((i * 7919) % 251 for i in range(40_000)), media_type="video/mp4")
        if video.kind == "small":
            width, height = (w // 2 * 2 for w in _fit(width, height, 320, 320))
        seconds = 0.3 if video.kind == "short" else video.duration
        colour = "black" if video.kind == "black" else video.colour
        data = await asyncio.to_thread(render_mp4, video.id, width, height, seconds, colour)
        if video.kind == "truncated":
            data = data[: len(data) * 6 // 10]
        elif video.kind == "oversize":
            data = data + b"\0" * OVERSIZE_BYTES
        return Response(data, media_type="video/mp4")

    def _image(self, photo: FakePhoto, width: int, height: int) -> Response:
        if photo.kind == "missing":
            return JSONResponse({"error": "Not found"}, status_code=404)
        if photo.kind == "html":
            return Response("<html><body>Please verify you are human</body></html>", media_type="text/html")
        seed = photo.same_as if photo.same_as is not None else photo.id
        if photo.kind == "small":
            width, height = _fit(width, height, 320, 320)
        fmt = "PNG" if photo.kind == "png" else "JPEG"
        data = render_jpeg(seed, width, height, dark=photo.kind == "dark", fmt=fmt)
        media_type = "image/png" if fmt == "PNG" else "image/jpeg"
        if photo.kind == "truncated":
            data = data[: len(data) // 2]
        elif photo.kind == "corrupt":
            data = b"\xff\xd8\xff\xe0" + bytes((i * 7919) % 251 for i in range(20_000))
        elif photo.kind == "oversize":
            data = data + b"\0" * OVERSIZE_BYTES
        elif photo.kind == "oversize_stream":

            async def chunks() -> AsyncIterator[bytes]:
                for _ in range(OVERSIZE_BYTES // 65536 + 1):
                    yield b"\0" * 65536

            return StreamingResponse(chunks(), media_type=media_type)
        return Response(data, media_type=media_type)

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.get("/v1/search")
        async def pexels_search(request: Request) -> Response:
            self._record("pexels", request)
            limits = {
                "X-Ratelimit-Limit": "20000",
                "X-Ratelimit-Remaining": "19999",
                "X-Ratelimit-Reset": str(int(time.time()) + 3600),
            }
            if request.headers.get("authorization") != self.pexels_key:
                return JSONResponse({"error": "Authorization field missing or invalid"}, status_code=401)
            if (fault := await self._fault("pexels")) is not None:
                return fault
            q = request.query_params
            query = q.get("query")
            per_page = int(q.get("per_page", "15"))
            page = int(q.get("page", "1"))
            if not query or not 1 <= per_page <= 80:
                return JSONResponse({"error": "invalid query or per_page"}, status_code=400)
            found = self._matching(query, q.get("orientation"))
            chunk = found[(page - 1) * per_page : page * per_page]
            base = str(request.base_url).rstrip("/")
            body: dict[str, Any] = {
                "page": page,
                "per_page": per_page,
                "photos": [_pexels_photo(p, base) for p in chunk],
                "total_results": len(found),
            }
            if page * per_page < len(found):
                body["next_page"] = f"https://api.pexels.com/v1/search/?page={page + 1}&per_page={per_page}"
            return JSONResponse(body, headers=limits)

        @app.get("/photos/{photo_id}/{filename}")
        async def pexels_image(photo_id: int, filename: str, request: Request) -> Response:
            self._record("download", request)
            if (fault := await self._fault("download")) is not None:
                return fault
            photo = self.photos.get(photo_id)
            if photo is None:
                return JSONResponse({"error": "Not found"}, status_code=404)
            return self._image(photo, *_imgix_size(photo, dict(request.query_params)))

        @app.get("/api/")
        async def pixabay_search(request: Request) -> Response:
            self._record("pixabay", request)
            q = request.query_params
            if q.get("key") != self.pixabay_key:
                return PlainTextResponse("[ERROR 400] Invalid or missing API key", status_code=400)
            if (fault := await self._fault("pixabay")) is not None:
                return fault
            per_page = int(q.get("per_page", "20"))
            if not 3 <= per_page <= 200:
                return PlainTextResponse('[ERROR 400] "per_page" is out of valid range.', status_code=400)
            min_w, min_h = int(q.get("min_width", "0")), int(q.get("min_height", "0"))
            found = [
                p
                for p in self._matching(q.get("q", ""), q.get("orientation"))
                if p.width >= min_w and p.height >= min_h
            ]
            base = str(request.base_url).rstrip("/")
            body = {
                "total": len(found),
                "totalHits": len(found),
                "hits": [_pixabay_hit(p, base, self.url_epoch) for p in found[:per_page]],
            }
            headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "99", "X-RateLimit-Reset": "60"}
            return Response(json.dumps(body), media_type="application/json", headers=headers)

        @app.get("/get/{name}")
        async def pixabay_image(name: str, request: Request) -> Response:
            self._record("download", request)
            if (fault := await self._fault("download")) is not None:
                return fault
            m = re.fullmatch(r"e(\d+)x(\d+)_(\d+)\.jpg", name)
            photo = self.photos.get(int(m.group(2))) if m else None
            if m is None or photo is None:
                return JSONResponse({"error": "Not found"}, status_code=404)
            return self._image(photo, *_fit(photo.width, photo.height, int(m.group(3)), int(m.group(3))))

        @app.get("/videos/search")
        async def pexels_video_search(request: Request) -> Response:
            self._record("pexels_videos", request)
            if request.headers.get("authorization") != self.pexels_key:
                return JSONResponse({"error": "Authorization field missing or invalid"}, status_code=401)
            if (fault := await self._fault("pexels_videos")) is not None:
                return fault
            q = request.query_params
            query = q.get("query")
            per_page = int(q.get("per_page", "15"))
            if not query or not 1 <= per_page <= 80:
                return JSONResponse({"error": "invalid query or per_page"}, status_code=400)
            found = self._matching_videos(query, q.get("orientation"))
            base = str(request.base_url).rstrip("/")
            body = {
                "page": 1,
                "per_page": per_page,
                "videos": [_pexels_video(v, base) for v in found[:per_page]],
                "total_results": len(found),
                "url": f"https://api-server.pexels.com/search/videos/{query}/",
            }
            limits = {"X-Ratelimit-Limit": "20000", "X-Ratelimit-Remaining": "19998"}
            return JSONResponse(body, headers={**limits, "X-Ratelimit-Reset": str(int(time.time()) + 3600)})

        @app.get("/video-files/{video_id}/{name}")
        async def pexels_video_file(video_id: int, name: str, request: Request) -> Response:
            self._record("video_download", request)
            if (fault := await self._fault("video_download")) is not None:
                return fault
            video = self.videos.get(video_id)
            m = re.fullmatch(r"(\d+)x(\d+)\.mp4", name)
            if video is None or m is None:
                return JSONResponse({"error": "Not found"}, status_code=404)
            return await self._video(video, int(m.group(1)), int(m.group(2)))

        @app.get("/api/videos/")
        async def pixabay_video_search(request: Request) -> Response:
            self._record("pixabay_videos", request)
            q = request.query_params
            if q.get("key") != self.pixabay_key:
                return PlainTextResponse("[ERROR 400] Invalid or missing API key", status_code=400)
            if (fault := await self._fault("pixabay_videos")) is not None:
                return fault
            per_page = int(q.get("per_page", "20"))
            if not 3 <= per_page <= 200:
                return PlainTextResponse('[ERROR 400] "per_page" is out of valid range.', status_code=400)
            min_w, min_h = int(q.get("min_width", "0")), int(q.get("min_height", "0"))
            found = [v for v in self._matching_videos(q.get("q", ""), None) if v.width >= min_w and v.height >= min_h]
            base = str(request.base_url).rstrip("/")
            body = {
                "total": len(found),
                "totalHits": len(found),
                "hits": [_pixabay_video(v, base, self.url_epoch) for v in found[:per_page]],
            }
            headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "99", "X-RateLimit-Reset": "60"}
            return Response(json.dumps(body), media_type="application/json", headers=headers)

        @app.get("/video/{epoch}/{name}")
        async def pixabay_video_file(epoch: int, name: str, request: Request) -> Response:
            self._record("video_download", request)
            if (fault := await self._fault("video_download")) is not None:
                return fault
            m = re.fullmatch(r"(\d+)_(\d+)x(\d+)\.mp4", name)
            video = self.videos.get(int(m.group(1))) if m else None
            if m is None or video is None or epoch != self.url_epoch:
                return JSONResponse({"error": "Not found"}, status_code=404)
            return await self._video(video, int(m.group(2)), int(m.group(3)))

        return app


def _quality(width: int, height: int) -> str:
    long_side = max(width, height)
    return "uhd" if long_side >= 2560 else "hd" if long_side >= 1280 else "sd"


def _pexels_video(video: FakeVideo, base: str) -> dict[str, Any]:
    files: list[dict[str, Any]] = [
        {
            "id": video.id * 100 + i,
            "quality": _quality(w, h),
            "file_type": "video/mp4",
            "width": w,
            "height": h,
            "fps": 25.0,
            "link": f"{base}/video-files/{video.id}/{w}x{h}.mp4",
        }
        for i, (w, h) in enumerate(video_sizes(video))
    ]
    files.append(
        {
            "id": video.id * 100 + 99,
            "quality": "hls",
            "file_type": "application/x-mpegURL",
            "width": None,
            "height": None,
            "fps": None,
            "link": f"https://player.vimeo.com/external/{video.id}.m3u8",
        }
    )
    return {
        "id": video.id,
        "width": video.width,
        "height": video.height,
        "duration": round(video.duration),
        "full_res": None,
        "tags": [],
        "url": f"https://www.pexels.com/video/fake-video-{video.id}/",
        "image": f"https://images.pexels.com/videos/{video.id}/preview.jpeg",
        "avg_color": None,
        "user": {
            "id": 3000 + video.id,
            "name": video.videographer,
            "url": f"https://www.pexels.com/@videographer-{video.id}",
        },
        "video_files": files,
        "video_pictures": [{"id": video.id, "nr": 0, "picture": f"https://images.pexels.com/videos/{video.id}/0.jpg"}],
    }


def _pixabay_video(video: FakeVideo, base: str, epoch: int) -> dict[str, Any]:
    def rendition(box: int) -> dict[str, Any]:
        w, h = (x // 2 * 2 for x in _fit(video.width, video.height, box, box))
        size = video.declared_size if video.declared_size is not None else w * h // 20
        url = f"{base}/video/{epoch}/{video.id}_{w}x{h}.mp4"
        return {"url": url, "width": w, "height": h, "size": size, "thumbnail": f"{base}/thumb/{video.id}.jpg"}

    # `large` is there only when the original is bigger than Full HD (mostly 4K), as on Pixabay.
    missing = {"url": "", "width": 0, "height": 0, "size": 0, "thumbnail": ""}
    large = rendition(max(video.width, video.height)) if max(video.width, video.height) > 1920 else missing
    return {
        "id": video.id,
        "pageURL": f"https://pixabay.com/videos/fake-video-{video.id}/",
        "type": "film",
        "tags": "nature, fake, test",
        "duration": round(video.duration),
        "videos": {"large": large, "medium": rendition(1920), "small": rendition(1280), "tiny": rendition(960)},
        "views": 1000,
        "downloads": 500,
        "likes": 50,
        "comments": 5,
        "user_id": 4000 + video.id,
        "user": video.videographer.replace(" ", ""),
        "userImageURL": "",
    }


def _pexels_photo(photo: FakePhoto, base: str) -> dict[str, Any]:
    original = f"{base}/photos/{photo.id}/pexels-photo-{photo.id}.jpeg"
    compress = f"{original}?auto=compress&cs=tinysrgb"
    return {
        "id": photo.id,
        "width": photo.width,
        "height": photo.height,
        "url": f"https://www.pexels.com/photo/fake-photo-{photo.id}/",
        "photographer": photo.photographer,
        "photographer_url": f"https://www.pexels.com/@photographer-{photo.id}",
        "photographer_id": 1000 + photo.id,
        "avg_color": "#7A8B9C",
        "src": {
            "original": original,
            "large2x": f"{compress}&dpr=2&h=650&w=940",
            "large": f"{compress}&h=650&w=940",
            "medium": f"{compress}&h=350",
            "small": f"{compress}&h=130",
            "portrait": f"{compress}&fit=crop&h=1200&w=800",
            "landscape": f"{compress}&fit=crop&h=627&w=1200",
            "tiny": f"{compress}&dpr=1&fit=crop&h=200&w=280",
        },
        "liked": False,
        "alt": f"Fake photo {photo.id}",
    }


def _imgix_size(photo: FakePhoto, params: dict[str, str]) -> tuple[int, int]:
    """The size Pexels' image CDN gives for w/h/dpr/fit parameters: crop to exactly w x h, else fit within."""
    dpr = float(params.get("dpr", "1"))
    w = float(params["w"]) * dpr if "w" in params else float("inf")
    h = float(params["h"]) * dpr if "h" in params else float("inf")
    if params.get("fit") == "crop" and "w" in params and "h" in params:
        return round(w), round(h)
    if "w" not in params and "h" not in params:
        return photo.width, photo.height
    return _fit(photo.width, photo.height, w, h)


def _pixabay_hit(photo: FakePhoto, base: str, epoch: int) -> dict[str, Any]:
    token = f"e{epoch}x{photo.id}"
    preview_w, preview_h = _fit(photo.width, photo.height, 150, 150)
    web_w, web_h = _fit(photo.width, photo.height, 640, 640)
    return {
        "id": photo.id,
        "pageURL": f"https://pixabay.com/photos/fake-photo-{photo.id}/",
        "type": "photo",
        "tags": "nature, fake, test",
        "previewURL": f"{base}/get/{token}_150.jpg",
        "previewWidth": preview_w,
        "previewHeight": preview_h,
        "webformatURL": f"{base}/get/{token}_640.jpg",
        "webformatWidth": web_w,
        "webformatHeight": web_h,
        "largeImageURL": f"{base}/get/{token}_1280.jpg",
        "imageWidth": photo.width,
        "imageHeight": photo.height,
        "imageSize": photo.width * photo.height // 4,
        "views": 1000,
        "downloads": 500,
        "collections": 10,
        "likes": 50,
        "comments": 5,
        "user_id": 2000 + photo.id,
        "user": photo.photographer.replace(" ", ""),
        "userImageURL": "",
    }
