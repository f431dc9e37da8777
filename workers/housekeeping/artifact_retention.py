"""Removes the working files of videos that finished long enough ago; the outbox (the deliverables) is never touched.

A video's directory under the artifacts dir holds its script, narration WAV, media and render (tens of MB at 1080p);
at hundreds of videos a day they fill the disk. Once a video is `completed` (its MP4, metadata and thumbnail are in
the outbox) or `cancelled`, nothing reads them again, so after `YTEMPIRE_ARTIFACT_RETENTION_DAYS` they go. Failed
videos keep theirs: a whole-video retry resumes from them. Directories the ledger does not know are left alone.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engines.files import remove_tree
from ledger import Ledger

REMOVABLE_STATUSES = ("completed", "cancelled")
BATCH = 1000  # video ids per ledger query
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionReport:
    examined: int
    removed: list[str]


def _video_dirs(root: Path) -> list[str]:
    """Names of the per-video directories (UUIDs) directly under `root`."""
    if not root.is_dir():
        return []
    names = []
    for entry in root.iterdir():
        try:
            uuid.UUID(entry.name)
        except ValueError:
            continue
        if entry.is_dir():
            names.append(entry.name)
    return sorted(names)


async def remove_old_artifacts(ledger: Ledger, root: Path, *, retention_seconds: float) -> RetentionReport:
    """Remove the directories of videos completed or cancelled more than `retention_seconds` ago."""
    names = await asyncio.to_thread(_video_dirs, root)
    removed: list[str] = []
    for start in range(0, len(names), BATCH):
        expired = await ledger.finished_before(names[start : start + BATCH], REMOVABLE_STATUSES, retention_seconds)
        for video_id in expired:
            if await asyncio.to_thread(remove_tree, root / video_id):
                removed.append(video_id)
    return RetentionReport(len(names), removed)


class ArtifactRetention:
    """The janitor's chore that applies the retention (workers/housekeeping/janitor.py runs it now and then)."""

    def __init__(
        self, ledger: Ledger, root: Path, *, retention_days: float, on_removed: Callable[[int], None] | None = None
    ) -> None:
        self.ledger = ledger
        self.root = root
        self.retention_days = retention_days
        self._on_removed = on_removed

    @property
    def description(self) -> str:
        return (
            f"working files of videos completed or cancelled more than {self.retention_days:g} days ago "
            f"are removed from {self.root}"
        )

    async def run(self) -> RetentionReport:
        report = await remove_old_artifacts(self.ledger, self.root, retention_seconds=self.retention_days * 86400)
        if report.removed:
            log.info(
                "removed the working files of %d finished videos older than %g days (%d video directories looked at)",
                len(report.removed),
                self.retention_days,
                report.examined,
            )
        if self._on_removed is not None:
            self._on_removed(len(report.removed))
        return report
