"""Real videos: API → dev server → workers → ffmpeg and Piper (espeak-ng for Spanish) → MP4 and ledger rows."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from prometheus_client import generate_latest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from core.stage_table import STAGES
from ledger import Ledger
from telemetry.worker_metrics import WorkerMetrics
from tests.integration.conftest import api_client, running_workers


def ffprobe(path: str) -> dict[str, object]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", path],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)  # type: ignore[no-any-return]


async def wait_final(client: httpx.AsyncClient, video_id: str, timeout: float = 240) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    seen_progress: list[float] = []
    while time.monotonic() < deadline:
        body = (await client.get(f"/pipeline/status/{video_id}")).json()
        seen_progress.append(body["progress"])
        if body["status"] in ("completed", "failed", "cancelled"):
            body["seen_progress"] = seen_progress
            return body  # type: ignore[no-any-return]
        await asyncio.sleep(0.3)
    raise AssertionError(f"video {video_id} not final after {timeout} s: {body}")


async def test_a_real_video_is_made_validated_and_ledgered(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    metrics = WorkerMetrics()
    async with running_workers(dev_env, settings, ledger, metrics=metrics), api_client(settings) as api:
        response = await api.post(
            "/pipeline/queue",
            json={
                "topic": "octopus hearts",
                "channel_id": str(uuid.uuid4()),
                "user_id": str(uuid.uuid4()),
                "priority": 7,
                "complexity": "simple",
                "duration_seconds": 30,
            },
        )
        assert response.status_code == 201, response.text
        queued = response.json()
        assert set(queued) >= {"video_id", "position", "eta"} and queued["eta"] > 0
        body = await wait_final(api, queued["video_id"])

    assert body["status"] == "completed", body
    exported = generate_latest(metrics.registry).decode()
    assert f'ytempire_render_schedule_to_start_seconds_count{{queue="{settings.task_queue_cpu}"}} 1.0' in exported
    assert 'ytempire_stage_seconds_count{stage="video_rendering"} 1.0' in exported
    assert body["progress"] == 100.0
    seen = body["seen_progress"]
    assert seen == sorted(seen), "progress must never go backwards"
    outputs = body["outputs"]
    assert outputs["mp4_path"] == f"outbox/{queued['video_id']}/video.mp4"  # relative to the data dir
    facts = ffprobe(str(settings.data_dir / outputs["mp4_path"]))
    video = next(s for s in facts["streams"] if s["codec_type"] == "video")  # type: ignore[union-attr,index]
    audio = next(s for s in facts["streams"] if s["codec_type"] == "audio")  # type: ignore[union-attr,index]
    assert (video["width"], video["height"], video["codec_name"]) == (1080, 1920, "h264")
    assert audio["codec_name"] == "aac" and audio["sample_rate"] == "48000"
    timeline = json.loads((settings.artifacts_dir / queued["video_id"] / "timeline.json").read_text())
    assert abs(float(facts["format"]["duration"]) - timeline["duration"]) < 0.5  # type: ignore[index]
    metadata = json.loads((settings.data_dir / outputs["metadata_path"]).read_text())
    assert metadata["youtube"]["snippet"]["title"]
    assert (settings.data_dir / outputs["thumbnail_path"]).read_bytes()[:2] == b"\xff\xd8"  # JPEG

    row = await ledger.get_video(queued["video_id"])
    assert row is not None and row.status == "completed" and row.processing_time_seconds is not None
    costs = await ledger.stage_costs(queued["video_id"])
    assert sorted(c.stage for c in costs) == sorted(s.name for s in STAGES)
    assert [c["stage"] for c in body["costs"]] == [c.stage for c in costs]
    [speech] = [c for c in costs if c.stage == "audio_synthesis"]
    assert (speech.service, speech.operation) == ("tts_local", "piper")  # the natural voice, offline, by default

    # Its events: each stage started and finished once, with its duration and cost, then the video completed.
    stored = await ledger.stored_events(since=datetime.now(UTC) - timedelta(hours=1), video_id=UUID(queued["video_id"]))
    events = [s.event for s in stored]
    finished = {e.stage: e for e in events if e.kind == "stage_finished"}
    assert sorted(finished) == sorted(s.name for s in STAGES)
    assert sorted(e.stage or "" for e in events if e.kind == "stage_started") == sorted(s.name for s in STAGES)
    assert all(e.duration_seconds is not None and e.cost_usd is not None for e in finished.values())
    assert sum(e.cost_usd or 0 for e in finished.values()) == pytest.approx(sum(c.amount_usd for c in costs))
    assert events[-1].kind == "video_completed"

    history = await dev_env.client.get_workflow_handle(f"video-{queued['video_id']}").fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled == [s.activity for s in STAGES] + ["finalize_video"]

    # Search attributes are kept current, so the UI and `temporal workflow list --query` can filter videos.
    query = f'WorkflowId = "video-{queued["video_id"]}" AND VideoStatus = "completed" AND Priority = 7'
    for _ in range(50):
        if [wf async for wf in dev_env.client.list_workflows(query)]:
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError(f"no workflow matches {query}")


async def test_api_validates_requests_and_ids(dev_env: WorkflowEnvironment, settings: Settings) -> None:
    good = {"topic": "octopus hearts", "channel_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4())}
    async with api_client(settings) as api:
        for patch, field in (
            ({"priority": 11}, "priority"),
            ({"priority": 0}, "priority"),
            ({"complexity": "ultra"}, "complexity"),
            ({"topic": None}, "topic"),
            ({"channel_id": "not-a-uuid"}, "channel_id"),
            ({"language": "english"}, "language"),
        ):
            body = {**good, **patch}
            if body["topic"] is None:
                del body["topic"]
            response = await api.post("/pipeline/queue", json=body)
            assert response.status_code == 422, (patch, response.text)
            assert any(err["loc"][-1] == field for err in response.json()["detail"]), response.text
        japanese = await api.post("/pipeline/queue", json={**good, "language": "ja"})
        assert japanese.status_code == 422  # no Japanese templates offline: say which setting to change
        [refused] = japanese.json()["detail"]  # FastAPI's shape, as the OpenAPI document says
        assert refused["loc"] == ["body", "language"] and "YTEMPIRE_SCRIPT_PROVIDER=openai" in refused["msg"]
        missing = await api.get(f"/pipeline/status/{uuid.uuid4()}")
        assert missing.status_code == 404
        malformed = await api.get("/pipeline/status/not-a-uuid")
        assert malformed.status_code == 422


async def test_a_spanish_video_is_made_offline(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    """The template writer's Spanish, espeak-ng's Spanish voice (no Piper voice speaks it), accented captions, QA and
    YouTube metadata."""
    async with running_workers(dev_env, settings, ledger), api_client(settings) as api:
        response = await api.post(
            "/pipeline/queue",
            json={
                "topic": "corazones de pulpo",
                "channel_id": str(uuid.uuid4()),
                "user_id": str(uuid.uuid4()),
                "duration_seconds": 30,
                "language": "es",
            },
        )
        assert response.status_code == 201, response.text
        video_id = response.json()["video_id"]
        body = await wait_final(api, video_id)
    assert body["status"] == "completed", body
    [speech] = [c for c in await ledger.stage_costs(video_id) if c.stage == "audio_synthesis"]
    assert speech.operation == "espeak_ng"  # no Piper voice speaks Spanish here
    script = json.loads((settings.artifacts_dir / video_id / "script.json").read_text())
    assert script["title"] == "Corazones de pulpo: preguntas que vale la pena hacerse"
    captions = (settings.artifacts_dir / video_id / "captions.ass").read_text()
    assert "pulpo" in captions and any(ch in captions for ch in "áéíóúñ")
    metadata = json.loads((settings.data_dir / body["outputs"]["metadata_path"]).read_text())  # type: ignore[index]
    assert metadata["youtube"]["snippet"]["defaultLanguage"] == "es"
    assert metadata["youtube"]["snippet"]["title"] == script["title"]


def make_clip(path: Path) -> None:
    """3 s of 16:9 test pattern at 24 fps: it must be fitted to 1080x1920 and looped to fill its slot."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=24:duration=3",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip


