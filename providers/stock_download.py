"""Download one stock image or clip and prove it usable: HTTP 200, an image (video) content type, within the size
limit, decodable (a clip: ffprobe, then frames decoded by ffmpeg), large enough for the render and not (nearly)
black (a clip: not opening on a second of black).

A file that fails any of these is `DownloadRejected`: the caller skips it and tries the next candidate. What
says nothing about the file (429, 5xx, timeouts, dropped connections) raises the uniform retryable
ApplicationError instead, so Temporal retries the stage; files already downloaded are in the cache by then.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from PIL import Image, UnidentifiedImageError
from pydantic import SecretStr

from engines.media.clip_check import ClipFacts, ClipOpensBlack, ClipUnusable, check_clip
from providers.errors import http_error, unavailable
from providers.redaction import redact
from providers.stock_photo import MAX_UPSCALE, upscale_needed

CONTENT_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
CLIP_CONTENT_TYPES = {"video/mp4": ".mp4", "video/quicktime": ".mov", "video/webm": ".webm"}
PIL_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
MAX_PIXELS = 100_000_000  # anything larger is a decompression bomb, not a stock photo
# The QA stage fails a video on > 1 s of black (ffmpeg blackdetect, pixels under 10 % luma): reject photos that
# are almost entirely that dark before they reach the render.
DARK_LUMA = 26
MAX_DARK_SHARE = 0.9
_RETRYABLE = frozenset({408, 409, 425, 429})


class DownloadRejected(Exception):
    """This image cannot be used; the message says why (no URL in it: Pixabay's carry tokens)."""


@dataclass(frozen=True)
class Download:
    path: Path
    size_bytes: int
    sha256: str
    content_type: str


@dataclass(frozen=True)
class ImageFacts:
    format: str
    width: int
    height: int


async def fetch_image(
    client: httpx.AsyncClient,
    url: str,
    dest: Path,
    *,
    max_bytes: int,
    service: str,
    setting: str,
    secrets: Iterable[SecretStr | str | None] = (),
) -> Download:
    """Stream `url` into `dest` (suffix from the content type), aborting past `max_bytes`."""
    return await _fetch(client, url, dest, CONTENT_TYPES, "an image", max_bytes, service, setting, secrets)


async def fetch_clip(
    client: httpx.AsyncClient,
    url: str,
    dest: Path,
    *,
    max_bytes: int,
    service: str,
    setting: str,
    secrets: Iterable[SecretStr | str | None] = (),
) -> Download:
    """Stream the video at `url` into `dest` (suffix from the content type), aborting past `max_bytes`."""
    return await _fetch(client, url, dest, CLIP_CONTENT_TYPES, "a video", max_bytes, service, setting, secrets)


async def _fetch(
    client: httpx.AsyncClient,
    url: str,
    dest: Path,
    content_types: dict[str, str],
    what: str,
    max_bytes: int,
    service: str,
    setting: str,
    secrets: Iterable[SecretStr | str | None],
) -> Download:
    if urlsplit(url).scheme not in ("http", "https"):
        raise DownloadRejected("not an http(s) URL")
    secrets = list(secrets)
    try:
        async with client.stream("GET", url) as resp:
            status = resp.status_code
            if status in _RETRYABLE or status >= 500:
                body = (await resp.aread())[:2000].decode("utf-8", "replace")
                raise http_error(
                    service, status, setting=setting, headers=dict(resp.headers), body=body, secrets=secrets
                )
            if status != 200:
                raise DownloadRejected(f"HTTP {status}")
            content_type = resp.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type not in content_types:
                raise DownloadRejected(f"content type {redact(content_type, secrets)[:60] or 'missing'} is not {what}")
            declared = resp.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise DownloadRejected(f"Content-Length {int(declared)} exceeds the limit of {max_bytes} bytes")
            target = dest.with_suffix(content_types[content_type])
            return await _stream_to(resp, target, max_bytes, content_type)
    except httpx.DecodingError:
        raise DownloadRejected("the body could not be decoded (Content-Encoding)") from None
    except httpx.HTTPError as err:
        raise unavailable(service, err, secrets) from None


async def _stream_to(resp: httpx.Response, target: Path, max_bytes: int, content_type: str) -> Download:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    digest = hashlib.sha256()
    size = 0
    try:
        with tmp.open("wb") as out:
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise DownloadRejected(f"body exceeds the limit of {max_bytes} bytes")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise DownloadRejected("empty body")
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return Download(target, size, digest.hexdigest(), content_type)


def inspect_image(path: Path, *, width: int, height: int) -> ImageFacts:
    """Decode `path` fully and check it can cover a `width` x `height` render (blocking: run in a thread)."""
    try:
        with Image.open(path) as img:
            if img.format not in PIL_FORMATS:
                raise DownloadRejected(f"decodes as {img.format}, not JPEG/PNG/WebP")
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise DownloadRejected(f"{w}x{h} is too many pixels")
            if upscale_needed(w, h, width, height) > MAX_UPSCALE:
                raise DownloadRejected(f"{w}x{h} is too small for a {width}x{height} render")
            facts = ImageFacts(img.format, w, h)
            # draft() lets JPEG decode at a reduced scale, but the whole stream is still read: truncation shows.
            img.draft("RGB", (max(w // 8, 64), max(h // 8, 64)))
            img.load()
            histogram = img.convert("L").resize((64, 64)).histogram()
    except DownloadRejected:
        raise
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as err:
        raise DownloadRejected(f"not a readable image ({type(err).__name__})") from None
    if sum(histogram[:DARK_LUMA]) / sum(histogram) >= MAX_DARK_SHARE:
        raise DownloadRejected("almost entirely black (would fail the black-frame check)")
    return facts


def inspect_clip(path: Path, *, width: int, height: int) -> ClipFacts:
    """Probe `path` and decode frames of it, and check it can cover a `width` x `height` render without opening on
    black (blocking: run in a thread)."""
    try:
        facts = check_clip(path, reject_black_start=True)
    except ClipOpensBlack as why:
        raise DownloadRejected(str(why)) from None
    except ClipUnusable as why:
        raise DownloadRejected(f"not a playable clip ({why})") from None
    w, h = facts.width, facts.height
    if upscale_needed(w, h, width, height) > MAX_UPSCALE:
        raise DownloadRejected(f"{w}x{h} is too small for a {width}x{height} render")
    return facts
