"""The routes are thin: the services' domain errors come back as the HTTP answers api/errors.py maps them to,
through the real app (ASGI transport, its real PostgreSQL pool and Temporal client)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.body_limit import MAX_BODY_BYTES
from api.main import create_app
from core.settings import Settings
from devstack.temporal_server import SERVER_STARTUP_TIMEOUT, temporal_cli
from engines.speech.piper import bundled_voice, read_voice
from ledger import Ledger
from ledger.videos import HOLDS_CAPACITY
from tests.integration import conftest as integration
from tests.integration.conftest import admin_headers, api_client

settings = integration.settings  # the real-stack Settings fixture: tmp data dir, the dev server, fresh task queues


def video(**overrides: object) -> dict[str, object]:
    return {"topic": "octopus hearts", "channel_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), **overrides}


async def test_an_unknown_video_is_404_on_every_route(settings: Settings, dev_env: WorkflowEnvironment) -> None:
    missing = uuid.uuid4()
    async with api_client(settings) as http:
        answers = [
            await http.get(f"/pipeline/status/{missing}"),
            await http.post(f"/pipeline/cancel/{missing}"),
            await http.post(f"/pipeline/retry/{missing}"),
            await http.post(
                f"/pipeline/approve/{missing}", json={"new_cap_usd": 5, "approved_by": "ops", "reason": "test"}
            ),
        ]
    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert {a.json()["detail"] for a in answers} == {f"no video with id {missing}"}


async def test_what_this_deployment_refuses_is_422_with_where(settings: Settings, dev_env: WorkflowEnvironment) -> None:
    async with api_client(settings) as http:
        rich = await http.post("/pipeline/queue", json=video(cost_cap_usd=settings.cost_cap_max_usd + 1))
        cursor = await http.get("/pipeline/videos", params={"cursor": "not-a-cursor"})
        japanese = await http.post("/pipeline/queue", json=video(language="ja"))
        unknown_voice = await http.post("/pipeline/queue", json=video(voice="en_US-lessac-medium"))
        path_voice = await http.post("/pipeline/queue", json=video(voice="../../etc/voice"))
        no_library = await http.post("/pipeline/queue", json=video(music="calm"))
        path_music = await http.post("/pipeline/queue", json=video(music="../outside.mp3"))
    assert rich.status_code == 422 and rich.json()["detail"][0]["loc"] == ["body", "cost_cap_usd"]
    assert cursor.status_code == 422 and cursor.json()["detail"][0]["loc"] == ["query", "cursor"]
    assert japanese.status_code == 422 and japanese.json()["detail"][0]["loc"] == ["body", "language"]
    assert unknown_voice.status_code == 422 and unknown_voice.json()["detail"][0]["loc"] == ["body", "voice"]
    assert "YTEMPIRE_PIPER_VOICES_DIR" in unknown_voice.json()["detail"][0]["msg"]
    assert path_voice.status_code == 422 and path_voice.json()["detail"][0]["loc"] == ["body", "voice"]
    assert no_library.status_code == 422 and no_library.json()["detail"][0]["loc"] == ["body", "music"]
    assert "YTEMPIRE_MUSIC_DIR is unset" in no_library.json()["detail"][0]["msg"]
    assert path_music.status_code == 422 and path_music.json()["detail"][0]["loc"] == ["body", "music"]


async def test_a_named_piper_voice_is_admitted_and_kept_with_the_request(
    settings: Settings, dev_env: WorkflowEnvironment, pg_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    joe = read_voice(bundled_voice())
    voices = tmp_path / "voices"
    voices.mkdir()
    (voices / "en_US-joe-medium.onnx").symlink_to(joe.model)
    (voices / "en_US-joe-medium.onnx.json").symlink_to(joe.config)
    async with api_client(settings.model_copy(update={"piper_voices_dir": voices})) as http:
        admitted = await http.post("/pipeline/queue", json=video(voice="en_US-joe-medium", language="en-GB"))
        spanish = await http.post("/pipeline/queue", json=video(voice="en_US-joe-medium", language="es"))
    assert admitted.status_code == 201, admitted.text
    stored = await pg_pool.fetchval(
        "SELECT request_data FROM video_queue WHERE id = $1", uuid.UUID(admitted.json()["video_id"])
    )
    assert json.loads(stored)["voice"] == "en_US-joe-medium"
    assert spanish.status_code == 422 and spanish.json()["detail"][0]["loc"] == ["body", "voice"]
    assert "speaks en_US, not the video's language 'es'" in spanish.json()["detail"][0]["msg"]


async def test_music_by_mood_or_file_is_admitted_and_kept_and_what_the_library_lacks_is_422(
    settings: Settings, dev_env: WorkflowEnvironment, pg_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    (tmp_path / "music" / "calm").mkdir(parents=True)
    (tmp_path / "music" / "calm" / "piano.mp3").write_bytes(b"")  # admission reads the library's names, no audio
    async with api_client(settings.model_copy(update={"music_dir": tmp_path / "music"})) as http:
        by_mood = await http.post("/pipeline/queue", json=video(music="calm"))
        by_file = await http.post("/pipeline/queue", json=video(music="calm/piano.mp3"))
        silent = await http.post("/pipeline/queue", json=video(music="none"))
        no_mood = await http.post("/pipeline/queue", json=video(music="upbeat"))
        no_file = await http.post("/pipeline/queue", json=video(music="upbeat/run.mp3"))
    for admitted, music in ((by_mood, "calm"), (by_file, "calm/piano.mp3"), (silent, "none")):
        assert admitted.status_code == 201, admitted.text
        stored = await pg_pool.fetchval(
            "SELECT request_data FROM video_queue WHERE id = $1", uuid.UUID(admitted.json()["video_id"])
        )
        assert json.loads(stored)["music"] == music
    assert no_mood.status_code == 422 and no_mood.json()["detail"][0]["loc"] == ["body", "music"]
    assert "no track of the music library has the mood 'upbeat' (its moods: calm)" in no_mood.json()["detail"][0]["msg"]
    assert no_file.status_code == 422 and "'upbeat/run.mp3' is not a file" in no_file.json()["detail"][0]["msg"]


async def test_a_full_queue_is_429_with_retry_after_alone_and_in_a_batch(
    settings: Settings, dev_env: WorkflowEnvironment, pg_pool: asyncpg.Pool
) -> None:
    waiting = int(await pg_pool.fetchval(f"SELECT count(*) FROM video_queue WHERE {HOLDS_CAPACITY}"))
    full = settings.model_copy(update={"queue_capacity": max(waiting, 1)})
    async with api_client(full) as http:
        if waiting == 0:  # fill the one place first
            assert (await http.post("/pipeline/queue", json=video())).status_code == 201
        refused = await http.post("/pipeline/queue", json=video())
        batch = await http.post("/pipeline/queue/batch", json={"videos": [video()]})
    assert refused.status_code == 429 and refused.headers["Retry-After"] == str(settings.queue_retry_after_seconds)
    assert refused.json()["capacity"] == full.queue_capacity
    assert batch.status_code == 200 and batch.headers["Retry-After"] == str(settings.queue_retry_after_seconds)
    assert batch.json()["results"][0]["error"] == "queue_full"


async def test_text_postgresql_would_refuse_is_a_422(settings: Settings, dev_env: WorkflowEnvironment) -> None:
    async with api_client(settings) as http:
        nul = await http.post("/pipeline/queue", json=video(topic="octopus\x00hearts"))
        surrogate = await http.post(
            "/pipeline/queue",
            content=b'{"topic": "octopus \\ud800", "channel_id": "%s", "user_id": "%s"}'
            % (str(uuid.uuid4()).encode(), str(uuid.uuid4()).encode()),
            headers={"content-type": "application/json"},
        )
        approval = await http.post(
            f"/pipeline/approve/{uuid.uuid4()}", json={"new_cap_usd": 4, "approved_by": "ops\x00", "reason": "x"}
        )
    assert nul.status_code == 422 and nul.json()["detail"][0]["loc"] == ["body", "topic"]
    assert surrogate.status_code == 422 and surrogate.json()["detail"][0]["loc"] == ["body", "topic"]
    assert approval.status_code == 422 and approval.json()["detail"][0]["loc"] == ["body", "approved_by"]


async def test_bad_input_and_closed_executions_are_never_a_500(
    settings: Settings, dev_env: WorkflowEnvironment
) -> None:
    async with api_client(settings) as http:
        overflow = await http.get("/pipeline/videos", params={"cursor": f"9999-12-31T23:59:59-23:59|{uuid.uuid4()}"})
        queued = await http.post("/pipeline/queue", json=video())  # no worker polls: it stays queued
        video_id = queued.json()["video_id"]
        await dev_env.client.get_workflow_handle(f"video-{video_id}").terminate("an operator, from the CLI")
        cancel = await http.post(f"/pipeline/cancel/{video_id}")
        approve = await http.post(
            f"/pipeline/approve/{video_id}", json={"new_cap_usd": 4, "approved_by": "ops", "reason": "late"}
        )
        huge = b'{"videos": [' + b" " * (MAX_BODY_BYTES + 1) + b"]}"
        declared = await http.post("/pipeline/queue/batch", content=huge, headers={"content-type": "application/json"})

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(20):
                yield b" " * 65536

        streamed = await http.post(
            "/pipeline/queue/batch", content=chunks(), headers={"content-type": "application/json"}
        )
    assert overflow.status_code == 422 and overflow.json()["detail"][0]["loc"] == ["query", "cursor"]
    assert cancel.status_code == 409 and "closed in Temporal" in cancel.json()["detail"]
    assert approve.status_code == 409 and "closed in Temporal" in approve.json()["detail"]
    assert declared.status_code == 413 and streamed.status_code == 413


async def test_healthz_says_503_and_what_is_down(settings: Settings, dev_env: WorkflowEnvironment) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
            up = await http.get("/healthz")
            await app.state.pool.close()  # PostgreSQL gone, as far as the API can tell
            down = await http.get("/healthz")
            # Every other call needs the ledger (its credential, its rate count): a 503 to retry, not a 500.
            listed = await http.get("/pipeline/videos", headers=admin_headers(settings))
    assert up.status_code == 200 and up.json() == {"status": "ok", "postgres": "ok", "temporal": "ok"}
    assert down.status_code == 503 and down.json()["postgres"].startswith("unavailable")
    assert down.json()["temporal"] == "ok"
    assert listed.status_code == 503 and listed.headers["Retry-After"] == "5"
    assert listed.json()["error"] == "ledger_unavailable"
    assert "PostgreSQL" in listed.json()["detail"] and "pool" not in listed.text


async def processing_video(pg_pool: asyncpg.Pool) -> str:
    """A ledger row of a video that is being made (no workflow needed)."""
    video_id = str(uuid.uuid4())
    await pg_pool.execute(
        "INSERT INTO video_queue (id, user_id, channel_id, request_data, status, stage) "
        "VALUES ($1, $2, $3, '{}'::jsonb, 'processing', 'video_rendering')",
        video_id,
        str(uuid.uuid4()),
        str(uuid.uuid4()),
    )
    return video_id


async def test_with_temporal_gone_calls_answer_503_without_its_text(
    settings: Settings, pg_pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    temporal = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(), dev_server_startup_timeout=SERVER_STARTUP_TIMEOUT
    )
    address = temporal.client.service_client.config.target_host
    own = settings.model_copy(update={"temporal_address": address})
    video_id = await processing_video(pg_pool)
    app = create_app(own)
    async with app.router.lifespan_context(app):
        await temporal.shutdown()  # Temporal gone after the API connected
        transport = httpx.ASGITransport(app=app)
        signed_in = admin_headers(own)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test", headers=signed_in) as http:
            cancel = await http.post(f"/pipeline/cancel/{video_id}")
            approve = await http.post(
                f"/pipeline/approve/{video_id}", json={"new_cap_usd": 4, "approved_by": "ops", "reason": "more"}
            )
    for answer in (cancel, approve):
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "5", answer.text
        assert answer.json()["error"] == "temporal_unavailable" and "UNAVAILABLE" in answer.json()["detail"]
        assert "tcp connect error" not in answer.text and address not in answer.text
    assert "tcp connect error" in caplog.text  # the detail is in the log


async def test_an_unexpected_failure_is_a_500_that_names_its_type_and_nothing_more(
    settings: Settings, dev_env: WorkflowEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)
    secret_path = f"{settings.data_dir.resolve()}/videos/x/render.mp4"

    async def broken() -> None:
        raise KeyError(f"no stream in {secret_path}")

    app.add_api_route("/broken", broken)  # a bug anywhere behind a route, as the app's own handlers meet it
    async with app.router.lifespan_context(app):
        # The exception is raised again after the answer, for the server to log: here the client gets the answer.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
            answer = await http.get("/broken")
    assert answer.status_code == 500 and answer.json()["error"] == "internal_error"
    assert "KeyError" in answer.json()["detail"] and "operator" in answer.json()["detail"]
    assert "no stream" not in answer.text and str(settings.data_dir) not in answer.text
    assert secret_path in caplog.text


async def test_a_failed_videos_answers_show_no_server_path(
    settings: Settings, dev_env: WorkflowEnvironment, ledger: Ledger, pg_pool: asyncpg.Pool
) -> None:
    video_id, channel_id = str(uuid.uuid4()), str(uuid.uuid4())
    # A ledger row and no workflow: the status answer is the ledger's alone.
    await pg_pool.execute(
        "INSERT INTO video_queue (id, user_id, channel_id, request_data) VALUES ($1, $2, $3, '{}'::jsonb)",
        video_id,
        str(uuid.uuid4()),
        channel_id,
    )
    render = settings.artifacts_dir / video_id / "render.mp4"
    failed = "ffmpeg exited with code 1: Error opening output {}: Invalid argument | font '{}'"
    message = failed.format(render, "/usr/share/f/x.ttf")
    await ledger.set_status(video_id, "processing", "video_rendering")
    await ledger.stage_failed(video_id, "video_rendering", 1, "FFmpegError", message)
    await ledger.finalize(video_id, "failed", "FFmpegError", message)
    async with api_client(settings) as http:
        status = await http.get(f"/pipeline/status/{video_id}")
        listed = await http.get("/pipeline/videos", params={"channel_id": channel_id})
    assert status.status_code == 200 and listed.status_code == 200
    [summary] = listed.json()["videos"]
    shown = failed.format(f"videos/{video_id}/render.mp4", "x.ttf")
    assert status.json()["failure"]["message"] == summary["failure"]["message"] == shown
    assert [e["message"] for e in status.json()["errors"]] == [shown]
    for answer in (status.text, listed.text):
        assert str(settings.data_dir.resolve()) not in answer and "/usr/share" not in answer
