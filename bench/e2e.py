"""bench/e2e: one video end to end on a throw-away stack; prints per-stage wall times and render speed.

.venv/bin/python bench/e2e.py [--complexity simple|complex|premium] [--duration 60] [--orientation portrait]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench.harness import run_in_scratch_dir, stack_settings, start_stack, stop_stack  # noqa: E402
from core.domain import VideoRequest, VideoResult  # noqa: E402
from core.stage_table import STAGES  # noqa: E402
from ledger import Ledger, create_pool  # noqa: E402
from ledger.migrations import migrate  # noqa: E402
from tests.admission import admit  # noqa: E402
from workers.hosting import build_workers, running  # noqa: E402
from workflows.client import start_video  # noqa: E402


async def bench(args: argparse.Namespace, root: Path) -> None:
    pg, env = await start_stack(root)
    try:
        settings = stack_settings(root, pg, env, "b")
        pool = await create_pool(settings.app_database)
        await migrate(settings.owner_database, pool)
        ledger = Ledger(pool, settings.key_ring)
        request = VideoRequest(
            video_id=str(uuid.uuid4()),
            topic=args.topic,
            channel_id=str(uuid.uuid4()),
            user_id=str(uuid.uuid4()),
            complexity=args.complexity,
            duration_seconds=args.duration,
            orientation=args.orientation,
        )
        await admit(ledger, request, {})
        async with running(build_workers(env.client, settings, ledger, ("pipeline", "cpu", "gpu"))):
            started = time.monotonic()
            result: VideoResult = await (await start_video(env.client, settings, request)).result()
            total = time.monotonic() - started
        await pool.close()
    finally:
        await stop_stack(pg, env)

    print(f"video: {args.complexity}, {args.orientation}, target {args.duration} s, topic {args.topic!r}")
    print(f"{'stage':<22}{'wall s':>9}")
    for spec in STAGES:
        print(f"{spec.name:<22}{float(result.stage_details[spec.name]['seconds']):>9.2f}")
    render = result.stage_details["video_rendering"]
    print(f"{'end to end':<22}{total:>9.2f}")
    print(
        f"render: {render['video_seconds']} s of video in {render['render_seconds']} s with {render['encoder']}"
        f" -> realtime factor {render['realtime_factor']}x ({os.cpu_count()} CPUs)"
    )
    print(f"cost: ${result.cost_usd:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", default="octopus hearts")
    parser.add_argument("--complexity", default="simple", choices=["simple", "complex", "premium"])
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--orientation", default="portrait", choices=["portrait", "landscape"])
    args = parser.parse_args()
    run_in_scratch_dir(bench, args, "ytempire-bench-")


if __name__ == "__main__":
    main()
