"""bench/events: sustained event ingestion into the events table and how soon an event can be read back.

Writers (the API's and the workers' sinks do the same) hand events to one EventSink in batches of --batch for
--seconds; meanwhile a probe writes one event every 50 ms and polls for it, timing write-to-visible. PostgreSQL runs
with fsync on, as `make up` runs it. The last line is `events/s N` (the spec asks 10K/s).

.venv/bin/python bench/events.py [--seconds 10] [--writers 8] [--batch 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import percentile, run_in_scratch_dir, scratch_ledger  # noqa: E402
from core.events import Event  # noqa: E402
from ledger import Ledger  # noqa: E402
from ledger.event_sink import EventSink  # noqa: E402

STAGES = ("script_generation", "audio_synthesis", "media_collection", "video_rendering", "quality_validation")


def pipeline_event(n: int, channel: uuid.UUID) -> Event:
    """What a worker writes when a stage ends: ids, a stage, a service, a duration, a cost, a few details."""
    return Event(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        kind="stage_finished",
        source="pipeline",
        video_id=uuid.uuid4(),
        channel_id=channel,
        stage=STAGES[n % len(STAGES)],
        service="compute",
        duration_seconds=1.5 + n % 7,
        cost_usd=0.0025,
        details={"attempt": 1, "worker": "bench"},
    )


async def bench(args: argparse.Namespace, root: Path) -> None:
    async with scratch_ledger(root, max_size=args.writers + 4) as ledger:
        await run(args, ledger)


async def run(args: argparse.Namespace, ledger: Ledger) -> None:
    channels = [uuid.uuid4() for _ in range(10)]
    written = 0
    latencies: list[float] = []
    deadline = time.monotonic() + args.seconds

    async with EventSink(ledger, max_batch=args.max_batch) as sink:

        async def writer(w: int) -> None:
            nonlocal written
            n = 0
            while time.monotonic() < deadline:
                await sink.write([pipeline_event(n + i, channels[w % len(channels)]) for i in range(args.batch)])
                n += args.batch
                written += args.batch

        async def probe() -> None:
            while time.monotonic() < deadline:
                e = pipeline_event(0, channels[0])
                started = time.monotonic()
                write = asyncio.create_task(sink.write([e]))
                while not await ledger.pool.fetchval(  # noqa: ASYNC110 - polls what another connection commits
                    "SELECT EXISTS (SELECT 1 FROM events WHERE event_id = $1)", e.event_id
                ):
                    await asyncio.sleep(0.002)
                latencies.append(time.monotonic() - started)
                await write
                await asyncio.sleep(0.05)

        started = time.monotonic()
        await asyncio.gather(*(writer(w) for w in range(args.writers)), probe())
        elapsed = time.monotonic() - started

    stored = await ledger.pool.fetchval("SELECT count(*) FROM events")
    size = await ledger.pool.fetchval(
        "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'events'::regclass"
    )
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; PostgreSQL with fsync on")
    print(f"writers {args.writers} x batches of {args.batch} for {elapsed:.1f} s: {written} events, {stored} stored")
    print(f"storage: {size / max(stored, 1):.0f} bytes per event (table and indexes)")
    print(
        f"write-to-visible over {len(latencies)} probes: p50 {percentile(latencies, 50) * 1000:.1f} ms, "
        f"p95 {percentile(latencies, 95) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )
    print(f"events/s {written / elapsed:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--batch", type=int, default=500, help="events per write (one API request's, one sink call's)")
    parser.add_argument("--max-batch", type=int, default=10_000, help="the sink's largest COPY")
    args = parser.parse_args()
    run_in_scratch_dir(bench, args, "ytempire-events-")


if __name__ == "__main__":
    main()
