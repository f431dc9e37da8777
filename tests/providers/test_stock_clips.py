"""Pexels and Pixabay *video* clips through httpx against the local fake (tests/fakes/stock_media_api.py): the file
chosen, the byte limit, the decode check, the fallback to photos and then local media, attribution, cache, cost,
and the footage preference per tier and per channel."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from core.domain import StageInput, VideoRequest
from core.settings import Settings
from engines.media.clip_check import check_clip
from engines.speech.timeline import SegmentTiming, SpeechTimeline
from providers.stock_photo import SizeVariant, StockCandidate, choose_variant
from stages import media
from tests.fakes.server import serve
from tests.fakes.stock_media_api import PIXABAY_KEY, FakePhoto, FakeVideo, StockMediaApi
from tests.providers.test_stock_media import (
    PORTRAIT,
    SEGMENT_QUERIES,
    TOPIC,
    calls,
    make_ctx,
    make_settings,
    manifest,
    nothing_found,
    script,
)

QUERIES = [*SEGMENT_QUERIES[:4], TOPIC]  # what the five stock segments of script() search, in spoken order


def settings(tmp_path: Path, base_url: str, **overrides: Any) -> Settings:
    # The fake makes each clip with ffmpeg as it is asked for it, four at a time, on a shared machine.
    return make_settings(tmp_path, base_url, **{"provider_timeout_seconds": 60, **overrides})


@pytest.fixture
def api() -> StockMediaApi:
    videos = [FakeVideo(501, 2160, 3840, duration=1)] + [FakeVideo(i, 1080, 1920, duration=1) for i in range(502, 508)]
    return StockMediaApi([FakePhoto(i, *PORTRAIT) for i in range(101, 107)], videos)


@pytest.fixture
def base_url(api: StockMediaApi) -> Iterator[str]:
    with serve(api.app) as url:
        yield url


def stage_input(
    tmp_path: Path,
    video_id: str = "v1",
    complexity: str = "complex",
    channel: str = "channel-1",
    artifacts: dict[str, str] | None = None,
) -> StageInput:
    request = VideoRequest(video_id, TOPIC, channel, "user-1", complexity=complexity)  # type: ignore[arg-type]
    return StageInput("media_collection", request, str(tmp_path / video_id), str(tmp_path / "outbox"), artifacts or {})


async def run(ctx: Any, inp: StageInput, slides: int = 6) -> Any:
    media_dir = Path(inp.artifact_dir) / "media"
    media_dir.mkdir(parents=True, exist_ok=True)
    return await media.collect(ctx, inp, script(slides), media_dir)


async def test_a_complex_video_gets_a_pexels_clip_per_segment(
    api: StockMediaApi, base_url: str, tmp_path: Path
) -> None:
    api.video_results = dict(zip(QUERIES, [[501], [502], [503, 502], [504], [505]], strict=True))
    ctx = make_ctx(settings(tmp_path, base_url, media_max_download_bytes=2_000_000))
    outcome = await run(ctx, stage_input(tmp_path))

    items = manifest(outcome)["items"]
    assert [i["source"] for i in items] == ["generated"] + ["pexels"] * 5
    assert [i["attribution"]["provider_id"] for i in items[1:]] == ["501", "502", "503", "504", "505"]
    assert [i["query"] for i in items[1:]] == QUERIES
    assert [s.query["query"] for s in api.received("pexels_videos")] == QUERIES
    assert {(s.query["orientation"], s.query["size"]) for s in api.received("pexels_videos")} == {
        ("portrait", "medium")
    }
    assert api.received("pexels") == []  # every segment found its clip: no photo searched

    # 501 is a 2160x3840 original listed with its renditions: the smallest that covers 1080x1920 is downloaded.
    first = [d.path for d in api.received("video_download") if "/501/" in d.path]
    assert first == ["/video-files/501/1080x1920.mp4"]
    for item in items[1:]:
        assert item["path"].endswith(".mp4")
        facts = check_clip(Path(item["path"]))  # a real, decodable H.264 clip, as the render will read it
        assert (facts.codec, facts.width, facts.height) == ("h264", 1080, 1920)
    attribution = items[1]["attribution"]
    assert attribution["media"] == "video" and attribution["credit"] == "Video by Videographer 501 on Pexels"
    assert attribution["page_url"] == "https://www.pexels.com/video/fake-video-501/"
    assert attribution["author_url"] == "https://www.pexels.com/@videographer-501"
    credits = json.loads(Path(outcome.artifacts["credits"]).read_text())["credits"]
    assert [c["credit"] for c in credits][:2] == [
        "Video by Videographer 501 on Pexels",
        "Video by Videographer 502 on Pexels",
    ]

    details, cost = outcome.details, outcome.cost
    assert details["footage"] == "clips" and details["stock_clips"] == 5 and details["stock_photos"] == 0
    assert cost.operation == "stock_clips" and cost.metadata["clip_searches"] == 5
    assert cost.metadata["clip_downloads"] == 5 and cost.metadata["bytes_downloaded"] > 0
    expected = 0.002 + cost.metadata["bytes_downloaded"] / 1e9 * ctx.settings.storage_usd_per_gb
    assert cost.amount_usd == pytest.approx(expected) and cost.amount_usd <= media.estimate_usd(
        ctx.settings, stage_input(tmp_path).request
    )
    assert calls(ctx, "pexels", "ok") == 10

    # Cached like the photos: the same video again asks the API nothing and downloads nothing.
    before = len(api.requests)
    again = await run(make_ctx(ctx.settings), stage_input(tmp_path, "v2"))
    assert len(api.requests) == before and again.details["cache"] == "hit"
    assert again.cost.metadata["download_cache_hits"] == 5
    assert [i["attribution"]["provider_id"] for i in manifest(again)["items"][1:]] == [
        "501",
        "502",
        "503",
        "504",
        "505",
    ]


async def test_clips_that_fail_their_checks_give_way_to_photos_then_local_media(
    api: StockMediaApi, base_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kinds = ["html", "oversize", "truncated", "corrupt", "black", "small", "short", "missing"]
    api.videos = {600 + i: FakeVideo(600 + i, 1080, 1920, kind=kind) for i, kind in enumerate(kinds)}  # type: ignore[arg-type]
    api.video_results = {q: [] for q in QUERIES}
    api.video_results[TOPIC] = list(api.videos)  # every segment falls back to the topic's clips: all bad
    nothing_found(api)
    api.results.update({SEGMENT_QUERIES[0]: [101], SEGMENT_QUERIES[1]: [102]})
    ctx = make_ctx(settings(tmp_path, base_url))  # a 1 MB limit: the "oversize" clip declares 3 MB more
    with caplog.at_level(logging.WARNING, logger="stages.stock_media"):
        outcome = await run(ctx, stage_input(tmp_path))

    items = manifest(outcome)["items"]
    assert [i["source"] for i in items] == ["generated", "pexels", "pexels", "generated", "generated", "generated"]
    assert [i["attribution"]["media"] for i in items[1:3]] == ["photo", "photo"]
    assert sorted(api.downloaded_video_ids()) == sorted(api.videos)  # each tried once, for whichever segment
    details = outcome.details
    assert (details["stock_clips"], details["stock_photos"], details["fallback_items"]) == (0, 2, 3)
    assert details["rejected_downloads"] == len(kinds)
    assert "3 of 5 segments had no usable Pexels clip or photo" in str(details["fallback_reason"])
    log = caplog.text
    for reason in (
        "content type text/html is not a video",
        "Content-Length",
        "not a playable clip",
        "opens with 1 s or more of black",
        "is too small for a 1080x1920 render",
        "under 0.5 s",
        "HTTP 404",
    ):
        assert reason in log, reason
    assert log.count("not a playable clip") == 3  # truncated, corrupt, short
    assert calls(ctx, "pexels", "DownloadRejected") == len(kinds)
    assert [p.parent.name for p in (ctx.settings.provider_cache_dir / "media").rglob("clip.mp4")] == []


async def test_pixabay_clips_within_the_declared_byte_limit(
    api: StockMediaApi, base_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api.videos = {
        701: FakeVideo(701, 1080, 1920, declared_size=5_000_000),  # over the limit by its own account: not fetched
        702: FakeVideo(702, 1080, 1920),
        703: FakeVideo(703, 1440, 2560),  # listed as large 1440x2560, medium 1080x1920, ...: medium covers
        704: FakeVideo(704, 540, 960),  # under min_width/min_height: Pixabay does not return it
    }
    api.video_results = {QUERIES[0]: [701, 702], QUERIES[1]: [704, 703]}
    ctx = make_ctx(settings(tmp_path, base_url, provider="pixabay"))
    with caplog.at_level(logging.DEBUG):
        outcome = await run(ctx, stage_input(tmp_path), slides=4)

    items = manifest(outcome)["items"]
    # The call to action searches the topic: every clip there is taken or unusable, so it gets a photo.
    assert [i["attribution"]["provider_id"] for i in items[1:]] == ["702", "703", "101"]
    assert [i["attribution"]["media"] for i in items[1:]] == ["video", "video", "photo"]
    assert sorted(api.downloaded_video_ids()) == [702, 703]
    search = api.received("pixabay_videos")[0].query
    assert search == {
        "key": PIXABAY_KEY,
        "q": QUERIES[0],
        "video_type": "film",
        "min_width": "1080",
        "min_height": "1920",
        "per_page": "40",
        "page": "1",
        "safesearch": "true",
        "lang": "en",
    }
    attribution = items[1]["attribution"]
    assert attribution["credit"] == "Video by Videographer702 from Pixabay" and attribution["media"] == "video"
    assert items[1]["origin"] == attribution["page_url"] == "https://pixabay.com/videos/fake-video-702/"
    assert [d.path for d in api.received("video_download") if "/703_" in d.path] == ["/video/1/703_1080x1920.mp4"]
    assert check_clip(Path(items[2]["path"])).height == 1920
    artifacts = [Path(p).read_text() for p in (outcome.artifacts["media"], outcome.artifacts["credits"])]
    for text in [caplog.text, *artifacts, json.dumps(outcome.details), json.dumps(outcome.cost.metadata)]:
        assert PIXABAY_KEY not in text


def test_a_clip_file_is_the_smallest_cover_within_the_byte_limit() -> None:
    def clip(*files: tuple[int, int, int | None]) -> StockCandidate:
        variants = [SizeVariant(f"{w}x{h}", f"u{w}", w, h, size) for w, h, size in files]
        return StockCandidate("pixabay", "1", 0, 0, variants, None, "q", kind="clip")  # type: ignore[arg-type]

    four_k = clip((3840, 2160, 40_000_000), (1920, 1080, 9_000_000), (1280, 720, 4_000_000))
    assert choose_variant(four_k, 1920, 1080, max_bytes=25_000_000).width == 1920  # type: ignore[union-attr]
    assert choose_variant(four_k, 1080, 1920, max_bytes=50_000_000).width == 3840  # type: ignore[union-attr]
    assert choose_variant(four_k, 1080, 1920, max_bytes=25_000_000) is None  # only 4K covers a portrait frame
    assert choose_variant(clip((720, 1280, None)), 1080, 1920, max_bytes=1).width == 720  # type: ignore[union-attr]


async def test_a_clip_that_lasts_the_whole_segment_is_tried_first(
    api: StockMediaApi, base_url: str, tmp_path: Path
) -> None:
    api.videos = {801: FakeVideo(801, 1080, 1920, duration=1.0), 802: FakeVideo(802, 1080, 1920, duration=3.0)}
    api.video_results = {QUERIES[0]: [801, 802], TOPIC: [801, 802]}
    timeline = SpeechTimeline(
        [], [SegmentTiming(0, "", 0.0, 1.0), SegmentTiming(1, "", 1.0, 3.5), SegmentTiming(2, "", 3.5, 4.0)], 4.0
    )
    path = tmp_path / "timeline.json"
    path.write_text(json.dumps(timeline.to_json()))
    ctx = make_ctx(settings(tmp_path, base_url))
    outcome = await run(ctx, stage_input(tmp_path, artifacts={"timeline": str(path)}), slides=3)
    # Segment 1 lasts 2.5 s: the 3 s clip; the call to action (0.5 s) takes what is left, the 1 s one.
    assert [i["attribution"]["provider_id"] for i in manifest(outcome)["items"][1:]] == ["802", "801"]


def test_the_footage_preference_by_tier_and_by_channel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert [s.stock_footage_for("c", t) for t in ("simple", "complex", "premium")] == ["photos", "clips", "clips"]  # type: ignore[arg-type]
    monkeypatch.setenv("YTEMPIRE_STOCK_FOOTAGE", '{"premium": "photos"}')
    monkeypatch.setenv("YTEMPIRE_CHANNEL_STOCK_FOOTAGE", '{"kids": "photos", "travel": "clips"}')
    s = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert s.stock_footage_for("other", "premium") == "photos" and s.stock_footage_for("other", "complex") == "clips"
    assert s.stock_footage_for("kids", "complex") == "photos" and s.stock_footage_for("travel", "simple") == "clips"
    monkeypatch.setenv("YTEMPIRE_CHANNEL_STOCK_FOOTAGE", '{"kids": "gifs"}')
    with pytest.raises(ValueError, match="channel_stock_footage"):
        Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]


async def test_a_channel_that_prefers_photos_searches_no_video(
    api: StockMediaApi, base_url: str, tmp_path: Path
) -> None:
    ctx = make_ctx(settings(tmp_path, base_url, channel_stock_footage={"stills": "photos"}))
    outcome = await run(ctx, stage_input(tmp_path, complexity="premium", channel="stills"), slides=3)
    assert outcome.details["footage"] == "photos" and outcome.details["stock_photos"] == 2
    assert api.received("pexels_videos") == [] and api.received("video_download") == []


@pytest.mark.parametrize("provider", ["pexels", "pixabay"])
async def test_video_search_errors_fail_the_stage_like_photo_searches(
    api: StockMediaApi, base_url: str, tmp_path: Path, provider: str
) -> None:
    route = f"{provider}_videos"
    api.fail_next(route, 429, {"error": "Rate limit exceeded"}, Retry_After="9")  # type: ignore[arg-type]
    ctx = make_ctx(settings(tmp_path, base_url, provider=provider))
    with pytest.raises(ApplicationError) as caught:
        await run(ctx, stage_input(tmp_path))
    assert caught.value.type == "ProviderRateLimited" and caught.value.next_retry_delay == timedelta(seconds=9)
    assert calls(ctx, provider, "ProviderRateLimited") == 1

    malformed = {"videos": [{"id": 1}]} if provider == "pexels" else {"hits": [{"id": 1, "videos": "none"}]}
    api.fail_next(route, 200, malformed)  # type: ignore[arg-type]
    with pytest.raises(ApplicationError) as caught:
        await run(ctx, stage_input(tmp_path))
    assert caught.value.type == "ProviderResponseInvalid"
    assert api.received("video_download") == []
