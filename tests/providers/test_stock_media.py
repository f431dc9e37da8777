"""Pexels and Pixabay media through httpx against the local fake (tests/fakes/stock_media_api.py)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from core.domain import StageInput, VideoRequest
from core.settings import Settings
from engines.media.library import Attribution, MediaItem, MediaSet
from engines.script.writer import Script
from providers import pexels, pixabay
from providers.cache import ContentCache
from providers.context import ProviderContext
from providers.stock_photo import SizeVariant, StockCandidate, choose_variant
from stages import media
from stages.stock_media import MAX_DOWNLOADS_PER_VIDEO, segment_queries
from telemetry.worker_metrics import WorkerMetrics
from tests.fakes.server import serve
from tests.fakes.stock_media_api import PEXELS_KEY, PIXABAY_KEY, FakePhoto, StockMediaApi

TOPIC = "octopus intelligence"
PORTRAIT = (1280, 2000)  # covers the 1080x1920 render as an original; large2x (832x1300) does not
# Each segment's own search terms; the call to action has none of its own ("Follow for more."), so it searches the
# topic.
SEGMENT_TERMS = [["octopus", "arms"], ["coral reef"], ["ink cloud"], ["camouflage"], ["tentacles"], ["den"]]
SEGMENT_QUERIES = [" ".join(terms) for terms in SEGMENT_TERMS]


def script(slides: int = 6, tags: list[str] | None = None) -> Script:
    """A script with `slides` narration parts: hook, slides - 2 segments (each with its terms), call to action."""
    return Script(
        title="How smart is an octopus?",
        hook="Octopuses solve puzzles.",
        segments=[f"Segment {i}." for i in range(slides - 2)],
        call_to_action="Follow for more.",
        description="About octopuses.",
        tags=tags if tags is not None else ["octopus", "marine biology", "shorts", "facts"],
        visual_terms=[["octopus"], *SEGMENT_TERMS[: slides - 2], []],
    )


def nothing_found(api: StockMediaApi) -> None:
    api.results = {q: [] for q in [*SEGMENT_QUERIES, TOPIC]}


def portrait_photos(*ids: int, **kinds: Any) -> list[FakePhoto]:
    return [FakePhoto(i, *PORTRAIT, **kinds.get(f"p{i}", {})) for i in ids]


@pytest.fixture
def api() -> StockMediaApi:
    return StockMediaApi(portrait_photos(*range(101, 113)))


@pytest.fixture
def base_url(api: StockMediaApi) -> Iterator[str]:
    with serve(api.app) as url:
        yield url


def make_settings(tmp_path: Path, base_url: str, provider: str = "pexels", **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "media_provider": provider,
        "pexels_api_key": PEXELS_KEY,
        "pexels_base_url": base_url,
        "pixabay_api_key": PIXABAY_KEY,
        "pixabay_base_url": base_url,
        "media_max_download_bytes": 1_000_000,
        "provider_timeout_seconds": 5,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def make_ctx(settings: Settings) -> ProviderContext:
    metrics = WorkerMetrics()
    cache = ContentCache(
        settings.provider_cache_dir, enabled=settings.cache_enabled, on_lookup=metrics.record_cache_lookup
    )
    return ProviderContext(settings, cache, metrics)


def stage_input(
    tmp_path: Path, video_id: str = "v1", topic: str = TOPIC, orientation: str = "portrait", language: str = "en"
) -> StageInput:
    request = VideoRequest(
        video_id,
        topic,
        "channel-1",
        "user-1",
        orientation=orientation,
        language=language,  # type: ignore[arg-type]
    )
    return StageInput("media_collection", request, str(tmp_path / video_id), str(tmp_path / "outbox"))


async def run(ctx: ProviderContext, inp: StageInput, slides: int = 6, tags: list[str] | None = None) -> Any:
    media_dir = Path(inp.artifact_dir) / "media"
    media_dir.mkdir(parents=True, exist_ok=True)
    return await media.collect(ctx, inp, script(slides, tags), media_dir)


def manifest(outcome: Any) -> dict[str, Any]:
    return json.loads(Path(outcome.artifacts["media"]).read_text())


def calls(ctx: ProviderContext, provider: str, outcome: str) -> float:
    return (
        ctx.metrics.registry.get_sample_value(
            "ytempire_provider_calls_total", {"provider": provider, "outcome": outcome}
        )
        or 0.0
    )


def sha(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


async def test_pexels_photos_follow_the_segments_with_attribution(
    api: StockMediaApi, base_url: str, tmp_path: Path
) -> None:
    """Each segment's photo comes from the search for that segment's own terms; the call to action, with no terms
    of its own, from the topic's."""
    api.results = dict(zip(SEGMENT_QUERIES, [[101, 102], [103], [104, 101], [105, 106]], strict=False))
    api.results[TOPIC] = [107, 108]
    ctx = make_ctx(make_settings(tmp_path, base_url))
    outcome = await run(ctx, stage_input(tmp_path))

    items = manifest(outcome)["items"]
    assert [i["source"] for i in items] == ["generated"] + ["pexels"] * 5
    assert [i["attribution"]["provider_id"] for i in items[1:]] == ["101", "103", "104", "105", "107"]
    assert [i["query"] for i in items[1:]] == [*SEGMENT_QUERIES[:4], TOPIC]
    first = items[1]["attribution"]
    assert first == {
        "provider": "pexels",
        "provider_id": "101",
        "page_url": "https://www.pexels.com/photo/fake-photo-101/",
        "author": "Photographer 101",
        "author_url": "https://www.pexels.com/@photographer-101",
        "licence": "Pexels License",
        "licence_url": "https://www.pexels.com/license/",
        "media": "photo",
        "credit": "Photo by Photographer 101 on Pexels",
    }
    for item in items:
        with Image.open(item["path"]) as img:
            assert img.size == (1080, 1920)
    assert outcome.artifacts["title_card"] == items[0]["path"]
    credits = json.loads(Path(outcome.artifacts["credits"]).read_text())["credits"]
    assert [c["provider_id"] for c in credits] == ["101", "103", "104", "105", "107"]
    assert MediaSet.from_json(manifest(outcome)).items[1].attribution == Attribution(
        **{k: v for k, v in first.items() if k != "credit"}
    )

    searches = api.received("pexels")
    assert [s.query["query"] for s in searches] == [*SEGMENT_QUERIES[:4], TOPIC]  # each once, in spoken order
    assert all(s.headers["authorization"] == PEXELS_KEY for s in searches)
    assert {(s.query["orientation"], s.query["size"]) for s in searches} == {("portrait", "medium")}
    # The original is the smallest size that covers 1080x1920 without upscaling: no resize parameters.
    downloads = api.received("download")
    assert [d.query for d in downloads] == [{}] * 5 and sorted(api.downloaded_ids()) == [101, 103, 104, 105, 107]

    assert outcome.details["stock_items"] == 5 and outcome.details["fallback_items"] == 0
    assert outcome.details["footage"] == "photos" and outcome.details["stock_clips"] == 0
    assert outcome.details["queries"] == " | ".join([*SEGMENT_QUERIES[:4], TOPIC])
    assert outcome.details["cache"] == "miss" and outcome.details["provider"] == "pexels"
    cost = outcome.cost
    assert cost.service == "pexels" and cost.operation == "stock_photos"
    assert cost.metadata["searches"] == 5 and cost.metadata["downloads"] == 5
    assert cost.metadata["bytes_downloaded"] > 0
    expected = 0.002 + cost.metadata["bytes_downloaded"] / 1e9 * ctx.settings.storage_usd_per_gb
    assert cost.amount_usd == pytest.approx(expected)
    assert cost.amount_usd <= media.estimate_usd(ctx.settings, stage_input(tmp_path).request)
    assert calls(ctx, "pexels", "ok") == 10
    assert api.received("pexels_videos") == []  # a simple video prefers photos: no video is searched


