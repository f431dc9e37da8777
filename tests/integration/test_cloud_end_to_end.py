"""Whole videos with every stage on a cloud provider: the real client libraries against fake APIs on 127.0.0.1,
through the real API, dev server, workers, ffmpeg and PostgreSQL.

Video A (simple): OpenAI script, ElevenLabs speech, Pexels photos, YouTube upload.
Video B (simple, same request): served from the cache: no second script or speech call, no photo downloaded again.
Video C (complex tier): Google TTS and Pixabay, chosen per tier.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import generate_latest
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from ledger import Ledger
from telemetry.worker_metrics import WorkerMetrics
from tests.fakes.elevenlabs_api import FakeElevenLabs
from tests.fakes.google_tts_api import FakeGoogleTts
from tests.fakes.openai_api import FakeOpenAI, Scripted
from tests.fakes.server import serve
from tests.fakes.stock_media_api import FakePhoto, FakeVideo, StockMediaApi
from tests.fakes.youtube_api import FakeYouTube
from tests.integration.conftest import api_client, running_workers
from tests.integration.test_end_to_end import ffprobe, wait_final
from workflows.video import VideoWorkflow

DURATION = 30  # seconds (the shortest request): 75 words of narration


@dataclass
class Fakes:
    openai: FakeOpenAI
    elevenlabs: FakeElevenLabs
    google: FakeGoogleTts
    stock: StockMediaApi
    youtube: FakeYouTube
    urls: dict[str, str]

    def secrets(self) -> list[str]:
        return [
            self.openai.api_key,
            self.elevenlabs.api_key,
            self.google.api_key,
            self.stock.pexels_key,
            self.stock.pixabay_key,
            self.youtube.client_secret,
            self.youtube.refresh_token,
        ]


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    portrait = [FakePhoto(i, 1280, 2000) for i in range(501, 513)]
    made = Fakes(
        openai=FakeOpenAI(narration_words=int(DURATION * 2.5)),
        elevenlabs=FakeElevenLabs(),
        google=FakeGoogleTts(),
        stock=StockMediaApi(portrait, videos=[FakeVideo(i, 1080, 1920, duration=2) for i in range(601, 604)]),
        youtube=FakeYouTube(
            client_id="e2e.apps.googleusercontent.com",
            client_secret="GOCSPX-e2e-secret-0042",
            refresh_token="1//e2e-refresh-token-0042",
        ),
        urls={},
    )
    with ExitStack() as stack:
        for name in ("openai", "elevenlabs", "google", "stock", "youtube"):
            made.urls[name] = stack.enter_context(serve(getattr(made, name).app))
        yield made


@pytest.fixture
def cloud_settings(settings: Settings, fakes: Fakes, tmp_path: Path) -> Settings:
    credentials = fakes.youtube.credentials_file(tmp_path / "youtube-credentials.json", fakes.urls["youtube"])
    return Settings(
        **{
            **settings.model_dump(),
            "script_provider": "openai",
            "openai_api_key": fakes.openai.api_key,
            "openai_base_url": f"{fakes.urls['openai']}/v1",
            "tts_provider": "elevenlabs",
            "tts_provider_tiers": {"complex": "google"},
            "elevenlabs_api_key": fakes.elevenlabs.api_key,
            "elevenlabs_base_url": fakes.urls["elevenlabs"],
            "google_api_key": fakes.google.api_key,
            "google_tts_base_url": fakes.urls["google"],
            "media_provider": "pexels",
            "media_provider_tiers": {"complex": "pixabay"},
            "pexels_api_key": fakes.stock.pexels_key,
            "pexels_base_url": fakes.urls["stock"],
            "pixabay_api_key": fakes.stock.pixabay_key,
            "pixabay_base_url": fakes.urls["stock"],
            "upload_provider": "youtube",
            "youtube_base_url": fakes.urls["youtube"],
            "youtube_credentials_file": credentials,
            "youtube_chunk_bytes": 256 * 1024,
            "provider_timeout_seconds": 10,
        }
    )


async def _enqueue(api: httpx.AsyncClient, channel: str, complexity: str) -> str:
    response = await api.post(
        "/pipeline/queue",
        json={
            "topic": "octopus hearts",
            "channel_id": channel,
            "user_id": str(uuid.uuid4()),
            "complexity": complexity,
            "duration_seconds": DURATION,
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["video_id"])


def _services(costs: list[Any]) -> dict[str, str]:
    return {c.stage: c.service for c in costs}


async def test_every_stage_on_its_cloud_provider(
    dev_env: WorkflowEnvironment, cloud_settings: Settings, ledger: Ledger, fakes: Fakes
) -> None:
    settings = cloud_settings
    metrics = WorkerMetrics()
    channel = str(uuid.uuid4())
    async with running_workers(dev_env, settings, ledger, metrics=metrics), api_client(settings) as api:
        first, complex_video = await asyncio.gather(_enqueue(api, channel, "simple"), _enqueue(api, channel, "complex"))
        a, c = await asyncio.gather(wait_final(api, first), wait_final(api, complex_video))
        calls_after_a = (len(fakes.openai.requests), len(fakes.elevenlabs.requests), len(fakes.stock.requests))
        second = await _enqueue(api, channel, "simple")
        b = await wait_final(api, second)

    for body in (a, b, c):
        assert body["status"] == "completed", body
    a_costs, b_costs, c_costs = [await ledger.stage_costs(v) for v in (first, second, complex_video)]
    assert _services(a_costs) | {"video_rendering": "", "quality_validation": ""} == {
        "script_generation": "openai",
        "audio_synthesis": "elevenlabs",
        "media_collection": "pexels",
        "video_rendering": "",
        "quality_validation": "",
        "upload_preparation": "youtube",
    }
    assert _services(c_costs)["audio_synthesis"] == "google"
    assert _services(c_costs)["media_collection"] == "pixabay"
    assert len(fakes.google.requests) >= 1 and fakes.stock.received("pixabay")

    # Usage-based charges: the script's tokens and the narration's characters, not the local overhead.
    a_by_stage = {c.stage: c for c in a_costs}
    assert a_by_stage["script_generation"].metadata["completion_tokens"] > 0
    assert a_by_stage["audio_synthesis"].amount_usd > settings.overhead_usd_per_stage

    # B repeats A's request: the script, the speech and the photos come from the cache.
    assert (len(fakes.openai.requests), len(fakes.elevenlabs.requests)) == calls_after_a[:2]
    assert not [r for r in fakes.stock.requests[calls_after_a[2] :] if r.route == "download"]
    exported = generate_latest(metrics.registry).decode()
    assert 'ytempire_provider_cache_lookups_total{kind="script",result="hit"}' in exported
    assert 'ytempire_provider_calls_total{outcome="ok",provider="openai"}' in exported

    # Each video reached YouTube whole, with its thumbnail, once.
    for video_id, body in ((first, a), (second, b), (complex_video, c)):
        mp4 = settings.data_dir / body["outputs"]["mp4_path"]  # type: ignore[index]
        facts = ffprobe(str(mp4))
        assert float(facts["format"]["duration"]) > DURATION * 0.5  # type: ignore[index]
        state = json.loads((settings.outbox_dir / video_id / "youtube_upload.json").read_text())
        assert state["youtube_video_id"]
        assert fakes.youtube.thumbnails[state["youtube_video_id"]][:2] == b"\xff\xd8"
    assert len(fakes.youtube.calls("insert")) == 3

    # Attribution travels with the photos, and with the clips a complex video prefers.
    media = json.loads((settings.artifacts_dir / first / "media" / "media.json").read_text())
    assert any(item.get("attribution", {}).get("provider") == "pexels" for item in media["items"])
    assert {item["attribution"]["media"] for item in media["items"] if "attribution" in item} == {"photo"}
    complex_media = json.loads((settings.artifacts_dir / complex_video / "media" / "media.json").read_text())
    clips = [item for item in complex_media["items"] if item.get("attribution", {}).get("media") == "video"]
    assert clips and all(item["path"].endswith(".mp4") for item in clips)
    descriptions = [session.metadata["snippet"]["description"] for session in fakes.youtube.sessions.values()]
    assert len(descriptions) == 3 and all("Credits:\n" in d for d in descriptions)
    assert any("Video by Videographer601 from Pixabay" in d for d in descriptions)

    # No key, secret or token anywhere a user or the Temporal UI can see.
    histories = [
        json.dumps([str(e) for e in (await dev_env.client.get_workflow_handle(f"video-{v}").fetch_history()).events])
        for v in (first, second, complex_video)
    ]
    visible = "\n".join(histories) + json.dumps([a, b, c], default=str)
    for path in settings.outbox_dir.rglob("*.json"):
        visible += path.read_text()
    for secret in fakes.secrets():
        assert secret not in visible


async def test_a_stage_that_fails_for_good_still_reports_what_it_was_billed(
    dev_env: WorkflowEnvironment, cloud_settings: Settings, ledger: Ledger, fakes: Fakes
) -> None:
    """Every OpenAI script comes back too short: three billed attempts, then the video fails. What they cost is in
    the ledger, and the workflow's own total (queries, the failure) says the same."""
    settings = cloud_settings.model_copy(update={"cache_enabled": False})
    fakes.openai.push(*[Scripted(words=10)] * 3)
    async with running_workers(dev_env, settings, ledger), api_client(settings) as api:
        video_id = await _enqueue(api, str(uuid.uuid4()), "simple")
        body = await wait_final(api, video_id)
        handle = dev_env.client.get_workflow_handle(f"video-{video_id}")
        progress = await handle.query(VideoWorkflow.progress)
        costs = await handle.query(VideoWorkflow.costs)
    assert body["status"] == "failed" and progress.status == "failed"
    assert "ScriptContentInvalid" in json.dumps(body["errors"])
    billed = await ledger.failed_charges_usd(video_id, "script_generation", 1)
    assert billed > 0 and len(fakes.openai.requests) == 3
    assert progress.cost_usd == pytest.approx(billed, abs=1e-4)
    assert costs.by_stage == {"script_generation": pytest.approx(billed, abs=1e-4)}
    assert costs.by_service == {"failed_attempts": pytest.approx(billed, abs=1e-4)}
    assert body["cost_usd"] == pytest.approx(billed, abs=1e-4)  # what the status endpoint shows agrees
    listed = [c for c in body["costs"] if c["failed_attempt"]]  # type: ignore[union-attr,index]
    assert [(c["stage"], c["service"]) for c in listed] == [("script_generation", "openai")] * 3
    assert sum(c["amount_usd"] for c in listed) == pytest.approx(billed, abs=1e-4)
