"""Pexels photo search (`GET /v1/search`, key in the `Authorization` header) parsed into stock candidates."""

from __future__ import annotations

import time

import httpx
from pydantic import BaseModel, SecretStr, ValidationError
from temporalio.exceptions import ApplicationError

from engines.media.library import Attribution
from providers.errors import http_error, invalid_response, unavailable
from providers.stock_photo import SearchQuery, SizeVariant, StockCandidate, fit_within

SERVICE = "Pexels"
SETTING = "PEXELS_API_KEY (or YTEMPIRE_PEXELS_API_KEY)"
LICENCE = "Pexels License"
LICENCE_URL = "https://www.pexels.com/license/"
MAX_PER_PAGE = 80


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


def _retry_headers(headers: httpx.Headers) -> dict[str, str]:
    """Pexels sends X-Ratelimit-Reset (a UNIX time) and may omit Retry-After: derive one from the reset."""
    out = dict(headers)
    reset = headers.get("x-ratelimit-reset")
    if "retry-after" not in headers and reset and reset.isdigit():
        out["Retry-After"] = str(max(int(reset) - int(time.time()), 0))
    return out


async def search(
    client: httpx.AsyncClient, base_url: str, api_key: SecretStr, query: SearchQuery
) -> list[StockCandidate]:
    """One page of photos for `query`; raises the uniform ApplicationError for any failure."""
    params: dict[str, str | int] = {
        "query": query.text,
        "orientation": query.orientation,
        # Pexels' minimum sizes: medium 12 MP, large 24 MP; 12 MP covers anything up to 4K.
        "size": "large" if max(query.width, query.height) > 4000 else "medium",
        "per_page": min(query.per_page, MAX_PER_PAGE),
        "page": 1,
    }
    secret = api_key.get_secret_value()
    try:
        resp = await client.get(f"{base_url.rstrip('/')}/v1/search", params=params, headers={"Authorization": secret})
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
    try:
        page = _SearchPage.model_validate_json(resp.content)
    except ValidationError as err:
        raise _malformed(err) from None
    return [_candidate(photo, query.text) for photo in page.photos if photo.width > 0 and photo.height > 0]


def _malformed(err: ValidationError) -> ApplicationError:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return invalid_response(SERVICE, f"{where}: {first['msg']}")
