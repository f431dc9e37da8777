"""GET /pipeline/videos/{id}/files/{name} through the real app: a finished video's MP4 in whole and by byte range
(a player seeking), its thumbnail and metadata; nothing for a video not finished, another channel's key or a name
outside the outbox's three."""

from __future__ import annotations

import uuid

from temporalio.testing import WorkflowEnvironment

from api.auth import API_KEY_HEADER
from api.credentials import new_api_key
from core.outbox import METADATA_FILE, THUMBNAIL_FILE, VIDEO_FILE, outbox_file
from core.principals import Role
from core.settings import Settings
from ledger import Ledger
from tests.admission import admitted_video, finished_video
from tests.integration import conftest as integration
from tests.integration.conftest import api_client

settings = integration.settings


async def test_a_finished_videos_files_by_range_and_only_to_those_who_see_it(
    settings: Settings, dev_env: WorkflowEnvironment, ledger: Ledger
) -> None:
    done = await finished_video(ledger, "served files")
    waiting = await admitted_video(ledger, "not yet")
    await ledger.finalize(waiting.video_id, "cancelled")
    mp4 = bytes(range(256)) * 40  # 10,240 bytes standing in for the MP4
    for name, content in ((VIDEO_FILE, mp4), (THUMBNAIL_FILE, b"\xff\xd8jpeg"), (METADATA_FILE, b'{"youtube": {}}')):
        path = outbox_file(settings.outbox_dir, done.video_id, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    stranger = new_api_key()
    await ledger.create_key(stranger.id, f"files-{stranger.id}", stranger.sha256, Role.VIEWER, channels=[uuid.uuid4()])
    files = f"/pipeline/videos/{done.video_id}/files"

    async with api_client(settings) as http:
        whole = await http.get(f"{files}/video.mp4")
        part = await http.get(f"{files}/video.mp4", headers={"Range": "bytes=1000-1999"})
        tail = await http.get(f"{files}/video.mp4", headers={"Range": "bytes=-100"})
        beyond = await http.get(f"{files}/video.mp4", headers={"Range": "bytes=20000-"})
        thumbnail = await http.get(f"{files}/thumbnail.jpg")
        metadata = await http.get(f"{files}/metadata.json")
        not_finished = await http.get(f"/pipeline/videos/{waiting.video_id}/files/video.mp4")
        other_name = await http.get(f"{files}/request.json")
        others = await http.get(f"{files}/video.mp4", headers={API_KEY_HEADER: stranger.value})
        status = await http.get(f"/pipeline/status/{done.video_id}")

    assert (whole.status_code, whole.headers["content-type"], whole.content) == (200, "video/mp4", mp4)
    assert whole.headers["accept-ranges"] == "bytes"
    assert (part.status_code, part.content, part.headers["content-range"]) == (
        206,
        mp4[1000:2000],
        "bytes 1000-1999/10240",
    )
    assert (tail.status_code, tail.content) == (206, mp4[-100:])
    assert beyond.status_code == 416
    assert (thumbnail.headers["content-type"], thumbnail.content) == ("image/jpeg", b"\xff\xd8jpeg")
    assert metadata.json() == {"youtube": {}}
    assert not_finished.status_code == 404 and "cancelled" in not_finished.json()["detail"]
    assert other_name.status_code == 422
    assert others.status_code == 404
    assert status.json()["topic"] == "served files"
