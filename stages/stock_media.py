"""media_collection from Pexels or Pixabay: search, pick, download, validate, dedupe, normalise, credit.

Decisions:
- Slides: the generated title card stays first (it is the thumbnail's source and carries the title); every other
  narration segment gets one stock photo. Queries are the topic plus up to two specific tags of the script,
  searched once each; their results are interleaved (one from each query in turn) for variety.
- Dedupe across the video by provider id and by SHA-256 of the downloaded bytes (the same photo under two ids).
- Every download is validated (see `stock_download`); a rejected image is skipped and the next candidate tried.
  Slots still empty after the candidates or MAX_DOWNLOADS_PER_VIDEO attempts run out are filled by the local
  provider (library images, then generated backgrounds) and reported as `fallback_items` in the stage details.
- Search errors, and downloads failing with 429/5xx/timeouts, fail the stage with the uniform retryable error so
  Temporal retries it; missing or refused credentials fail it for good (no silent fallback to local).
- Cache (kind "media"): search results per provider, query, orientation, render size and UTC day (Pixabay
  requires results be cached for 24 h, and its image URLs expire after about that long); downloads per provider,
  photo id and chosen size, so a retried stage or another video using the same photo downloads nothing.
- Cost: the photos are free; the stage charges the per-stage overhead plus storage of the bytes downloaded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import httpx
from pydantic import SecretStr
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core import cost_policy
from core.domain import StageInput
from core.records import CostLine
from core.settings import Settings
from engines import proc
from engines.media.library import MediaItem, MediaSet, collect_media, normalise_image, own_media
from engines.script.writer import Script
from providers import pexels, pixabay
from providers.cache import cache_key
from providers.context import ProviderContext
from providers.errors import missing_credential
from providers.stock_download import Download, DownloadRejected, ImageFacts, fetch_image, inspect_image
from providers.stock_photo import (
    MAX_UPSCALE,
    SearchQuery,
    SizeVariant,
    StockCandidate,
    StockProvider,
    choose_variant,
    orientation_of,
    upscale_needed,
)

log = logging.getLogger(__name__)

MAX_QUERIES = 3
MAX_DOWNLOADS_PER_VIDEO = 40  # downloads tried (kept or rejected): bounds the stage's time and its cost estimate
DOWNLOAD_CONCURRENCY = 4
SEARCH_PER_PAGE = 40  # fixed, so that videos of any length share cached searches
# Words that say nothing about what a picture should show (the local writer adds "shorts", "facts", "explained").
_GENERIC = frozenset(
    "shorts short facts fact explained video videos youtube viral fyp why how what when who have has had the and "
    "for with that this are you your from into about three".split()
)

T = TypeVar("T")


@dataclass(frozen=True)
class _Provider:
    name: StockProvider
    service: str
    setting: str
    base_url: str
    api_key: SecretStr
    search: Callable[[httpx.AsyncClient, str, SecretStr, SearchQuery], Awaitable[list[StockCandidate]]]


@dataclass(frozen=True)
class _Image:
    candidate: StockCandidate
    variant: SizeVariant
    path: Path
    sha256: str


@dataclass
class _Tally:
    searches: int = 0
    search_cache_hits: int = 0
    downloads: int = 0
    download_cache_hits: int = 0
    bytes_downloaded: int = 0
    rejected: list[str] = field(default_factory=list)
    duplicates: int = 0

    @property
    def api_calls(self) -> int:
        return self.searches + self.downloads

    @property
    def cache_hits(self) -> int:
        return self.search_cache_hits + self.download_cache_hits


@dataclass(frozen=True)
class StockMedia:
    media: MediaSet
    cost: CostLine
    details: dict[str, str | float]


def _provider(settings: Settings, name: str) -> _Provider:
    if name == "pexels":
        key, service, setting = settings.pexels_api_key, pexels.SERVICE, pexels.SETTING
        base_url, search = settings.pexels_base_url, pexels.search
    elif name == "pixabay":
        key, service, setting = settings.pixabay_api_key, pixabay.SERVICE, pixabay.SETTING
        base_url, search = settings.pixabay_base_url, pixabay.search
    else:
        raise ValueError(f"not a stock media provider: {name}")
    if key is None or not key.get_secret_value():
        raise missing_credential(service, setting)
    return _Provider(name, service, setting, base_url, key, search)  # type: ignore[arg-type]


def stock_queries(topic: str, script: Script, limit: int = MAX_QUERIES) -> list[str]:
    """The topic, then the script's most specific tags (longest first), without generic words or repeats."""
    queries = [" ".join(topic.split())]
    seen = {queries[0].lower()}
    tags = sorted((" ".join(t.split()) for t in script.tags), key=len, reverse=True)
    for tag in tags:
        words = re.findall(r"[a-z0-9']+", tag.lower())
        if not words or all(w in _GENERIC or len(w) < 3 for w in words) or tag.lower() in seen:
            continue
        seen.add(tag.lower())
        queries.append(tag)
        if len(queries) == limit:
            break
    return [q for q in queries if q]


