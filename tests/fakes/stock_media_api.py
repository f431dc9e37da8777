"""A fake of Pexels (`GET /v1/search`) and Pixabay (`GET /api/`) plus the image files their results point at.

Wire protocol as the real services speak it:
- Pexels: key in the `Authorization` header (a wrong one: 401 JSON), `photos[]` with `src{original, large2x, ...}`
  whose resized URLs carry imgix parameters (`w`, `h`, `dpr`, `fit=crop`) that the image route honours,
  `X-Ratelimit-*` headers on every answer.
- Pixabay: key in the query string (a wrong one: HTTP 400 "[ERROR 400] Invalid or missing API key", text),
  `hits[]` with `largeImageURL` (fits 1280 px) whose token changes with `url_epoch`, like the real temporary URLs,
  `X-RateLimit-*` headers (Reset in seconds).
- Images are real JPEGs drawn with Pillow at the sizes the URLs promise. A photo's `kind` scripts a bad download:
  "html" (text/html), "oversize" (Content-Length over the limit), "oversize_stream" (chunked, no length),
  "truncated", "corrupt", "small", "dark", "missing" (404); `same_as` serves another photo's bytes (one image
  under two ids).

State a test controls: `photos`, `results` (query -> ids; default: every photo of the requested orientation),
`faults` (scripted answers returned next, per route), and `requests` (everything received).

    api = StockMediaApi([FakePhoto(101, 1280, 2000), ...])
    with serve(api.app) as base_url: ...
"""

from __future__ import annotations

import asyncio
import colorsys
import io
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from PIL import Image, ImageDraw

Route = Literal["pexels", "pixabay", "download"]
PhotoKind = Literal[
    "ok", "png", "html", "oversize", "oversize_stream", "truncated", "corrupt", "small", "dark", "missing"
]

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


class StockMediaApi:
    def __init__(self, photos: list[FakePhoto] | None = None) -> None:
        self.pexels_key = PEXELS_KEY
        self.pixabay_key = PIXABAY_KEY
        self.photos: dict[int, FakePhoto] = {p.id: p for p in photos or []}
        self.results: dict[str, list[int]] = {}
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

        return app


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
