"""media_collection from Pexels or Pixabay: per narration segment, search, pick, download, validate, dedupe, credit.

Decisions:
- Footage follows the words: item i of the media set is on screen while narration segment i is spoken (the render
  cuts on the segment boundaries of the speech timeline). The generated title card stays first, under the hook (it
  is the thumbnail's source and carries the title); every later segment gets footage searched with its own terms
  (`Script.terms_for`: the script's visual_terms, else derived from the segment's words). A query is searched once
  however many segments share it; at most MAX_QUERIES distinct ones per kind, segments past that search the topic.
- Clips or photos: the video's footage preference (`YTEMPIRE_STOCK_FOOTAGE` per tier, `YTEMPIRE_CHANNEL_STOCK_FOOTAGE`
  per channel) is `clips` (video search first, then photo search for the segments still empty) or `photos` (photo
  search only). A segment whose own results hold nothing usable takes from the topic's results; one still empty
  after every kind is filled by the local provider (library images, then generated backgrounds) and reported as
  `fallback_items` in the stage details.
- A clip: the smallest file that covers the render, else the largest within MAX_UPSCALE, leaving out files the
  provider declares larger than the byte limit; one at least as long as its segment is tried first. It is played
  like the user's library clips: copied as it is, then the render scales, crops and cuts it (looping a short one).
- Dedupe across the video by provider, kind and id, and by SHA-256 of the downloaded bytes (one file, two ids).
- Every download is validated (see `stock_download`); a rejected file is skipped and the next candidate tried, at
  most MAX_DOWNLOADS_PER_VIDEO tries in all.
- Search errors, and downloads failing with 429/5xx/timeouts, fail the stage with the uniform retryable error so
  Temporal retries it; missing or refused credentials fail it for good (no silent fallback to local).
- Searches are in the video's language where the provider has it (Pexels' `locale`, Pixabay's `lang`), else in its
  default (English).
- Cache (kind "media"): search results per provider, kind, query, language, orientation, render size and UTC day
  (Pixabay requires results be cached for 24 h, and its URLs expire after about that long); downloads per provider,
  kind, id and chosen size, so a retried stage or another video using the same file downloads nothing.
- Cost: the footage is free; the stage charges the per-stage overhead plus storage of the bytes downloaded.
"""

from __future__ import annotations

import asyncio
import json
import logging
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
from core.footage import Footage
from core.languages import DEFAULT_LANGUAGE
from core.records import CostLine
from core.settings import Settings
from engines import proc
from engines.files import link_or_copy
from engines.media.library import MediaItem, MediaSet, collect_media, normalise_image, own_media
from engines.script.visual_terms import search_text
from engines.script.writer import Script
from engines.speech.timeline import SpeechTimeline
from providers import pexels, pixabay
from providers.cache import cache_key
from providers.context import ProviderContext
from providers.errors import missing_credential
from providers.stock_download import (
    Download,
    DownloadRejected,
    fetch_clip,
    fetch_image,
    inspect_clip,
    inspect_image,
)
from providers.stock_photo import (
    MAX_UPSCALE,
    SearchQuery,
    SizeVariant,
    StockCandidate,
    StockKind,
    StockProvider,
    choose_variant,
    orientation_of,
    upscale_needed,
)

log = logging.getLogger(__name__)

MAX_QUERIES = 10  # distinct searches per kind and video, the topic's included
MAX_DOWNLOADS_PER_VIDEO = 40  # downloads tried (kept or rejected): bounds the stage's time and its cost estimate
DOWNLOAD_CONCURRENCY = 4
SEARCH_PER_PAGE = 40  # fixed, so that videos of any length share cached searches
KINDS: dict[Footage, tuple[StockKind, ...]] = {"clips": ("clip", "photo"), "photos": ("photo",)}

T = TypeVar("T")
SearchFn = Callable[[httpx.AsyncClient, str, SecretStr, SearchQuery], Awaitable[list[StockCandidate]]]


