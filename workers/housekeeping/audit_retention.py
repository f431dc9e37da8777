"""The audit log keeps a year: older entries are removed (the table's trigger refuses any younger one)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ledger import Ledger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditRetention:
    ledger: Ledger

    @property
    def description(self) -> str:
        return "audit entries older than a year are removed"

    async def run(self) -> int:
        removed = await self.ledger.forget_audit_entries_past_retention()
        if removed:
            log.info("removed %d audit entries older than a year", removed)
        return removed