async def test_landscape_render_searches_landscape_photos_and_renders_landscape(tmp_path: Path) -> None:
    # 2400x1500 originals: large2x would be 1880x1175, too narrow for 1920, so the original is the smallest cover.
    api = StockMediaApi([FakePhoto(i, 2400, 1500) for i in range(201, 205)] + portrait_photos(101))
    with serve(api.app) as base_url:
        ctx = make_ctx(make_settings(tmp_path, base_url))
        outcome = await run(ctx, stage_input(tmp_path, orientation="landscape"), slides=3)
    items = manifest(outcome)["items"]
    assert [i["attribution"]["provider_id"] for i in items[1:]] == ["201", "202"]
    assert {s.query["orientation"] for s in api.received("pexels")} == {"landscape"}
    assert [d.query for d in api.received("download")] == [{}, {}]  # the originals
    with Image.open(items[1]["path"]) as img:
        assert img.size == (1920, 1080)


@pytest.mark.parametrize(
    ("provider", "parameter", "spanish"), [("pexels", "locale", "es-ES"), ("pixabay", "lang", "es")]
)
async def test_searches_are_in_the_videos_language_where_the_provider_has_it(
    api: StockMediaApi, base_url: str, tmp_path: Path, provider: str, parameter: str, spanish: str
) -> None:
    # Clips first (the fake has none), then photos: both searches.
    settings = make_settings(tmp_path, base_url, provider=provider, stock_footage={"simple": "clips"})
    routes = (provider, f"{provider}_videos")
    await run(make_ctx(settings), stage_input(tmp_path, "es1", language="es"), slides=3)
    searches = [r for r in api.requests if r.route in routes]
    assert {s.route for s in searches} == set(routes) and {s.query.get(parameter) for s in searches} == {spanish}
    # Neither has Hindi: its searches go in the provider's default, not in a value it does not know.
    hindi = len(api.requests)
    await run(make_ctx(settings), stage_input(tmp_path, "hi1", language="hi"), slides=3)
    searches = [r for r in api.requests[hindi:] if r.route in routes]
    assert {s.route for s in searches} == set(routes) and all(parameter not in s.query for s in searches)