def interleave(results: Sequence[Sequence[StockCandidate]]) -> list[StockCandidate]:
    """One candidate from each query in turn, each provider id once."""
    out: list[StockCandidate] = []
    seen: set[str] = set()
    for i in range(max((len(r) for r in results), default=0)):
        for result in results:
            if i < len(result) and result[i].provider_id not in seen:
                seen.add(result[i].provider_id)
                out.append(result[i])
    return out


def estimate_usd(settings: Settings) -> float:
    """Upper bound: the overhead plus storage of every allowed download at the largest allowed size."""
    worst_bytes = MAX_DOWNLOADS_PER_VIDEO * settings.media_max_download_bytes
    return settings.overhead_usd_per_stage + cost_policy.storage_usd(settings, worst_bytes)


class _Collector:
    """One stage run: the HTTP client, the provider, the cache and the tally of what it did."""

    def __init__(self, ctx: ProviderContext, provider: _Provider, client: httpx.AsyncClient, work_dir: Path) -> None:
        self.ctx = ctx
        self.provider = provider
        self.client = client
        self.work_dir = work_dir
        self.tally = _Tally()

    async def _counted(self, call: Awaitable[T]) -> T:
        """Count one billable call in provider_calls: "ok" or the error type it failed with."""
        try:
            result = await call
        except ApplicationError as err:
            self.ctx.metrics.provider_calls.labels(self.provider.name, err.type or "Error").inc()
            raise
        except DownloadRejected:
            self.ctx.metrics.provider_calls.labels(self.provider.name, "DownloadRejected").inc()
            raise
        self.ctx.metrics.provider_calls.labels(self.provider.name, "ok").inc()
        return result

    async def search(self, query: SearchQuery) -> list[StockCandidate]:
        day = datetime.now(UTC).date().isoformat()
        payload = {"query": query.text, "orientation": query.orientation, "size": [query.width, query.height]}
        key = cache_key("media", self.provider.name, "search", {**payload, "per_page": query.per_page, "day": day})
        cache = self.ctx.cache
        if (entry := cache.lookup("media", key)) is not None:
            self.tally.search_cache_hits += 1
            data = json.loads((entry / "results.json").read_text())
            return [StockCandidate.from_json(c) for c in data["candidates"]]
        self.tally.searches += 1
        p = self.provider
        found = await self._counted(p.search(self.client, p.base_url, p.api_key, query))
        results = self.work_dir / f"search-{key[:16]}.json"
        results.write_text(json.dumps({"candidates": [c.to_json() for c in found]}))
        cache.store("media", key, {"results.json": results})
        return found

    async def obtain(self, candidate: StockCandidate, variant: SizeVariant, width: int, height: int) -> _Image:
        """The validated image for `candidate` at `variant`: from the cache, else downloaded (and then cached)."""
        size_id = variant.url if candidate.stable_urls else variant.name
        key = cache_key("media", candidate.provider, "photo", {"id": candidate.provider_id, "size": size_id})
        if (entry := self.ctx.cache.lookup("media", key)) is not None:
            meta = json.loads((entry / "meta.json").read_text())
            self.tally.download_cache_hits += 1
            # Validated when stored, but possibly for another render size.
            if upscale_needed(meta["width"], meta["height"], width, height) > MAX_UPSCALE:
                raise DownloadRejected(f"{meta['width']}x{meta['height']} is too small for a {width}x{height} render")
            return _Image(candidate, variant, entry / meta["file"], meta["sha256"])
        self.tally.downloads += 1
        download, facts = await self._counted(self._download(candidate, variant, width, height))
        meta_path = download.path.with_suffix(".meta.json")
        name = f"image{download.path.suffix}"
        meta = {"file": name, "sha256": download.sha256, "bytes": download.size_bytes, "width": facts.width}
        meta_path.write_text(json.dumps({**meta, "height": facts.height, "content_type": download.content_type}))
        self.ctx.cache.store("media", key, {name: download.path, "meta.json": meta_path})
        return _Image(candidate, variant, download.path, download.sha256)

    async def _download(
        self, candidate: StockCandidate, variant: SizeVariant, width: int, height: int
    ) -> tuple[Download, ImageFacts]:
        p = self.provider
        download = await fetch_image(
            self.client,
            variant.url,
            self.work_dir / f"{candidate.provider}-{candidate.provider_id}",
            max_bytes=self.ctx.settings.media_max_download_bytes,
            service=p.service,
            setting=p.setting,
            secrets=[p.api_key],
        )
        self.tally.bytes_downloaded += download.size_bytes
        return download, await asyncio.to_thread(inspect_image, download.path, width=width, height=height)

    async def pick(self, candidates: list[StockCandidate], needed: int, width: int, height: int) -> list[_Image]:
        """Up to `needed` distinct, validated images, in candidate order."""
        kept: list[_Image] = []
        hashes: set[str] = set()
        queue = [(c, v) for c in candidates if (v := choose_variant(c, width, height)) is not None]
        tried = 0
        while len(kept) < needed and queue and tried < MAX_DOWNLOADS_PER_VIDEO:
            batch_size = min(needed - len(kept), DOWNLOAD_CONCURRENCY, MAX_DOWNLOADS_PER_VIDEO - tried)
            batch, queue = queue[:batch_size], queue[batch_size:]
            tried += len(batch)
            # Siblings of a failed download still finish (and reach the cache), so the retry has less to fetch.
            results = await asyncio.gather(*(self._try(c, v, width, height) for c, v in batch), return_exceptions=True)
            if failure := next((r for r in results if isinstance(r, BaseException)), None):
                raise failure
            for image in results:
                if not isinstance(image, _Image):  # rejected
                    continue
                if image.sha256 in hashes:
                    self.tally.duplicates += 1
                    log.info(
                        "skipping %s %s: same bytes as a photo already used",
                        image.candidate.provider,
                        image.candidate.provider_id,
                    )
                    continue
                hashes.add(image.sha256)
                kept.append(image)
            if activity.in_activity():
                activity.heartbeat({"stock_images": len(kept), "needed": needed, "tried": tried})
        return kept

    async def _try(self, candidate: StockCandidate, variant: SizeVariant, width: int, height: int) -> _Image | None:
        try:
            return await self.obtain(candidate, variant, width, height)
        except DownloadRejected as why:
            self.tally.rejected.append(f"{candidate.provider}:{candidate.provider_id} {why}")
            log.warning("skipping %s photo %s: %s", candidate.provider, candidate.provider_id, why)
            return None