@dataclass(frozen=True)
class _Provider:
    name: StockProvider
    service: str
    setting: str
    base_url: str
    api_key: SecretStr
    search_photos: SearchFn
    search_videos: SearchFn

    def search(self, kind: StockKind) -> SearchFn:
        return self.search_videos if kind == "clip" else self.search_photos


@dataclass(frozen=True)
class _Picked:
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
    clip_searches: int = 0  # of `searches`
    clip_downloads: int = 0  # of `downloads`
    tried: int = 0  # downloads tried, cache hits included: MAX_DOWNLOADS_PER_VIDEO bounds it

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
        key, service, setting, base_url = (
            settings.pexels_api_key,
            pexels.SERVICE,
            pexels.SETTING,
            settings.pexels_base_url,
        )
        searches = (pexels.search, pexels.search_videos)
    elif name == "pixabay":
        key, service, setting, base_url = (
            settings.pixabay_api_key,
            pixabay.SERVICE,
            pixabay.SETTING,
            settings.pixabay_base_url,
        )
        searches = (pixabay.search, pixabay.search_videos)
    else:
        raise ValueError(f"not a stock media provider: {name}")
    if key is None or not key.get_secret_value():
        raise missing_credential(service, setting)
    return _Provider(name, service, setting, base_url, key, *searches)  # type: ignore[arg-type]


def segment_queries(
    script: Script, segments: Sequence[int], topic: str, language: str, limit: int = MAX_QUERIES
) -> dict[int, str]:
    """Each segment's search: its own terms, or the topic once `limit` distinct searches (the topic's among them)
    are taken or when it has no terms."""
    topic = " ".join(topic.split())
    kept: set[str] = {topic}
    queries: dict[int, str] = {}
    for index in segments:
        query = search_text(script.terms_for(index, language)) or topic
        if query not in kept and len(kept) < limit:
            kept.add(query)
        queries[index] = query if query in kept else topic
    return queries


def estimate_usd(settings: Settings) -> float:
    """Upper bound: the overhead plus storage of every allowed download at the largest allowed size."""
    worst_bytes = MAX_DOWNLOADS_PER_VIDEO * settings.media_max_download_bytes
    return settings.overhead_usd_per_stage + cost_policy.storage_usd(settings, worst_bytes)