def test_the_search_language_is_one_the_provider_documents() -> None:
    assert [pexels.locale_for(code) for code in ("pt", "pt-PT", "zh", "zh-TW", "zh-HK", "nb", "en-GB")] == [
        "pt-BR", "pt-BR", "zh-CN", "zh-TW", "zh-TW", "nb-NO", "en-US",
    ]  # fmt: skip
    assert [pixabay.lang_for(code) for code in ("pt-BR", "zh-TW", "nb", "bg", "ca")] == ["pt", "zh", "no", "bg", None]
    for code in ("hi", "ar", "he", "sw"):
        assert pexels.locale_for(code) is None and pixabay.lang_for(code) is None


def test_choose_variant_takes_the_smallest_cover_within_the_upscale_limit() -> None:
    attribution = Attribution("pexels", "1", "p", "a", None, "Pexels License", "l")

    def cand(*sizes: tuple[str, int, int]) -> StockCandidate:
        return StockCandidate(
            "pexels", "1", 6000, 4000, [SizeVariant(n, n, w, h) for n, w, h in sizes], attribution, "q"
        )

    photo = cand(("original", 6000, 4000), ("large2x", 1880, 1253), ("large", 940, 627), ("landscape", 1200, 627))
    assert choose_variant(photo, 1920, 1080).name == "original"  # type: ignore[union-attr]
    assert choose_variant(photo, 1280, 720).name == "large2x"  # type: ignore[union-attr]
    assert choose_variant(photo, 900, 600).name == "large"  # type: ignore[union-attr]
    pixabay = cand(("largeImageURL", 768, 1280))
    assert choose_variant(pixabay, 1080, 1920).name == "largeImageURL"  # type: ignore[union-attr]  # 1.5x
    assert choose_variant(cand(("largeImageURL", 640, 1000)), 1080, 1920) is None


