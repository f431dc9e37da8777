"""Working files of videos completed or cancelled long enough ago are removed; failed, recent and unknown ones stay."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg

from core.domain import VideoRequest
from ledger import Ledger
from tests.admission import admit
from workers.housekeeping.artifact_retention import ArtifactRetention, RetentionReport, remove_old_artifacts

DAY = 86400.0


async def finished_video(ledger: Ledger, pg_pool: asyncpg.Pool, root: Path, status: str, days_ago: float) -> Path:
    """A ledger video with `status`, finished `days_ago`, and a directory of working files."""
    request = VideoRequest(str(uuid.uuid4()), "octopus hearts", str(uuid.uuid4()), str(uuid.uuid4()))
    await admit(ledger, request, {"topic": request.topic})
    if status != "processing":
        await ledger.finalize(request.video_id, status)
        await pg_pool.execute(
            "UPDATE video_queue SET completed_at = NOW() - make_interval(secs => $2) WHERE id = $1",
            request.video_id,
            days_ago * DAY,
        )
    directory = root / request.video_id
    (directory / "media").mkdir(parents=True)
    (directory / "voice.wav").write_bytes(b"RIFF" + b"\0" * 1000)
    (directory / "media" / "00_title.png").write_bytes(b"\x89PNG")
    return directory


async def test_only_old_completed_and_cancelled_videos_lose_their_working_files(
    ledger: Ledger, pg_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    root = tmp_path / "videos"
    old_completed = await finished_video(ledger, pg_pool, root, "completed", days_ago=10)
    old_cancelled = await finished_video(ledger, pg_pool, root, "cancelled", days_ago=8)
    recent = await finished_video(ledger, pg_pool, root, "completed", days_ago=1)
    old_failed = await finished_video(ledger, pg_pool, root, "failed", days_ago=30)  # a retry resumes from these
    running = await finished_video(ledger, pg_pool, root, "processing", days_ago=0)
    unknown = root / str(uuid.uuid4())  # not in this ledger: not ours to judge
    unknown.mkdir()
    (root / "notes").mkdir()

    report = await remove_old_artifacts(ledger, root, retention_seconds=7 * DAY)

    assert report.examined == 6  # the five videos and the unknown id; "notes" is not a video directory
    assert sorted(report.removed) == sorted([old_completed.name, old_cancelled.name])
    assert not old_completed.exists() and not old_cancelled.exists()
    assert all(d.is_dir() for d in (recent, old_failed, running, unknown, root / "notes"))
    assert not [p for p in root.iterdir() if p.name.startswith(".removing")]
    again = await remove_old_artifacts(ledger, root, retention_seconds=7 * DAY)
    assert again.removed == []


async def test_the_janitor_reports_removals_and_survives_a_missing_root(
    ledger: Ledger, pg_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    root = tmp_path / "videos"
    await finished_video(ledger, pg_pool, root, "completed", days_ago=3)
    counted: list[int] = []
    retention = ArtifactRetention(ledger, root, retention_days=2, on_removed=counted.append)
    report = await retention.run()
    assert report is not None and len(report.removed) == 1 and counted == [1]
    gone = ArtifactRetention(ledger, tmp_path / "never-created", retention_days=2)
    assert (await gone.run()) == RetentionReport(examined=0, removed=[])