class _Collector:
    """One stage run: the HTTP client, the provider, the cache, the render's size and the tally of what it did."""

    def __init__(
        self,
        ctx: ProviderContext,
        provider: _Provider,
        client: httpx.AsyncClient,
        work_dir: Path,
        size: tuple[int, int],
        language: str,
    ) -> None:
        self.ctx = ctx
        self.provider = provider
        self.client = client
        self.work_dir = work_dir
        self.width, self.height = size
        self.language = language
        self.tally = _Tally()
        self.tried: set[tuple[str, str, str]] = set()  # candidate keys downloaded (kept or rejected) in this video
        self.hashes: set[str] = set()
        self.kept = 0

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

    async def search(self, kind: StockKind, text: str) -> list[StockCandidate]:
        orientation = orientation_of(self.width, self.height)
        query = SearchQuery(text, orientation, self.width, self.height, SEARCH_PER_PAGE, self.language)
        day = datetime.now(UTC).date().isoformat()
        payload = {
            "query": query.text,
            "orientation": query.orientation,
            "size": [query.width, query.height],
            "language": query.language,
        }
        variant = "search" if kind == "photo" else "video_search"
        key = cache_key("media", self.provider.name, variant, {**payload, "per_page": query.per_page, "day": day})
        cache = self.ctx.cache
        if (entry := cache.lookup("media", key)) is not None:
            self.tally.search_cache_hits += 1
            data = json.loads((entry / "results.json").read_text())
            return [StockCandidate.from_json(c) for c in data["candidates"]]
        self.tally.searches += 1
        self.tally.clip_searches += kind == "clip"
        p = self.provider
        found = await self._counted(p.search(kind)(self.client, p.base_url, p.api_key, query))
        results = self.work_dir / f"search-{key[:16]}.json"
        results.write_text(json.dumps({"candidates": [c.to_json() for c in found]}))
        cache.store("media", key, {"results.json": results})
        return found

    async def obtain(self, candidate: StockCandidate, variant: SizeVariant) -> _Picked:
        """The validated file for `candidate` at `variant`: from the cache, else downloaded (and then cached)."""
        size_id = variant.url if candidate.stable_urls else variant.name
        key = cache_key("media", candidate.provider, candidate.kind, {"id": candidate.provider_id, "size": size_id})
        width, height = self.width, self.height
        if (entry := self.ctx.cache.lookup("media", key)) is not None:
            meta = json.loads((entry / "meta.json").read_text())
            self.tally.download_cache_hits += 1
            # Validated when stored, but possibly for another render size.
            if upscale_needed(meta["width"], meta["height"], width, height) > MAX_UPSCALE:
                raise DownloadRejected(f"{meta['width']}x{meta['height']} is too small for a {width}x{height} render")
            return _Picked(candidate, variant, entry / meta["file"], meta["sha256"])
        self.tally.downloads += 1
        self.tally.clip_downloads += candidate.kind == "clip"
        download, (w, h) = await self._counted(self._download(candidate, variant))
        meta_path = download.path.with_suffix(".meta.json")
        name = f"{'clip' if candidate.kind == 'clip' else 'image'}{download.path.suffix}"
        meta = {"file": name, "sha256": download.sha256, "bytes": download.size_bytes, "width": w, "height": h}
        meta_path.write_text(json.dumps({**meta, "content_type": download.content_type}))
        self.ctx.cache.store("media", key, {name: download.path, "meta.json": meta_path})
        return _Picked(candidate, variant, download.path, download.sha256)

    async def _download(self, candidate: StockCandidate, variant: SizeVariant) -> tuple[Download, tuple[int, int]]:
        p = self.provider
        fetch = fetch_clip if candidate.kind == "clip" else fetch_image
        download = await fetch(
            self.client,
            variant.url,
            self.work_dir / f"{candidate.provider}-{candidate.kind}-{candidate.provider_id}",
            max_bytes=self.ctx.settings.media_max_download_bytes,
            service=p.service,
            setting=p.setting,
            secrets=[p.api_key],
        )
        self.tally.bytes_downloaded += download.size_bytes
        if candidate.kind == "clip":
            clip = await proc.to_thread(inspect_clip, download.path, width=self.width, height=self.height)
            return download, (clip.width, clip.height)
        image = await asyncio.to_thread(inspect_image, download.path, width=self.width, height=self.height)
        return download, (image.width, image.height)

    def _usable(
        self, candidates: list[StockCandidate], seconds: float | None
    ) -> list[tuple[StockCandidate, SizeVariant]]:
        """Candidates with a size to download, in order; a clip that lasts the whole segment first."""
        max_bytes = self.ctx.settings.media_max_download_bytes
        if seconds is not None:
            candidates = sorted(candidates, key=lambda c: c.kind == "clip" and (c.duration or 0.0) < seconds)
        return [(c, v) for c in candidates if (v := choose_variant(c, self.width, self.height, max_bytes)) is not None]

    async def fill(
        self, kind: StockKind, queries: dict[int, str], topic: str, seconds: dict[int, float]
    ) -> dict[int, _Picked]:
        """One validated `kind` file for as many of the segments in `queries` as the searches allow."""
        results: dict[str, list[StockCandidate]] = {}

        async def found(text: str) -> list[StockCandidate]:
            if text not in results:
                results[text] = await self.search(kind, text)
            return results[text]

        segments = list(queries)
        queues = {s: self._usable(await found(queries[s]), seconds.get(s)) for s in segments}
        on_topic = {s for s in segments if queries[s] == topic}
        filled: dict[int, _Picked] = {}
        while True:
            waiting = [s for s in segments if s not in filled]
            for s in waiting:
                if not queues[s] and s not in on_topic:  # its own results ran out: the topic's next
                    on_topic.add(s)
                    queues[s] = self._usable(await found(topic), seconds.get(s))
            budget = min(DOWNLOAD_CONCURRENCY, MAX_DOWNLOADS_PER_VIDEO - self.tally.tried)
            if budget <= 0:
                return filled
            batch: list[tuple[int, StockCandidate, SizeVariant]] = []
            claimed: set[tuple[str, str, str]] = set()
            for s in waiting:
                while queues[s] and len(batch) < budget:
                    candidate, variant = queues[s].pop(0)
                    if candidate.key not in self.tried and candidate.key not in claimed:
                        claimed.add(candidate.key)
                        batch.append((s, candidate, variant))
                        break
            if not batch:
                if any(not queues[s] and s not in on_topic for s in waiting):
                    continue  # a queue emptied of files already tried: to the topic's results
                return filled
            self.tally.tried += len(batch)
            self.tried |= claimed
            # Siblings of a failed download still finish (and reach the cache), so the retry has less to fetch.
            picked = await asyncio.gather(*(self._try(c, v) for _, c, v in batch), return_exceptions=True)
            if failure := next((r for r in picked if isinstance(r, BaseException)), None):
                raise failure
            for (s, candidate, _), result in zip(batch, picked, strict=True):
                if not isinstance(result, _Picked):  # rejected
                    continue
                if result.sha256 in self.hashes:
                    self.tally.duplicates += 1
                    log.info("skipping %s %s: same bytes as a file already used", candidate.provider, candidate.key)
                    continue
                self.hashes.add(result.sha256)
                filled[s] = result
                self.kept += 1
            if activity.in_activity():
                activity.heartbeat({"stock_items": self.kept, "kind": kind, "tried": self.tally.tried})

    async def _try(self, candidate: StockCandidate, variant: SizeVariant) -> _Picked | None:
        try:
            return await self.obtain(candidate, variant)
        except DownloadRejected as why:
            self.tally.rejected.append(f"{candidate.provider}:{candidate.kind}:{candidate.provider_id} {why}")
            log.warning("skipping %s %s %s: %s", candidate.provider, candidate.kind, candidate.provider_id, why)
            return None


