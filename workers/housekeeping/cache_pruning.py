"""Keeps the provider cache within its size and age limits: least recently used entries go first.

Media downloads dominate the cache (tens of MB per video); at hundreds of videos a day an unbounded cache fills
the disk. A hit refreshes the entry's mtime (ContentCache.lookup), so "least recently used" is "oldest mtime".
Entries used within `grace_seconds` are never removed: a stage that just looked one up is still copying from it.
Removal renames the entry aside first, so a concurrent reader sees either the whole entry or a miss, and two
processes pruning at once never trip over each other.

    report = prune_cache(settings.provider_cache_dir, max_bytes=20 * 2**30, max_age_seconds=30 * 86400)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings
from engines.files import remove_tree

KINDS = ("script", "speech", "media")
LEFTOVER_SECONDS = 86400.0
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CacheEntry:
    path: Path
    kind: str
    size_bytes: int
    last_used: float


@dataclass(frozen=True)
class PruneReport:
    entries_before: int
    bytes_before: int
    removed_entries: int
    removed_bytes: int
    bytes_by_kind: dict[str, int]  # what is left, per kind

    @property
    def bytes_after(self) -> int:
        return self.bytes_before - self.removed_bytes

    def summary(self) -> str:
        return (
            f"cache: {self.entries_before} entries, {_mb(self.bytes_before)} MB; removed {self.removed_entries} "
            f"entries ({_mb(self.removed_bytes)} MB); {_mb(self.bytes_after)} MB left"
        )


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f}"


def scan(root: Path) -> list[CacheEntry]:
    """Every published entry (`<root>/<kind>/<xx>/<key>/`); staging and removal leftovers (dot names) are not."""
    entries: list[CacheEntry] = []
    for kind_dir in sorted(p for p in root.glob("*") if p.is_dir() and not p.name.startswith(".")):
        for entry in kind_dir.glob("*/*"):
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            try:
                size = sum(f.stat().st_size for f in entry.iterdir() if f.is_file())
                last_used = entry.stat().st_mtime
            except FileNotFoundError:  # removed by another process while we looked
                continue
            entries.append(CacheEntry(entry, kind_dir.name, size, last_used))
    return entries


def prune_cache(
    root: Path,
    *,
    max_bytes: int,
    max_age_seconds: float,
    grace_seconds: float = 900.0,
    now: float | None = None,
    dry_run: bool = False,
) -> PruneReport:
    """Remove entries unused for `max_age_seconds`, then the least recently used until the cache fits in
    `max_bytes` (0 or less: no size limit; an age of 0 or less: no age limit)."""
    now = time.time() if now is None else now
    if not dry_run:
        _sweep_leftovers(root, now, older_than_seconds=max(grace_seconds, LEFTOVER_SECONDS))
    entries = sorted(scan(root), key=lambda e: e.last_used)
    total = sum(e.size_bytes for e in entries)
    remaining = total
    removed: list[CacheEntry] = []
    for entry in entries:
        if now - entry.last_used < grace_seconds:
            break  # sorted oldest first: everything after this was used even more recently
        too_old = max_age_seconds > 0 and now - entry.last_used > max_age_seconds
        too_big = max_bytes > 0 and remaining > max_bytes
        if not (too_old or too_big):
            break
        if dry_run or remove_tree(entry.path):
            removed.append(entry)
            remaining -= entry.size_bytes
    gone = {e.path for e in removed}
    by_kind = {kind: 0 for kind in KINDS}
    for entry in entries:
        if entry.path not in gone:
            by_kind[entry.kind] = by_kind.get(entry.kind, 0) + entry.size_bytes
    return PruneReport(len(entries), total, len(removed), total - remaining, by_kind)


def _sweep_leftovers(root: Path, now: float, *, older_than_seconds: float) -> None:
    """Staging and removal directories left by a process that died mid-way (dot names beside the entries)."""
    for leftover in root.glob("*/*/.*"):
        try:
            if leftover.is_dir() and now - leftover.stat().st_mtime > older_than_seconds:
                shutil.rmtree(leftover, ignore_errors=True)
        except FileNotFoundError:
            continue


class CachePruning:
    """The janitor's chore that keeps the cache within its limits, in a thread (it walks the disk); reports the sizes
    left per kind and the removals to `on_report` (the worker's metrics)."""

    def __init__(
        self,
        root: Path,
        *,
        max_bytes: int,
        max_age_seconds: float,
        on_report: Callable[[PruneReport], None] | None = None,
    ) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.max_age_seconds = max_age_seconds
        self._on_report = on_report

    @classmethod
    def for_settings(cls, settings: Settings, on_report: Callable[[PruneReport], None] | None = None) -> CachePruning:
        return cls(
            settings.provider_cache_dir,
            max_bytes=int(settings.cache_max_gb * 1e9),
            max_age_seconds=settings.cache_max_age_days * 86400,
            on_report=on_report,
        )

    @property
    def description(self) -> str:
        limit = f"{self.max_bytes / 1e9:g} GB" if self.max_bytes > 0 else "no size limit"
        days = self.max_age_seconds / 86400
        return f"provider cache {self.root} kept under {limit}, entries unused for {days:g} days removed"

    async def run(self) -> PruneReport:
        report = await asyncio.to_thread(
            prune_cache, self.root, max_bytes=self.max_bytes, max_age_seconds=self.max_age_seconds
        )
        if report.removed_entries:
            log.info("%s", report.summary())
        if self._on_report is not None:
            self._on_report(report)
        return report


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    parser = argparse.ArgumentParser(
        prog="python -m workers.housekeeping.cache_pruning",
        description="Prune the provider cache now (workers also do it hourly).",
    )
    parser.add_argument("--max-gb", type=float, default=settings.cache_max_gb, help="size limit (0: none)")
    parser.add_argument("--max-age-days", type=float, default=settings.cache_max_age_days, help="age limit (0: none)")
    parser.add_argument("--dry-run", action="store_true", help="report what would go, remove nothing")
    args = parser.parse_args(argv)
    report = prune_cache(
        settings.provider_cache_dir,
        max_bytes=int(args.max_gb * 1e9),
        max_age_seconds=args.max_age_days * 86400,
        dry_run=args.dry_run,
    )
    sys.stdout.write(("dry run: " if args.dry_run else "") + report.summary() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