async def collect_stock(
    ctx: ProviderContext, provider_name: str, inp: StageInput, script: Script, media_dir: Path
) -> StockMedia:
    """Build the video's media set from `provider_name` ("pexels" or "pixabay"), falling back to local images."""
    provider = _provider(ctx.settings, provider_name)
    width, height = inp.request.resolution
    count = len(script.narration())
    slots = max(count - 1, 0)  # the title card takes the first slide
    library = ctx.settings.media_library_dir
    # The channel's own images and clips come first; stock fills the slides they leave.
    own = (
        await proc.to_thread(
            own_media,
            library,
            inp.request.channel_id,
            media_dir,
            count=slots,
            width=width,
            height=height,
            seed=inp.request.video_id,
        )
        if library is not None
        else []
    )
    stock_slots = slots - len(own)
    queries = stock_queries(inp.request.topic, script)
    work_dir = Path(tempfile.mkdtemp(prefix=".stock-", dir=media_dir))
    timeout = httpx.Timeout(ctx.settings.provider_timeout_seconds)
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
            collector = _Collector(ctx, provider, client, work_dir)
            candidates: list[StockCandidate] = []
            if stock_slots:
                orientation = orientation_of(width, height)
                results = [
                    await collector.search(SearchQuery(q, orientation, width, height, SEARCH_PER_PAGE)) for q in queries
                ]
                candidates = interleave(results)
            picked = await collector.pick(candidates, stock_slots, width, height)
            stock_items = await asyncio.to_thread(_normalise, picked, media_dir, width, height)
        missing = stock_slots - len(stock_items)
        local = await proc.to_thread(
            collect_media,
            media_dir,
            count=1 + missing if count else 0,
            width=width,
            height=height,
            seed=inp.request.video_id,
            title=script.title,
            library_dir=library,
            channel_id=None,  # the shared library only: the channel's own items are in already
            caption_style=ctx.settings.caption_style_for(inp.request.channel_id),
        )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    media = MediaSet(local.items[:1] + own + stock_items + local.items[1:])
    tally = collector.tally
    if missing:
        log.warning(
            "%d of %d slides had no usable %s photo; filled from the local provider",
            missing,
            stock_slots,
            provider.service,
        )
    return StockMedia(
        media,
        _cost(ctx.settings, provider, tally, len(stock_items), missing),
        {**_details(provider, queries, tally, media, len(stock_items), missing, stock_slots), "own_items": len(own)},
    )


