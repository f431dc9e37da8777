"""The events table's days: the next week's partitions made ahead, and the days past the retention dropped whole
(sql/016_events.sql). Run by EventPartitionsWorkflow from its Schedule; safe to run any number of times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio import activity

from core import activity_names
from ledger import Ledger

DAYS_AHEAD = 7


@dataclass(frozen=True)
class PartitionReport:
    created: int  # partitions made now
    dropped: list[str]  # the days dropped now, ISO dates
    kept_from: str  # the oldest day the retention keeps, an ISO date


class EventPartitionActivities:
    def __init__(self, ledger: Ledger, retention_days: int) -> None:
        self._ledger = ledger
        self._retention_days = retention_days

    @activity.defn(name=activity_names.MAINTAIN_EVENT_PARTITIONS)
    async def maintain_event_partitions(self) -> PartitionReport:
        today = datetime.now(UTC).date()
        created = await self._ledger.ensure_event_partitions(
            today - timedelta(days=1), today + timedelta(days=DAYS_AHEAD)
        )
        activity.heartbeat()
        kept_from = today - timedelta(days=self._retention_days)
        dropped = await self._ledger.drop_event_partitions_before(kept_from)
        if created or dropped:
            activity.logger.info("events: %d partitions made ahead, %d past days dropped", created, len(dropped))
        return PartitionReport(created, [day.isoformat() for day in dropped], kept_from.isoformat())
