"""Pexels photo search (`GET /v1/search`) and video search (`GET /videos/search`), key in the `Authorization`
header, parsed into stock candidates."""

from __future__ import annotations

import time

import httpx
from pydantic import BaseModel, SecretStr, ValidationError
from temporalio.exceptions import ApplicationError

from core import languages, writing_systems
from engines.media.library import Attribution
from providers.errors import http_error, invalid_response, unavailable
from providers.stock_photo import SearchQuery, SizeVariant, StockCandidate, fit_within

SERVICE = "Pexels"
SETTING = "PEXELS_API_KEY (or YTEMPIRE_PEXELS_API_KEY)"
LICENCE = "Pexels License"
LICENCE_URL = "https://www.pexels.com/license/"
MAX_PER_PAGE = 80
# The search locales Pexels documents; a language without one is searched in its default (en-US).
LOCALES = frozenset({
    "en-US", "pt-BR", "es-ES", "ca-ES", "de-DE", "it-IT", "fr-FR", "sv-SE", "id-ID", "pl-PL", "ja-JP", "zh-TW",
    "zh-CN", "ko-KR", "th-TH", "nl-NL", "hu-HU", "vi-VN", "cs-CZ", "da-DK", "fi-FI", "uk-UA", "el-GR", "ro-RO",
    "nb-NO", "sk-SK", "tr-TR", "ru-RU",
})  # fmt: skip
_LOCALE_OF = {locale.partition("-")[0]: locale for locale in LOCALES if locale != "zh-TW"}
_LOCALE_OF |= {"no": "nb-NO", "nn": "nb-NO"}  # Norwegian: Pexels has Bokmål's


class _Src(BaseModel):
    original: str
    large2x: str | None = None
    large: str | None = None
    portrait: str | None = None
    landscape: str | None = None


class _Photo(BaseModel):
    id: int
    width: int
    height: int
    url: str
    photographer: str
    photographer_url: str | None = None
    src: _Src


class _SearchPage(BaseModel):
    photos: list[_Photo]


class _VideoFile(BaseModel):
    link: str
    quality: str | None = None  # "uhd" | "hd" | "sd", or null
    file_type: str | None = None  # "video/mp4"; HLS playlists ("application/x-mpegURL") have no size
    width: int | None = None
    height: int | None = None
    size: int | None = None


class _VideoUser(BaseModel):
    name: str
    url: str | None = None


class _Video(BaseModel):
    id: int
    width: int
    height: int
    url: str
    duration: float
    user: _VideoUser
    video_files: list[_VideoFile]


class _VideoPage(BaseModel):
    videos: list[_Video]


def _variants(photo: _Photo) -> list[SizeVariant]:
    """The sizes Pexels documents: original as is; large/large2x fit 940x650 (x2); portrait/landscape crops."""
    w, h, src = photo.width, photo.height, photo.src
    sizes: list[tuple[str, str | None, tuple[int, int]]] = [
        ("original", src.original, (w, h)),
        ("large2x", src.large2x, fit_within(w, h, 1880, 1300)),
        ("large", src.large, fit_within(w, h, 940, 650)),
        ("portrait", src.portrait, (800, 1200)),
        ("landscape", src.landscape, (1200, 627)),
    ]
    return [SizeVariant(name, url, *size) for name, url, size in sizes if url]


def _candidate(photo: _Photo, query: str) -> StockCandidate:
    attribution = Attribution(
        provider="pexels",
        provider_id=str(photo.id),
        page_url=photo.url,
        author=photo.photographer,
        author_url=photo.photographer_url,
        licence=LICENCE,
        licence_url=LICENCE_URL,
    )
    return StockCandidate("pexels", str(photo.id), photo.width, photo.height, _variants(photo), attribution, query)


