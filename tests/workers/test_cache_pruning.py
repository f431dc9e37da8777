"""The cache pruner: least recently used first, an age limit, a grace period for entries in use, leftovers swept."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from providers.cache import ContentCache, cache_key
from telemetry.worker_metrics import WorkerMetrics
from workers.housekeeping.cache_pruning import CachePruning, PruneReport, prune_cache, scan
from workers.housekeeping.janitor import Janitor

DAY = 86400.0
NOW = time.time()  # entries are dated relative to the real clock: the janitor prunes by it


def put(cache: ContentCache, root: Path, kind: str, name: str, size: int, used_days_ago: float) -> str:
    """Store an entry of `size` bytes and date its last use `used_days_ago` before NOW."""
    key = cache_key(kind, "test", "", name)
    source = root.parent / f"{name}.bin"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(b"x" * size)
    cache.store(kind, key, {"payload.bin": source})
    entry = root / kind / key[:2] / key
    stamp = NOW - used_days_ago * DAY
    os.utime(entry, (stamp, stamp))
    return key


def present(root: Path, kind: str, key: str) -> bool:
    return (root / kind / key[:2] / key / "payload.bin").is_file()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def test_least_recently_used_go_first_until_the_cache_fits(root: Path) -> None:
    cache = ContentCache(root)
    oldest = put(cache, root, "media", "oldest", 4000, used_days_ago=5)
    older = put(cache, root, "media", "older", 3000, used_days_ago=4)
    recent = put(cache, root, "speech", "recent", 2000, used_days_ago=1)
    newest = put(cache, root, "script", "newest", 1000, used_days_ago=0.5)

    report = prune_cache(root, max_bytes=4000, max_age_seconds=0, now=NOW)

    assert (report.entries_before, report.bytes_before) == (4, 10000)
    assert (report.removed_entries, report.removed_bytes, report.bytes_after) == (2, 7000, 3000)
    assert report.bytes_by_kind == {"script": 1000, "speech": 2000, "media": 0}
    assert not present(root, "media", oldest) and not present(root, "media", older)
    assert present(root, "speech", recent) and present(root, "script", newest)
    assert "removed 2 entries" in report.summary()


def test_entries_unused_too_long_go_even_when_the_cache_is_small(root: Path) -> None:
    cache = ContentCache(root)
    stale = put(cache, root, "script", "stale", 10, used_days_ago=31)
    fresh = put(cache, root, "script", "fresh", 10, used_days_ago=29)
    report = prune_cache(root, max_bytes=0, max_age_seconds=30 * DAY, now=NOW)
    assert report.removed_entries == 1
    assert not present(root, "script", stale) and present(root, "script", fresh)


def test_a_hit_makes_an_entry_recently_used(root: Path) -> None:
    cache = ContentCache(root)
    first = put(cache, root, "media", "first", 1000, used_days_ago=3)
    second = put(cache, root, "media", "second", 1000, used_days_ago=2)
    assert cache.lookup("media", first) is not None  # now the most recently used
    prune_cache(root, max_bytes=1500, max_age_seconds=0, grace_seconds=0, now=time.time() + 3600)
    assert present(root, "media", first) and not present(root, "media", second)


def test_entries_in_use_are_never_removed_even_over_the_limit(root: Path) -> None:
    cache = ContentCache(root)
    in_use = put(cache, root, "media", "in-use", 5000, used_days_ago=60 / DAY)  # a minute ago
    report = prune_cache(root, max_bytes=1000, max_age_seconds=DAY, grace_seconds=900, now=NOW)
    assert report.removed_entries == 0 and present(root, "media", in_use)


def test_dry_run_reports_and_removes_nothing(root: Path) -> None:
    cache = ContentCache(root)
    keys = [put(cache, root, "media", f"m{i}", 1000, used_days_ago=10 - i) for i in range(3)]
    report = prune_cache(root, max_bytes=1000, max_age_seconds=0, now=NOW, dry_run=True)
    assert (report.removed_entries, report.removed_bytes) == (2, 2000)
    assert all(present(root, "media", key) for key in keys)


def test_leftovers_of_a_crashed_writer_or_pruner_are_swept(root: Path) -> None:
    cache = ContentCache(root)
    key = put(cache, root, "speech", "kept", 10, used_days_ago=1)
    shard = root / "speech" / key[:2]
    staging, removing, young = shard / ".abc.tmpdir", shard / f".removing.{key}.123", shard / ".young.tmpdir"
    for leftover in (staging, removing, young):
        leftover.mkdir()
        (leftover / "part").write_bytes(b"y" * 100)
    for leftover in (staging, removing):
        os.utime(leftover, (NOW - 2 * DAY, NOW - 2 * DAY))
    os.utime(young, (NOW - 60, NOW - 60))  # a writer may still be filling it
    report = prune_cache(root, max_bytes=0, max_age_seconds=0, now=NOW)
    assert report.removed_entries == 0 and present(root, "speech", key)
    assert not staging.exists() and not removing.exists() and young.exists()
    assert [e.path.name for e in scan(root)] == [key]  # dot directories are never counted as entries


def test_two_pruners_at_once_remove_each_entry_once(root: Path) -> None:
    cache = ContentCache(root)
    for i in range(40):
        put(cache, root, "media", f"m{i}", 100, used_days_ago=40 - i / 10)
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda _: prune_cache(root, max_bytes=0, max_age_seconds=30 * DAY, now=NOW), (1, 2)))
    assert sum(r.removed_entries for r in reports) == 40
    assert scan(root) == [] and not any(p.name.startswith(".") for p in root.rglob("*"))


async def test_the_janitor_prunes_at_start_and_reports_to_the_metrics(root: Path) -> None:
    cache = ContentCache(root)
    stale = put(cache, root, "media", "stale", 700, used_days_ago=3)
    kept = put(cache, root, "script", "kept", 300, used_days_ago=-1)  # "used" in the future: never stale
    metrics = WorkerMetrics()
    reports: list[PruneReport] = []

    def on_report(report: PruneReport) -> None:
        reports.append(report)
        metrics.record_cache_prune(report.bytes_by_kind, report.removed_entries)

    pruning = CachePruning(root, max_bytes=0, max_age_seconds=DAY, on_report=on_report)
    janitor = Janitor([pruning], interval_seconds=0.05)
    janitor.start()
    try:
        for _ in range(100):
            if len(reports) >= 2:
                break
            await asyncio.sleep(0.02)
    finally:
        await janitor.aclose()
    assert [r.removed_entries for r in reports[:2]] == [1, 0]
    assert not present(root, "media", stale) and present(root, "script", kept)
    sample = metrics.registry.get_sample_value
    assert sample("ytempire_provider_cache_bytes", {"kind": "media"}) == 0
    assert sample("ytempire_provider_cache_bytes", {"kind": "script"}) == 300
    assert sample("ytempire_provider_cache_evicted_entries_total") == 1


def test_the_command_line_reads_the_settings_and_dry_runs(tmp_path: Path) -> None:
    root = tmp_path / "data" / "cache"
    cache = ContentCache(root)
    key = put(cache, root, "media", "old", 2_000_000, used_days_ago=90)
    env = {**os.environ, "YTEMPIRE_DATA_DIR": str(tmp_path / "data"), "YTEMPIRE_CACHE_MAX_AGE_DAYS": "30"}
    command = [sys.executable, "-m", "workers.housekeeping.cache_pruning"]
    dry = subprocess.run([*command, "--dry-run"], env=env, capture_output=True, text=True, check=True, timeout=60)
    assert dry.stdout.startswith("dry run: cache: 1 entries, 2.0 MB; removed 1 entries (2.0 MB)")
    assert present(root, "media", key)
    real = subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=60)
    assert "removed 1 entries (2.0 MB); 0.0 MB left" in real.stdout
    assert not present(root, "media", key)
