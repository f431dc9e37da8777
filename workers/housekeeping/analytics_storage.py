"""`python -m workers.housekeeping.analytics_storage`: the analytics' storage before and after their retention
(events past YTEMPIRE_EVENTS_RETENTION_DAYS dropped by day, aggregates past YTEMPIRE_ROLLUPS_RETENTION_DAYS by
month), and how much smaller the aggregates are than the events of the same days. `--dry-run` only measures."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta

from core.settings import Settings
from ledger import Ledger, create_pool
from ledger.storage import analytics_storage


async def report(settings: Settings, *, dry_run: bool) -> list[str]:
    pool = await create_pool(settings.app_database, max_size=2)
    try:
        ledger = Ledger(pool, settings.key_ring)
        lines = ["before:", *(f"  {line}" for line in (await analytics_storage(pool)).lines())]
        if dry_run:
            return lines
        today = datetime.now(UTC).date()
        days = await ledger.drop_event_partitions_before(today - timedelta(days=settings.events_retention_days))
        months = await ledger.drop_rollup_partitions_before(today - timedelta(days=settings.rollups_retention_days))
        lines.append(f"retention: dropped {len(days)} days of events and {len(months)} months of aggregates")
        lines += ["after:", *(f"  {line}" for line in (await analytics_storage(pool)).lines())]
        return lines
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workers.housekeeping.analytics_storage",
        description="Print the events' and aggregates' storage before and after their retention, and the reduction "
        "the aggregates give (the Schedules apply the retention on their own too).",
    )
    parser.add_argument("--dry-run", action="store_true", help="measure only, drop nothing")
    args = parser.parse_args(argv)
    lines = asyncio.run(report(Settings(), dry_run=args.dry_run))
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
