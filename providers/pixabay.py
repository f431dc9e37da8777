"""Pixabay image search (`GET /api/?key=...`) and video search (`GET /api/videos/?key=...`) parsed into stock
candidates.

Pixabay takes its key in the query string, so every URL of a search request carries it: error texts go through
`redact`, and httpx's own request log line ("HTTP Request: GET https://pixabay.com/api/?key=...") is redacted by
a filter on the `httpx` logger installed here.
"""

from __future__ import annotations

import httpx
from pydantic import BaseModel, SecretStr, ValidationError
from temporalio.exceptions import ApplicationError

from core import languages
from engines.media.library import Attribution
from providers.errors import http_error, invalid_response, unavailable
from providers.stock_photo import SearchQuery, SizeVariant, StockCandidate, fit_within

SERVICE = "Pixabay"
SETTING = "PIXABAY_API_KEY (or YTEMPIRE_PIXABAY_API_KEY)"
LICENCE = "Pixabay Content License"
LICENCE_URL = "https://pixabay.com/service/license-summary/"
MAX_QUERY_CHARS = 100
_ORIENTATION = {"landscape": "horizontal", "portrait": "vertical", "square": "all"}
# The search languages (`lang`) Pixabay documents; a language not among them is searched in its default (en).
LANGUAGES = frozenset("cs da de en es fr id it hu nl no pl pt ro sk fi sv tr vi th bg ru el ja ko zh".split())


class _Hit(BaseModel):
    id: int
    pageURL: str  # noqa: N815 - Pixabay's field names
    largeImageURL: str  # noqa: N815
    imageWidth: int  # noqa: N815
    imageHeight: int  # noqa: N815
    user: str
    user_id: int | None = None
    tags: str = ""
    # Present only for accounts with full API access.
    fullHDURL: str | None = None  # noqa: N815
    imageURL: str | None = None  # noqa: N815


class _SearchPage(BaseModel):
    hits: list[_Hit]


class _VideoFile(BaseModel):
    # A size Pixabay does not have comes as an empty URL with zero width and height.
    url: str = ""
    width: int = 0
    height: int = 0
    size: int | None = None


class _VideoHit(BaseModel):
    id: int
    pageURL: str  # noqa: N815
    duration: float
    user: str
    user_id: int | None = None
    videos: dict[str, _VideoFile]  # large (often 4K), medium (1080p), small (720p), tiny (360p)


class _VideoPage(BaseModel):
    hits: list[_VideoHit]


def _variants(hit: _Hit) -> list[SizeVariant]:
    """largeImageURL fits 1280 px, fullHDURL 1920 px, imageURL is the original (Pixabay's API docs)."""
    w, h = hit.imageWidth, hit.imageHeight
    sizes: list[tuple[str, str | None, tuple[int, int]]] = [
        ("largeImageURL", hit.largeImageURL, fit_within(w, h, 1280, 1280)),
        ("fullHDURL", hit.fullHDURL, fit_within(w, h, 1920, 1920)),
        ("imageURL", hit.imageURL, (w, h)),
    ]
    return [SizeVariant(name, url, *size) for name, url, size in sizes if url]


def _attribution(hit: _Hit | _VideoHit, media: str) -> Attribution:
    author_url = f"https://pixabay.com/users/{hit.user}-{hit.user_id}/" if hit.user_id is not None else None
    return Attribution(
        provider="pixabay",
        provider_id=str(hit.id),
        page_url=hit.pageURL,
        author=hit.user,
        author_url=author_url,
        licence=LICENCE,
        licence_url=LICENCE_URL,
        media=media,
    )


def _candidate(hit: _Hit, query: str) -> StockCandidate:
    attribution = _attribution(hit, "photo")
    # Pixabay's image URLs are temporary (valid about a day): the download cache keys on the size's name instead.
    return StockCandidate(
        "pixabay", str(hit.id), hit.imageWidth, hit.imageHeight, _variants(hit), attribution, query, stable_urls=False
    )