def _segment_seconds(inp: StageInput) -> dict[int, float]:
    """How long each narration segment is spoken, when the speech stage's timeline is at hand."""
    path = inp.artifacts.get("timeline")
    if path is None or not Path(path).is_file():
        return {}
    timeline = SpeechTimeline.from_json(json.loads(Path(path).read_text()))
    return {s.index: s.end - s.start for s in timeline.segments}


async def collect_stock(
    ctx: ProviderContext, provider_name: str, inp: StageInput, script: Script, media_dir: Path
) -> StockMedia:
    """Build the video's media set from `provider_name` ("pexels" or "pixabay"), one item per narration segment,
    falling back to local media for the segments nothing usable was found for."""
    provider = _provider(ctx.settings, provider_name)
    request = inp.request
    width, height = request.resolution
    count = len(script.narration())
    segments = list(range(1, count))  # the title card shows segment 0
    library = ctx.settings.media_library_dir
    # The channel's own images and clips come first; stock fills the segments they leave.
    own = (
        await proc.to_thread(
            own_media,
            library,
            request.channel_id,
            media_dir,
            count=len(segments),
            width=width,
            height=height,
            seed=request.video_id,
        )
        if library is not None
        else []
    )
    stock_segments = segments[len(own) :]
    topic = " ".join(request.topic.split())
    language = str(request.language or DEFAULT_LANGUAGE)
    queries = segment_queries(script, stock_segments, topic, language)
    footage = ctx.settings.stock_footage_for(request.channel_id, request.complexity)
    seconds = _segment_seconds(inp)
    work_dir = Path(tempfile.mkdtemp(prefix=".stock-", dir=media_dir))
    timeout = httpx.Timeout(ctx.settings.provider_timeout_seconds)
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
            collector = _Collector(ctx, provider, client, work_dir, (width, height), language)
            picked: dict[int, _Picked] = {}
            for kind in KINDS[footage]:
                waiting = {s: q for s, q in queries.items() if s not in picked}
                if waiting:
                    picked.update(await collector.fill(kind, waiting, topic, seconds))
            stock_items = await asyncio.to_thread(_prepare, picked, media_dir, width, height)
        missing = [s for s in stock_segments if s not in stock_items]
        local = await proc.to_thread(
            collect_media,
            media_dir,
            count=1 + len(missing) if count else 0,
            width=width,
            height=height,
            seed=request.video_id,
            title=script.title,
            library_dir=library,
            channel_id=None,  # the shared library only: the channel's own items are in already
            caption_style=ctx.settings.caption_style_for(request.channel_id),
            language=request.language,
        )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    fill = iter(local.items[1:])
    media = MediaSet(
        local.items[:1] + own + [stock_items[s] if s in stock_items else next(fill) for s in stock_segments]
    )
    tally = collector.tally
    if missing:
        log.warning(
            "%d of %d segments had no usable %s footage; filled from the local provider",
            len(missing),
            len(stock_segments),
            provider.service,
        )
    clips = sum(1 for p in picked.values() if p.candidate.kind == "clip")
    counts = {"stock_items": len(stock_items), "stock_clips": clips, "stock_photos": len(stock_items) - clips}
    return StockMedia(
        media,
        _cost(ctx.settings, provider, footage, tally, counts, len(missing)),
        {
            **_details(provider, footage, queries, tally, media, counts, len(missing), len(stock_segments)),
            "own_items": len(own),
        },
    )


