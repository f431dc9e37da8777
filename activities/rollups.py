"""The hourly and daily rollups, run by RollupWorkflow from its two Schedules: each run replaces the buckets of
its window, from the bucket its Schedule meant it for back over the late data's reach (a few hours; the days YouTube
still revises) or back to where the last run ended, whichever is earlier. The daily run also drops the aggregates
past their retention, whole months at a time."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio import activity

from core import activity_names
from core.settings import Settings
from ledger import Ledger
from ledger.rollups import Granularity, bucket_start

UNIT = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
LATE_HOURS = 3  # events and readings arrive this late at most, in the normal run of things
FIRST_RUN_SPAN = {"hour": timedelta(days=2), "day": timedelta(days=90)}
MAX_SPAN = {"hour": timedelta(days=31), "day": timedelta(days=400)}  # a run's window, however long the stack was down


@dataclass(frozen=True)
class RollupInput:
    granularity: str  # hour | day
    scheduled_for: str  # ISO time


@dataclass(frozen=True)
class RollupSummary:
    granularity: str
    window_start: str
    window_end: str
    rows_written: int
    seconds: float
    months_dropped: list[str]


def rollup_window(
    granularity: Granularity, scheduled_for: datetime, last_end: datetime | None, settle_days: int
) -> tuple[datetime, datetime]:
    """[start, end): through the bucket of `scheduled_for` (partial: the next run redoes it), back over the late
    data's reach, or to the last run's final bucket when that is earlier (a missed run is made up)."""
    unit = UNIT[granularity]
    end = bucket_start(scheduled_for, granularity) + unit
    reach = timedelta(hours=LATE_HOURS) if granularity == "hour" else timedelta(days=settle_days + 1)
    start = bucket_start(end - unit - reach, granularity)
    if last_end is None:
        start = min(start, end - FIRST_RUN_SPAN[granularity])
    elif last_end - unit < start:
        start = bucket_start(last_end - unit, granularity)
    return max(start, end - MAX_SPAN[granularity]), end


class RollupActivities:
    def __init__(self, settings: Settings, ledger: Ledger) -> None:
        self._settings = settings
        self._ledger = ledger

    @activity.defn(name=activity_names.ROLL_UP)
    async def roll_up(self, inp: RollupInput) -> RollupSummary:
        granularity: Granularity = "day" if inp.granularity == "day" else "hour"
        scheduled_for = datetime.fromisoformat(inp.scheduled_for)
        start, end = rollup_window(
            granularity,
            scheduled_for,
            await self._ledger.last_rollup_end(granularity),
            self._settings.youtube_reports_settle_days,
        )
        rolling = asyncio.ensure_future(self._ledger.roll_up(granularity, start, end))
        try:
            while not rolling.done():  # one transaction: heartbeats say the worker is alive while it runs
                activity.heartbeat()
                await asyncio.wait({rolling}, timeout=10)
        finally:
            rolling.cancel()  # cancelled: the transaction rolls back
        run = rolling.result()
        dropped = []
        if granularity == "day":
            keep_from = datetime.now(UTC).date() - timedelta(days=self._settings.rollups_retention_days)
            dropped = await self._ledger.drop_rollup_partitions_before(keep_from)
        activity.logger.info(
            "%s rollups %s..%s: %d rows in %.2f s", granularity, start.isoformat(), end.isoformat(), run.rows_written,
            run.seconds,
        )  # fmt: skip
        return RollupSummary(
            granularity, start.isoformat(), end.isoformat(), run.rows_written, run.seconds,
            [month.isoformat() for month in dropped],
        )  # fmt: skip