def _normalise(picked: list[_Image], media_dir: Path, width: int, height: int) -> list[MediaItem]:
    items = []
    for i, image in enumerate(picked, start=1):
        dest = normalise_image(image.path, media_dir / f"stock_{i:02d}.jpg", width=width, height=height)
        c = image.candidate
        items.append(
            MediaItem(dest, c.provider, image.variant.url if c.stable_urls else c.attribution.page_url, c.attribution)
        )
    return items


def _cost(settings: Settings, provider: _Provider, tally: _Tally, stock: int, fallback: int) -> CostLine:
    storage = cost_policy.storage_usd(settings, tally.bytes_downloaded)
    return CostLine(
        provider.name,
        "stock_photos",
        settings.overhead_usd_per_stage + storage,
        {
            "searches": tally.searches,
            "search_cache_hits": tally.search_cache_hits,
            "downloads": tally.downloads,
            "download_cache_hits": tally.download_cache_hits,
            "bytes_downloaded": tally.bytes_downloaded,
            "rejected_downloads": len(tally.rejected),
            "duplicates": tally.duplicates,
            "stock_items": stock,
            "fallback_items": fallback,
        },
    )


def _details(
    provider: _Provider,
    queries: list[str],
    tally: _Tally,
    media: MediaSet,
    stock: int,
    fallback: int,
    slots: int,
) -> dict[str, str | float]:
    if tally.api_calls == 0 and tally.cache_hits:
        cache = "hit"
    elif tally.cache_hits:
        cache = "partial"
    else:
        cache = "miss"
    details: dict[str, str | float] = {
        "provider": provider.name,
        "items": len(media.items),
        "stock_items": stock,
        "fallback_items": fallback,
        "library_items": sum(1 for item in media.items if item.source == "library"),
        "queries": " | ".join(queries),
        "searches": tally.searches,
        "downloads": tally.downloads,
        "rejected_downloads": len(tally.rejected),
        "duplicates": tally.duplicates,
        "cache": cache,
    }
    if fallback:
        details["fallback_reason"] = (
            f"{fallback} of {slots} slides had no usable {provider.service} photo "
            f"({len(tally.rejected)} downloads rejected, {tally.duplicates} duplicates); filled from local media"
        )
    return details