async def test_a_channels_own_clip_is_in_its_video(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger, tmp_path: Path
) -> None:
    """The channel's folder in the media library holds a video clip: it is collected, rendered (fitted, looped,
    silent) and the video passes QA."""
    channel = str(uuid.uuid4())
    own = tmp_path / "library" / "channels" / channel
    own.mkdir(parents=True)
    make_clip(own / "b-roll.mp4")
    with_library = settings.model_copy(update={"media_library_dir": tmp_path / "library"})
    async with running_workers(dev_env, with_library, ledger), api_client(with_library) as api:
        response = await api.post(
            "/pipeline/queue",
            json={
                "topic": "octopus hearts",
                "channel_id": channel,
                "user_id": str(uuid.uuid4()),
                "duration_seconds": 30,
            },
        )
        assert response.status_code == 201, response.text
        video_id = response.json()["video_id"]
        body = await wait_final(api, video_id)
    assert body["status"] == "completed", body
    media = json.loads((settings.artifacts_dir / video_id / "media" / "media.json").read_text())
    clips = [item for item in media["items"] if item["path"].endswith(".mp4")]
    assert len(clips) == 1 and clips[0]["source"] == "library" and clips[0]["origin"].endswith("b-roll.mp4")
    facts = ffprobe(str(settings.data_dir / body["outputs"]["mp4_path"]))  # type: ignore[index]
    assert [s["codec_type"] for s in facts["streams"]] == ["video", "audio"]  # type: ignore[union-attr,index]
