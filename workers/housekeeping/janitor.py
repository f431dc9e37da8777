"""One janitor for a pipeline worker's housekeeping: each chore runs at start and then every interval; a chore that
fails is logged and tried again next round, and never stops the others."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from core.periodic import Periodic
from core.settings import Settings
from ledger import Ledger
from telemetry.worker_metrics import WorkerMetrics
from workers.housekeeping.artifact_retention import ArtifactRetention
from workers.housekeeping.audit_retention import AuditRetention
from workers.housekeeping.cache_pruning import CachePruning

log = logging.getLogger(__name__)


class Chore(Protocol):
    @property
    def description(self) -> str: ...

    async def run(self) -> object: ...


class Janitor:
    def __init__(self, chores: Sequence[Chore], *, interval_seconds: float) -> None:
        self.chores = list(chores)
        self.interval_seconds = interval_seconds
        self._periodic = Periodic("worker-janitor", interval_seconds, self.run_once)

    @classmethod
    def for_worker(cls, settings: Settings, ledger: Ledger, metrics: WorkerMetrics) -> Janitor:
        """A pipeline worker's chores: it writes the provider cache, and it finalizes videos (so knows when their
        working files may go)."""
        chores: list[Chore] = [AuditRetention(ledger)]
        if settings.cache_enabled:
            chores.append(
                CachePruning.for_settings(
                    settings, on_report=lambda r: metrics.record_cache_prune(r.bytes_by_kind, r.removed_entries)
                )
            )
        if settings.artifact_retention_days > 0:
            chores.append(
                ArtifactRetention(
                    ledger,
                    settings.artifacts_dir,
                    retention_days=settings.artifact_retention_days,
                    on_removed=metrics.artifacts_removed.inc,
                )
            )
        return cls(chores, interval_seconds=settings.cache_prune_interval_seconds)

    async def run_once(self) -> None:
        for chore in self.chores:
            try:
                await chore.run()
            except Exception:
                log.warning("housekeeping failed (%s); will try again", chore.description, exc_info=True)

    def start(self) -> None:
        for chore in self.chores:
            log.info("%s, checked every %g s", chore.description, self.interval_seconds)
        if self.chores:
            self._periodic.start()

    async def aclose(self) -> None:
        await self._periodic.aclose()
