"""A pipeline worker process (`python -m workers`) keeps house at start: it prunes the provider cache and removes
the working files of videos finished longer ago than the retention, and exports both."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from ledger import Ledger
from providers.cache import ContentCache, cache_key
from tests.conftest import database_env, free_port
from tests.integration import conftest as integration
from tests.workers.test_artifact_retention import finished_video

settings = integration.settings  # the real-stack Settings fixture: tmp data dir, the dev server, fresh task queues

REPO = Path(__file__).resolve().parents[2]
EXPECTED = [("ytempire_provider_cache_evicted_entries_total", 2.0), ("ytempire_artifacts_removed_videos_total", 1.0)]


def entry_used(cache_root: Path, name: str, size: int, days_ago: float) -> Path:
    source = cache_root.parent / f"{name}.bin"
    source.write_bytes(b"m" * size)
    key = cache_key("media", "pexels", "", name)
    ContentCache(cache_root).store("media", key, {"clip.mp4": source})
    entry = cache_root / "media" / key[:2] / key
    stamp = time.time() - days_ago * 86400
    os.utime(entry, (stamp, stamp))
    return entry


def start_pipeline_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "workers", "--queues", "pipeline"], cwd=REPO, env=env, stdout=out, stderr=out
        )


async def test_pipeline_worker_prunes_the_cache_and_old_working_files(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger, pg_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    videos = settings.data_dir / "videos"
    old = await finished_video(ledger, pg_pool, videos, "completed", days_ago=9)
    recent = await finished_video(ledger, pg_pool, videos, "completed", days_ago=2)
    cache_root = settings.data_dir / "cache"
    cache_root.mkdir(parents=True)
    stale = entry_used(cache_root, "stale", 5000, days_ago=45)
    oldest_fresh = entry_used(cache_root, "a-week-old", 3000, days_ago=7)
    newest = entry_used(cache_root, "yesterday", 2000, days_ago=1)
    port = free_port()
    env = dict(
        os.environ,
        **database_env(settings),
        YTEMPIRE_TEMPORAL_ADDRESS=settings.temporal_address,
        YTEMPIRE_TASK_QUEUE_PIPELINE=settings.task_queue_pipeline,
        YTEMPIRE_DATA_DIR=str(settings.data_dir),
        YTEMPIRE_WORKER_METRICS_PORT=str(port),
        YTEMPIRE_WORKER_SDK_METRICS_PORT="0",
        YTEMPIRE_CACHE_MAX_AGE_DAYS="30",
        YTEMPIRE_CACHE_MAX_GB="0.000004",  # 4000 bytes: the week-old entry must go too
        YTEMPIRE_ARTIFACT_RETENTION_DAYS="7",
        YTEMPIRE_RECONCILE_INTERVAL_SECONDS="0",  # the tests share one database (see test_reconciliation.py)
    )
    log = tmp_path / "worker.log"
    worker = start_pipeline_worker(env, log)
    try:
        text = ""
        async with httpx.AsyncClient() as http:
            for _ in range(300):
                try:
                    text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                except httpx.TransportError:
                    text = ""
                if all(f"{name} {value}" in text for name, value in EXPECTED):
                    break
                await asyncio.sleep(0.1)
        for name, value in EXPECTED:
            assert f"{name} {value}" in text, log.read_text()[-3000:]
        assert not old.exists() and recent.is_dir()
        assert 'ytempire_provider_cache_bytes{kind="media"} 2000.0' in text
        assert not stale.exists() and not oldest_fresh.exists() and newest.is_dir()
        assert "entries unused for 30 days removed, checked every 3600 s" in log.read_text()
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    assert "removed 2 entries" in log.read_text()
