"""What every stage's provider code gets from its worker: settings, the result cache, the worker's metrics, the
ledger (for provider quotas shared by every worker, e.g. YouTube's daily units) and the worker's Piper slots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from core import cost_policy
from core.records import CostLine
from core.settings import Settings
from engines.speech.piper import PiperSlots
from providers.cache import ContentCache
from telemetry.worker_metrics import WorkerMetrics


class QuotaStore(Protocol):
    """Where quota use is counted for every worker: the ledger's `provider_quota` table (ledger/quota.py)."""

    async def reserve_quota(self, service: str, day: date, units: int, limit: int) -> bool: ...

    async def quota_used(self, service: str, day: date) -> int: ...


@dataclass(frozen=True)
class ProviderContext:
    settings: Settings
    cache: ContentCache
    metrics: WorkerMetrics
    ledger: QuotaStore | None = None
    piper_slots: PiperSlots | None = None  # shared by every synthesis of the worker; None: no limit

    @classmethod
    def for_worker(
        cls, settings: Settings, metrics: WorkerMetrics, ledger: QuotaStore | None = None
    ) -> ProviderContext:
        cache = ContentCache(
            settings.provider_cache_dir, enabled=settings.cache_enabled, on_lookup=metrics.record_cache_lookup
        )
        return cls(settings, cache, metrics, ledger, PiperSlots(settings.piper_max_concurrent))

    def overhead(self, service: str, operation: str, **metadata: object) -> CostLine:
        """The flat per-stage charge of work that pays no API fee (local providers, cache hits)."""
        return cost_policy.overhead(self.settings, service, operation, **metadata)