def test_segment_queries_are_deduplicated_bounded_and_fall_back_to_the_topic() -> None:
    s = script(slides=8)
    s.visual_terms[3] = ["Coral  reef"]  # segment 2's search, but for case and spacing
    s.visual_terms[4] = ["ink", "cloud"]
    assert segment_queries(s, range(1, 8), " octopus  intelligence ", "en") == {
        1: "octopus arms",
        2: "coral reef",
        3: "coral reef",  # searched once, for both
        4: "ink cloud",
        5: "tentacles",
        6: "den",
        7: "octopus intelligence",  # no terms of its own ("Follow for more.")
    }
    # At most `limit` distinct searches, the topic's among them: later segments search the topic.
    bounded = segment_queries(s, range(1, 8), TOPIC, "en", limit=3)
    assert bounded == {1: "octopus arms", 2: "coral reef", 3: "coral reef", 4: TOPIC, 5: TOPIC, 6: TOPIC, 7: TOPIC}
    # A script saved without terms derives them from each segment's words.
    plain = Script("t", "Hook.", ["Anglerfish glow in the dark."], "Follow.", "d", [])
    assert segment_queries(plain, [1, 2], TOPIC, "en") == {1: "anglerfish glow dark", 2: TOPIC}


async def test_dedupe_by_provider_id_and_by_content(api: StockMediaApi, base_url: str, tmp_path: Path) -> None:
    # 101 is found for two segments; 103 is 102's image under another id.
    api.photos[103] = FakePhoto(103, *PORTRAIT, same_as=102)
    api.results = dict(zip(SEGMENT_QUERIES, [[102], [103, 106], [101, 104], [101, 105]], strict=False))
    api.results[TOPIC] = [107]
    ctx = make_ctx(make_settings(tmp_path, base_url))
    outcome = await run(ctx, stage_input(tmp_path))

    items = manifest(outcome)["items"][1:]
    ids = [i["attribution"]["provider_id"] for i in items]
    assert ids == ["102", "106", "101", "105", "107"]  # the second segment's duplicate gave way to its next photo
    assert len({sha(i["path"]) for i in items}) == 5
    assert api.downloaded_ids().count(101) == 1
    assert outcome.details["duplicates"] == 1 and outcome.details["fallback_items"] == 0