def _clip(hit: _VideoHit, query: str) -> StockCandidate:
    files = [
        SizeVariant(name, f.url, f.width, f.height, f.size or None)
        for name, f in hit.videos.items()
        if f.url and f.width > 0 and f.height > 0
    ]
    largest = max(files, key=lambda f: f.width * f.height, default=None)
    width, height = (largest.width, largest.height) if largest else (0, 0)
    attribution = _attribution(hit, "video")
    # Keyed by the size's name in the download cache, as the photos are: the URLs are not promised to last.
    return StockCandidate("pixabay", str(hit.id), width, height, files, attribution, query, False, "clip", hit.duration)


def _error(resp: httpx.Response, api_key: SecretStr) -> ApplicationError:
    status = resp.status_code
    # Pixabay answers a wrong or missing key with HTTP 400 "[ERROR 400] Invalid or missing API key": that is a
    # credential problem, so it gets the auth error that names the setting, not a generic invalid request.
    if status == 400 and "api key" in resp.text.lower():
        status = 401
    headers = dict(resp.headers)
    reset = resp.headers.get("x-ratelimit-reset")  # Pixabay: seconds until the window resets
    if "retry-after" not in resp.headers and reset:
        headers["Retry-After"] = reset
    return http_error(SERVICE, status, setting=SETTING, headers=headers, body=resp.text, secrets=[api_key])


async def _get(client: httpx.AsyncClient, url: str, params: dict[str, str | int], api_key: SecretStr) -> bytes:
    try:
        resp = await client.get(url, params=params)
    except httpx.HTTPError as err:
        raise unavailable(SERVICE, err, [api_key]) from None
    if resp.status_code != 200:
        raise _error(resp, api_key)
    return resp.content


def lang_for(language: str) -> str | None:
    """Pixabay's search language for a video's (`pt-BR` -> `pt`, Norwegian Bokmål -> `no`), None where it has none."""
    code = languages.primary(language)
    code = "no" if code in ("nb", "nn") else code
    return code if code in LANGUAGES else None


def _params(query: SearchQuery, api_key: SecretStr) -> dict[str, str | int]:
    params: dict[str, str | int] = {
        "key": api_key.get_secret_value(),
        "q": query.text[:MAX_QUERY_CHARS],
        "min_width": query.width,
        "min_height": query.height,
        "per_page": min(max(query.per_page, 3), 200),
        "page": 1,
        "safesearch": "true",
    }
    if (lang := lang_for(query.language)) is not None:
        params["lang"] = lang
    return params


def _malformed(err: ValidationError) -> ApplicationError:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return invalid_response(SERVICE, f"{where}: {first['msg']}")


async def search(
    client: httpx.AsyncClient, base_url: str, api_key: SecretStr, query: SearchQuery
) -> list[StockCandidate]:
    """One page of photos for `query`; raises the uniform ApplicationError for any failure."""
    params = {**_params(query, api_key), "image_type": "photo", "orientation": _ORIENTATION[query.orientation]}
    body = await _get(client, f"{base_url.rstrip('/')}/api/", params, api_key)
    try:
        page = _SearchPage.model_validate_json(body)
    except ValidationError as err:
        raise _malformed(err) from None
    return [_candidate(hit, query.text) for hit in page.hits if hit.imageWidth > 0 and hit.imageHeight > 0]


async def search_videos(
    client: httpx.AsyncClient, base_url: str, api_key: SecretStr, query: SearchQuery
) -> list[StockCandidate]:
    """One page of videos for `query` (camera footage, not animation); raises the uniform ApplicationError for any
    failure. Pixabay's video search has no orientation: min_width/min_height keep what can cover the render."""
    params = {**_params(query, api_key), "video_type": "film"}
    body = await _get(client, f"{base_url.rstrip('/')}/api/videos/", params, api_key)
    try:
        page = _VideoPage.model_validate_json(body)
    except ValidationError as err:
        raise _malformed(err) from None
    clips = [_clip(hit, query.text) for hit in page.hits]
    return [clip for clip in clips if clip.variants]