def _clip(video: _Video, query: str) -> StockCandidate:
    files = [
        SizeVariant(f"{f.quality or 'file'}-{f.width}x{f.height}", f.link, f.width, f.height, f.size)
        for f in video.video_files
        if f.file_type == "video/mp4" and f.width and f.height
    ]
    attribution = Attribution(
        provider="pexels",
        provider_id=str(video.id),
        page_url=video.url,
        author=video.user.name,
        author_url=video.user.url,
        licence=LICENCE,
        licence_url=LICENCE_URL,
        media="video",
    )
    size = (video.width, video.height)
    return StockCandidate(
        "pexels", str(video.id), *size, files, attribution, query, kind="clip", duration=video.duration
    )


def _retry_headers(headers: httpx.Headers) -> dict[str, str]:
    """Pexels sends X-Ratelimit-Reset (a UNIX time) and may omit Retry-After: derive one from the reset."""
    out = dict(headers)
    reset = headers.get("x-ratelimit-reset")
    if "retry-after" not in headers and reset and reset.isdigit():
        out["Retry-After"] = str(max(int(reset) - int(time.time()), 0))
    return out


def locale_for(language: str) -> str | None:
    """Pexels' search locale for a video's language (`es` -> `es-ES`, `zh-HK` -> `zh-TW`), None where it has none."""
    if language in LOCALES:
        return language
    if writing_systems.script_of(language) == "Hant":
        return "zh-TW"
    return _LOCALE_OF.get(languages.primary(language))


def _params(query: SearchQuery, *, video: bool) -> dict[str, str | int]:
    if video:  # Pexels' minimum video sizes: medium Full HD, large 4K
        size = "large" if max(query.width, query.height) > 1920 else "medium"
    else:  # and photo sizes: medium 12 MP, large 24 MP; 12 MP covers anything up to 4K
        size = "large" if max(query.width, query.height) > 4000 else "medium"
    params: dict[str, str | int] = {
        "query": query.text,
        "orientation": query.orientation,
        "size": size,
        "per_page": min(query.per_page, MAX_PER_PAGE),
        "page": 1,
    }
    if (locale := locale_for(query.language)) is not None:
        params["locale"] = locale
    return params


async def _get(client: httpx.AsyncClient, url: str, params: dict[str, str | int], api_key: SecretStr) -> bytes:
    try:
        resp = await client.get(url, params=params, headers={"Authorization": api_key.get_secret_value()})
    except httpx.HTTPError as err:
        raise unavailable(SERVICE, err, [api_key]) from None
    if resp.status_code != 200:
        raise http_error(
            SERVICE,
            resp.status_code,
            setting=SETTING,
            headers=_retry_headers(resp.headers),
            body=resp.text,
            secrets=[api_key],
        )
    return resp.content


async def search(
    client: httpx.AsyncClient, base_url: str, api_key: SecretStr, query: SearchQuery
) -> list[StockCandidate]:
    """One page of photos for `query`; raises the uniform ApplicationError for any failure."""
    body = await _get(client, f"{base_url.rstrip('/')}/v1/search", _params(query, video=False), api_key)
    try:
        page = _SearchPage.model_validate_json(body)
    except ValidationError as err:
        raise _malformed(err) from None
    return [_candidate(photo, query.text) for photo in page.photos if photo.width > 0 and photo.height > 0]


async def search_videos(
    client: httpx.AsyncClient, base_url: str, api_key: SecretStr, query: SearchQuery
) -> list[StockCandidate]:
    """One page of videos for `query`, each with its MP4 files; raises the uniform ApplicationError for any failure."""
    body = await _get(client, f"{base_url.rstrip('/')}/videos/search", _params(query, video=True), api_key)
    try:
        page = _VideoPage.model_validate_json(body)
    except ValidationError as err:
        raise _malformed(err) from None
    clips = [_clip(video, query.text) for video in page.videos]
    return [clip for clip in clips if clip.variants]


def _malformed(err: ValidationError) -> ApplicationError:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return invalid_response(SERVICE, f"{where}: {first['msg']}")