async def test_bad_downloads_are_skipped_and_local_media_fills_the_rest(
    api: StockMediaApi, base_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kinds = ["html", "oversize", "oversize_stream", "truncated", "corrupt", "small", "dark", "missing"]
    api.photos = {p.id: p for p in portrait_photos(1, 2)}
    api.photos.update({10 + i: FakePhoto(10 + i, *PORTRAIT, kind=kind) for i, kind in enumerate(kinds)})  # type: ignore[arg-type]
    nothing_found(api)  # every segment falls back to the topic's results
    api.results[TOPIC] = [10 + i for i in range(len(kinds))] + [1, 2]
    ctx = make_ctx(make_settings(tmp_path, base_url))
    with caplog.at_level(logging.WARNING, logger="stages.stock_media"):
        outcome = await run(ctx, stage_input(tmp_path), tags=[])

    items = manifest(outcome)["items"]
    assert [i["source"] for i in items] == ["generated", "pexels", "pexels", "generated", "generated", "generated"]
    assert [i["attribution"]["provider_id"] for i in items[1:3]] == ["1", "2"]
    assert outcome.details["fallback_items"] == 3 and outcome.details["rejected_downloads"] == len(kinds)
    assert "3 of 5 segments had no usable Pexels photo" in str(outcome.details["fallback_reason"])
    log = caplog.text
    for reason in (
        "content type text/html is not an image",
        "Content-Length",
        "body exceeds the limit of 1000000 bytes",
        "not a readable image",
        "too small for a 1080x1920 render",
        "almost entirely black",
        "HTTP 404",
    ):
        assert reason in log
    assert log.count("not a readable image") == 2  # truncated and corrupt
    assert calls(ctx, "pexels", "DownloadRejected") == len(kinds)
    # Nothing rejected reached the cache.
    entries = [p for p in (ctx.settings.provider_cache_dir / "media").rglob("meta.json")]
    assert len(entries) == 2


async def test_no_results_fall_back_to_local_and_the_library(api: StockMediaApi, base_url: str, tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    Image.new("RGB", (400, 300), (200, 120, 40)).save(library / "own.jpg")
    nothing_found(api)
    ctx = make_ctx(make_settings(tmp_path, base_url, media_library_dir=library))
    outcome = await run(ctx, stage_input(tmp_path))
    items = manifest(outcome)["items"]
    assert [i["source"] for i in items] == ["generated", "library", "generated", "generated", "generated", "generated"]
    assert "attribution" not in items[0] and "credits" not in outcome.artifacts
    assert outcome.details["fallback_items"] == 5 and outcome.details["library_items"] == 1
    assert api.received("download") == []


async def test_the_channels_own_media_comes_before_stock(api: StockMediaApi, base_url: str, tmp_path: Path) -> None:
    """channels/<id>/ of the library fills the first slides; Pexels only the rest; the shared library is not used
    while stock has photos; a channel whose folder fills every slide costs no search at all."""
    library = tmp_path / "library"
    own = library / "channels" / "channel-1"
    own.mkdir(parents=True)
    for i, colour in enumerate(["red", "green"]):
        Image.new("RGB", (600, 900), colour).save(own / f"mine{i}.png")
    Image.new("RGB", (600, 900), "blue").save(library / "shared.png")
    ctx = make_ctx(make_settings(tmp_path, base_url, media_library_dir=library))
    outcome = await run(ctx, stage_input(tmp_path))
    items = manifest(outcome)["items"]
    assert [i["source"] for i in items] == ["generated", "library", "library", "pexels", "pexels", "pexels"]
    assert sorted(Path(i["origin"]).name for i in items[1:3]) == ["mine0.png", "mine1.png"]
    assert (outcome.details["own_items"], outcome.details["stock_items"], outcome.details["fallback_items"]) == (
        2,
        3,
        0,
    )
    assert len(api.received("download")) == 3

    for i in range(2, 6):
        Image.new("RGB", (600, 900), (40 * i, 90, 200)).save(own / f"more{i}.png")
    searches = len(api.received("pexels"))
    uncached = make_ctx(make_settings(tmp_path, base_url, media_library_dir=library, cache_enabled=False))
    full = await run(uncached, stage_input(tmp_path, video_id="v2"))  # any search would reach the fake
    assert [i["source"] for i in manifest(full)["items"]] == ["generated"] + ["library"] * 5
    assert searches >= 1 and len(api.received("pexels")) == searches and full.details["own_items"] == 5


async def test_a_second_video_with_the_same_photos_downloads_nothing(
    api: StockMediaApi, base_url: str, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, base_url)
    first = await run(make_ctx(settings), stage_input(tmp_path, "v1"))
    before = len(api.requests)

    # Same topic: searches and downloads both come from the cache. No request at all; only the overhead is charged.
    ctx = make_ctx(settings)
    second = await run(ctx, stage_input(tmp_path, "v2"))
    assert len(api.requests) == before
    assert second.details["cache"] == "hit" and second.cost.amount_usd == pytest.approx(0.002)
    assert second.cost.metadata["download_cache_hits"] == 5 and second.cost.metadata["downloads"] == 0
    assert calls(ctx, "pexels", "ok") == 0
    assert (
        ctx.metrics.registry.get_sample_value(
            "ytempire_provider_cache_lookups_total", {"kind": "media", "result": "hit"}
        )
        == 10
    )
    first_ids = [i["attribution"]["provider_id"] for i in manifest(first)["items"][1:]]
    assert [i["attribution"]["provider_id"] for i in manifest(second)["items"][1:]] == first_ids
    assert [sha(i["path"]) for i in manifest(second)["items"][1:]] == [
        sha(i["path"]) for i in manifest(first)["items"][1:]
    ]

    # Another topic: only the call to action searches anew (the segments' terms are the same), and finds the same
    # photos: still no downloads.
    third = await run(make_ctx(settings), stage_input(tmp_path, "v3", topic="cephalopod brains"))
    assert len(api.received("pexels")) == 6 and api.received("download")[-1] == api.requests[before - 1]
    assert third.details["cache"] == "partial" and third.cost.metadata["downloads"] == 0


async def test_pixabay_photos_with_the_key_kept_out_of_everything(
    api: StockMediaApi, base_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api.photos = {p.id: p for p in [FakePhoto(i, 2400, 4000) for i in range(301, 309)]}
    ctx = make_ctx(make_settings(tmp_path, base_url, provider="pixabay"))
    with caplog.at_level(logging.DEBUG):
        outcome = await run(ctx, stage_input(tmp_path))

    items = manifest(outcome)["items"]
    assert [i["source"] for i in items] == ["generated"] + ["pixabay"] * 5
    attribution = items[1]["attribution"]
    assert attribution["licence"] == "Pixabay Content License"
    assert attribution["page_url"] == "https://pixabay.com/photos/fake-photo-301/"
    assert attribution["author_url"] == "https://pixabay.com/users/Photographer301-2301/"
    assert attribution["credit"] == "Image by Photographer301 from Pixabay"
    assert items[1]["origin"] == attribution["page_url"]  # the temporary image URL is not kept
    search = api.received("pixabay")[0].query
    assert search == {
        "key": PIXABAY_KEY,
        "q": SEGMENT_QUERIES[0],
        "image_type": "photo",
        "orientation": "vertical",
        "min_width": "1080",
        "min_height": "1920",
        "per_page": "40",
        "page": "1",
        "safesearch": "true",
        "lang": "en",
    }
    # largeImageURL (768x1280) covers 1080x1920 at the allowed 1.5x.
    assert all(d.path.endswith("_1280.jpg") for d in api.received("download"))
    assert outcome.cost.service == "pixabay"

    assert "HTTP Request: GET" in caplog.text  # httpx did log the search, with the key redacted
    artifacts = [Path(p).read_text() for p in (outcome.artifacts["media"], outcome.artifacts["credits"])]
    for text in [caplog.text, *artifacts, json.dumps(outcome.details), json.dumps(outcome.cost.metadata)]:
        assert PIXABAY_KEY not in text


async def test_pixabay_downloads_are_cached_by_id_although_its_urls_change(
    api: StockMediaApi, base_url: str, tmp_path: Path
) -> None:
    api.photos = {p.id: p for p in [FakePhoto(i, 2400, 4000) for i in range(301, 309)]}
    settings = make_settings(tmp_path, base_url, provider="pixabay")
    await run(make_ctx(settings), stage_input(tmp_path, "v1"))
    downloads = len(api.received("download"))
    api.url_epoch += 1  # a day later the same photos come back under new temporary URLs
    outcome = await run(make_ctx(settings), stage_input(tmp_path, "v2", topic="deep sea creatures"))
    assert len(api.received("download")) == downloads and outcome.cost.metadata["download_cache_hits"] == 5


# -- errors -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["pexels", "pixabay"])
async def test_429_honours_retry_after(api: StockMediaApi, base_url: str, tmp_path: Path, provider: str) -> None:
    api.fail_next(provider, 429, {"error": "Rate limit exceeded"}, Retry_After="7", X_Ratelimit_Remaining="0")  # type: ignore[arg-type]
    ctx = make_ctx(make_settings(tmp_path, base_url, provider=provider))
    with pytest.raises(ApplicationError) as caught:
        await run(ctx, stage_input(tmp_path))
    assert caught.value.type == "ProviderRateLimited" and not caught.value.non_retryable
    assert caught.value.next_retry_delay == timedelta(seconds=7)
    assert calls(ctx, provider, "ProviderRateLimited") == 1


async def test_pixabay_429_without_retry_after_waits_for_the_window_reset(
    api: StockMediaApi, base_url: str, tmp_path: Path
) -> None:
    api.fail_next(
        "pixabay",
        429,
        "[ERROR 429] API rate limit exceeded",
        X_RateLimit_Limit="100",
        X_RateLimit_Remaining="0",
        X_RateLimit_Reset="42",
    )
    with pytest.raises(ApplicationError) as caught:
        await run(make_ctx(make_settings(tmp_path, base_url, provider="pixabay")), stage_input(tmp_path))
    assert caught.value.type == "ProviderRateLimited"
    assert caught.value.next_retry_delay == timedelta(seconds=42)


@pytest.mark.parametrize("provider", ["pexels", "pixabay"])
async def test_server_errors_and_timeouts_are_retryable(
    api: StockMediaApi, base_url: str, tmp_path: Path, provider: str
) -> None:
    api.fail_next(provider, 503, "upstream unavailable")  # type: ignore[arg-type]
    with pytest.raises(ApplicationError) as caught:
        await run(make_ctx(make_settings(tmp_path, base_url, provider=provider)), stage_input(tmp_path))
    assert caught.value.type == "ProviderUnavailable" and not caught.value.non_retryable
    assert "HTTP 503" in str(caught.value)

    api.fail_next(provider, 200, {"late": True})  # type: ignore[arg-type]
    api.faults[-1].delay = 1.0
    impatient = make_ctx(make_settings(tmp_path, base_url, provider=provider, provider_timeout_seconds=0.3))
    with pytest.raises(ApplicationError) as caught:
        await run(impatient, stage_input(tmp_path))
    assert caught.value.type == "ProviderUnavailable" and "could not be reached" in str(caught.value)


async def test_pexels_refused_key_is_final_and_names_the_setting(
    api: StockMediaApi, base_url: str, tmp_path: Path
) -> None:
    for status in (401, 403):
        api.fail_next("pexels", status, {"error": f"invalid key {PEXELS_KEY}"})
        with pytest.raises(ApplicationError) as caught:
            await run(make_ctx(make_settings(tmp_path, base_url)), stage_input(tmp_path))
        err = caught.value
        assert err.type == "ProviderAuthFailed" and err.non_retryable
        assert "PEXELS_API_KEY" in str(err) and PEXELS_KEY not in str(err) and PEXELS_KEY not in repr(err.details)
    # A wrong key, straight from the fake's own check.
    with pytest.raises(ApplicationError) as caught:
        await run(make_ctx(make_settings(tmp_path, base_url, pexels_api_key="wrong-key-123")), stage_input(tmp_path))
    assert caught.value.type == "ProviderAuthFailed" and "wrong-key-123" not in str(caught.value)


async def test_pixabay_wrong_key_is_an_auth_failure_and_the_echoed_key_is_redacted(
    api: StockMediaApi, base_url: str, tmp_path: Path
) -> None:
    wrong = "99999999-wrongkeywrongkey"
    with pytest.raises(ApplicationError) as caught:
        await run(make_ctx(make_settings(tmp_path, base_url, "pixabay", pixabay_api_key=wrong)), stage_input(tmp_path))
    err = caught.value
    assert err.type == "ProviderAuthFailed" and err.non_retryable and "PIXABAY_API_KEY" in str(err)
    assert "Invalid or missing API key" in str(err)

    api.fail_next("pixabay", 400, f"[ERROR 400] bad request https://pixabay.com/api/?key={PIXABAY_KEY}&q=x")
    with pytest.raises(ApplicationError) as caught:
        await run(make_ctx(make_settings(tmp_path, base_url, "pixabay")), stage_input(tmp_path))
    assert caught.value.type == "ProviderRequestInvalid" and caught.value.non_retryable
    assert PIXABAY_KEY not in str(caught.value) and PIXABAY_KEY not in repr(caught.value.details)


@pytest.mark.parametrize(
    ("provider", "body"),
    [
        ("pexels", {"photos": [{"id": "not-a-number", "width": 1, "height": 1}]}),
        ("pexels", {"page": 1}),
        ("pixabay", {"hits": "none"}),
        ("pixabay", {"hits": [{"id": 1, "pageURL": "p", "imageWidth": 10, "imageHeight": 10, "user": "u"}]}),
    ],
)
async def test_malformed_search_responses_are_rejected(
    api: StockMediaApi, base_url: str, tmp_path: Path, provider: str, body: dict[str, Any]
) -> None:
    api.fail_next(provider, 200, body)  # type: ignore[arg-type]
    ctx = make_ctx(make_settings(tmp_path, base_url, provider=provider))
    with pytest.raises(ApplicationError) as caught:
        await run(ctx, stage_input(tmp_path))
    assert caught.value.type == "ProviderResponseInvalid"
    assert api.received("download") == []


@pytest.mark.parametrize("provider", ["pexels", "pixabay"])
async def test_missing_key_fails_before_any_request(
    api: StockMediaApi, base_url: str, tmp_path: Path, provider: str
) -> None:
    settings = make_settings(tmp_path, base_url, provider=provider, **{f"{provider}_api_key": None})
    with pytest.raises(ApplicationError) as caught:
        await run(make_ctx(settings), stage_input(tmp_path))
    assert caught.value.type == "ProviderAuthFailed" and caught.value.non_retryable
    assert f"{provider.upper()}_API_KEY" in str(caught.value)
    assert api.requests == []


async def test_a_failing_image_server_fails_the_stage_and_the_retry_downloads_only_the_rest(
    api: StockMediaApi, base_url: str, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, base_url)
    api.results = {TOPIC: list(range(101, 113))}
    api.fail_next("download", 502, "bad gateway")
    with pytest.raises(ApplicationError) as caught:
        await run(make_ctx(settings), stage_input(tmp_path), tags=[])
    assert caught.value.type == "ProviderUnavailable" and not caught.value.non_retryable
    failed_attempt = len(api.received("download"))
    assert failed_attempt == 4  # the first batch: one failed, its siblings finished and were cached

    outcome = await run(make_ctx(settings), stage_input(tmp_path), tags=[])
    assert outcome.cost.metadata["download_cache_hits"] == 3
    assert len(api.received("download")) - failed_attempt == 2
    assert outcome.details["stock_items"] == 5

    api.results["squid"] = list(range(107, 113))  # not downloaded yet
    api.fail_next("download", 429, "slow down", Retry_After="3")
    with pytest.raises(ApplicationError) as caught:
        await run(make_ctx(settings), stage_input(tmp_path, "v9", topic="squid"), tags=[])
    assert caught.value.type == "ProviderRateLimited" and caught.value.next_retry_delay == timedelta(seconds=3)


async def test_heartbeats_while_downloading(api: StockMediaApi, base_url: str, tmp_path: Path) -> None:
    beats: list[Any] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details)
    ctx = make_ctx(make_settings(tmp_path, base_url))
    outcome = await env.run(run, ctx, stage_input(tmp_path))
    assert outcome.details["stock_items"] == 5
    assert beats and beats[-1][0]["stock_items"] == 5


def test_estimate_is_an_upper_bound_and_local_stays_at_the_overhead(tmp_path: Path) -> None:
    request = stage_input(tmp_path).request
    local = make_settings(tmp_path, "http://127.0.0.1:9", provider="local")
    assert media.estimate_usd(local, request) == local.overhead_usd_per_stage
    stock = make_settings(tmp_path, "http://127.0.0.1:9", media_max_download_bytes=25_000_000)
    worst = 0.002 + MAX_DOWNLOADS_PER_VIDEO * 25_000_000 / 1e9 * stock.storage_usd_per_gb
    assert media.estimate_usd(stock, request) == pytest.approx(worst)
    tiered = make_settings(
        tmp_path,
        "http://127.0.0.1:9",
        provider="local",
        media_provider_tiers={"simple": "pixabay"},
        media_max_download_bytes=25_000_000,
    )
    assert media.estimate_usd(tiered, request) == pytest.approx(media.estimate_usd(stock, request))


def test_manifests_without_attributions_still_load(tmp_path: Path) -> None:
    old = {"items": [{"path": str(tmp_path / "00_title.png"), "source": "generated", "origin": None}]}
    assert MediaSet.from_json(old) == MediaSet([MediaItem(tmp_path / "00_title.png", "generated")])
    assert MediaSet.from_json(old).to_json() == old