def _prepare(picked: dict[int, _Picked], media_dir: Path, width: int, height: int) -> dict[int, MediaItem]:
    """Each segment's file, ready to render: a photo cover-cropped to the frame, a clip as it is."""
    items = {}
    for segment, p in sorted(picked.items()):
        c = p.candidate
        stem = media_dir / f"stock_{segment:02d}"
        if c.kind == "clip":
            dest = link_or_copy(p.path, stem.with_suffix(p.path.suffix))
        else:
            dest = normalise_image(p.path, stem.with_suffix(".jpg"), width=width, height=height)
        origin = p.variant.url if c.stable_urls else c.attribution.page_url
        items[segment] = MediaItem(dest, c.provider, origin, c.attribution, c.query)
    return items


def _cost(
    settings: Settings, provider: _Provider, footage: Footage, tally: _Tally, counts: dict[str, int], fallback: int
) -> CostLine:
    storage = cost_policy.storage_usd(settings, tally.bytes_downloaded)
    return CostLine(
        provider.name,
        "stock_clips" if footage == "clips" else "stock_photos",
        settings.overhead_usd_per_stage + storage,
        {
            "searches": tally.searches,
            "clip_searches": tally.clip_searches,
            "search_cache_hits": tally.search_cache_hits,
            "downloads": tally.downloads,
            "clip_downloads": tally.clip_downloads,
            "download_cache_hits": tally.download_cache_hits,
            "bytes_downloaded": tally.bytes_downloaded,
            "rejected_downloads": len(tally.rejected),
            "duplicates": tally.duplicates,
            **counts,
            "fallback_items": fallback,
        },
    )


def _details(
    provider: _Provider,
    footage: Footage,
    queries: dict[int, str],
    tally: _Tally,
    media: MediaSet,
    counts: dict[str, int],
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
        "footage": footage,
        "items": len(media.items),
        **counts,
        "fallback_items": fallback,
        "library_items": sum(1 for item in media.items if item.source == "library"),
        "queries": " | ".join(dict.fromkeys(queries.values())),
        "searches": tally.searches,
        "downloads": tally.downloads,
        "rejected_downloads": len(tally.rejected),
        "duplicates": tally.duplicates,
        "cache": cache,
    }
    if fallback:
        details["fallback_reason"] = (
            f"{fallback} of {slots} segments had no usable {provider.service} "
            f"{'clip or photo' if footage == 'clips' else 'photo'} ({len(tally.rejected)} downloads rejected, "
            f"{tally.duplicates} duplicates); filled from local media"
        )
    return details
