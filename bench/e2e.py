"""bench/e2e: one video end to end on a throw-away stack; prints per-stage wall times and render speed.

.venv/bin/python bench/e2e.py [--complexity simple|complex|premium] [--duration 60] [--orientation portrait]
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench.harness import make_videos, run_in_scratch_dir  # noqa: E402
from core.domain import VideoRequest  # noqa: E402
from core.stage_table import STAGES  # noqa: E402


async def bench(args: argparse.Namespace, root: Path) -> None:
    request = VideoRequest(
        video_id=str(uuid.uuid4()),
        topic=args.topic,
        channel_id=str(uuid.uuid4()),
        user_id=str(uuid.uuid4()),
        complexity=args.complexity,
        duration_seconds=args.duration,
        orientation=args.orientation,
    )
    _, [video] = await make_videos(root, "b", [request])
    result, total = video.result, video.seconds

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
