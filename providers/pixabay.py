"""Pixabay image search (`GET /api/?key=...`) parsed into stock candidates.

Pixabay takes its key in the query string, so every URL of a search request carries it: error texts go through
`redact`, and httpx's own request log line ("HTTP Request: GET https://pixabay.com/api/?key=...") is redacted by
a filter on the `httpx` logger installed here.
"""

from __future__ import annotations

import httpx
from pydantic import BaseModel, SecretStr, ValidationError
from temporalio.exceptions import ApplicationError

from engines.media.library import Attribution
from providers.errors import http_error, invalid_response, unavailable
from providers.stock_photo import SearchQuery, SizeVariant, StockCandidate, fit_within

SERVICE = "Pixabay"
SETTING = "PIXABAY_API_KEY (or YTEMPIRE_PIXABAY_API_KEY)"
LICENCE = "Pixabay Content License"
LICENCE_URL = "https://pixabay.com/service/license-summary/"
MAX_QUERY_CHARS = 100
_ORIENTATION = {"landscape": "horizontal", "portrait": "vertical", "square": "all"}


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


def _variants(hit: _Hit) -> list[SizeVariant]:
    """largeImageURL fits 1280 px, fullHDURL 1920 px, imageURL is the original (Pixabay's API docs)."""
    w, h = hit.imageWidth, hit.imageHeight
    sizes: list[tuple[str, str | None, tuple[int, int]]] = [
        ("largeImageURL", hit.largeImageURL, fit_within(w, h, 1280, 1280)),
        ("fullHDURL", hit.fullHDURL, fit_within(w, h, 1920, 1920)),
        ("imageURL", hit.imageURL, (w, h)),
    ]
    return [SizeVariant(name, url, *size) for name, url, size in sizes if url]


def _candidate(hit: _Hit, query: str) -> StockCandidate:
    author_url = f"https://pixabay.com/users/{hit.user}-{hit.user_id}/" if hit.user_id is not None else None
    attribution = Attribution(
        provider="pixabay",
        provider_id=str(hit.id),
        page_url=hit.pageURL,
        author=hit.user,
        author_url=author_url,
        licence=LICENCE,
        licence_url=LICENCE_URL,
    )
    # Pixabay's image URLs are temporary (valid about a day): the download cache keys on the size's name instead.
    return StockCandidate(
        "pixabay", str(hit.id), hit.imageWidth, hit.imageHeight, _variants(hit), attribution, query, stable_urls=False
    )


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


async def search(
    client: httpx.AsyncClient, base_url: str, api_key: SecretStr, query: SearchQuery
) -> list[StockCandidate]:
    """One page of photos for `query`; raises the uniform ApplicationError for any failure."""
    params: dict[str, str | int] = {
        "key": api_key.get_secret_value(),
        "q": query.text[:MAX_QUERY_CHARS],
        "image_type": "photo",
        "orientation": _ORIENTATION[query.orientation],
        "min_width": query.width,
        "min_height": query.height,
        "per_page": min(max(query.per_page, 3), 200),
        "page": 1,
        "safesearch": "true",
    }
    try:
        resp = await client.get(f"{base_url.rstrip('/')}/api/", params=params)
    except httpx.HTTPError as err:
        raise unavailable(SERVICE, err, [api_key]) from None
    if resp.status_code != 200:
        raise _error(resp, api_key)
    try:
        page = _SearchPage.model_validate_json(resp.content)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise invalid_response(SERVICE, f"{where}: {first['msg']}") from None
    return [_candidate(hit, query.text) for hit in page.hits if hit.imageWidth > 0 and hit.imageHeight > 0]
