"""Both promises at scale: `python bench/faults.py [--faults 200] [--videos 8] [--seed 1]` (`make test-faults`).

A fresh stack of processes (PostgreSQL, the Temporal dev server, the API, a pipeline, a cpu and a gpu worker) makes
videos (scripts and speech from fakes of OpenAI and ElevenLabs, through the real clients; every other video meets
one that bills and fails or overruns) while SIGKILLs (each process kind, and right after ledger writes), PostgreSQL
outages of 30 s, ffmpeg crashes and a full disk strike at random moments as stages run; whatever dies is restarted
as `make up` would. Prints the faults by kind and by stage hit, then the
videos and how many were lost, double-charged or over their cap (all must be 0; the exit status says so).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devstack.fault_injection import FAULT_KINDS, FaultPlan, FaultReport, run_faults  # noqa: E402
from tests.fakes.paid_apis import PaidApis  # noqa: E402


async def run(plan: FaultPlan, root: Path) -> FaultReport:
    """Ctrl-C or SIGTERM cancels the run, so the stack it started is stopped and its tmpfs unmounted."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with PaidApis() as providers:
        return await run_faults(plan, root, providers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faults", type=int, default=200)
    parser.add_argument("--videos", type=int, default=8, help="videos in flight at a time")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kinds", default=",".join(FAULT_KINDS), help="comma list of " + ", ".join(FAULT_KINDS))
    args = parser.parse_args()
    plan = FaultPlan(
        videos=args.videos,
        faults=args.faults,
        seed=args.seed,
        kinds=tuple(k.strip() for k in args.kinds.split(",") if k.strip()),
        refill=True,
        poison_stage="quality_validation",  # one more video that crashes its worker in QA every time
        deadline_seconds=args.faults * 30.0 + 600,
    )
    root = Path(tempfile.mkdtemp(prefix="ytempire-faults-"))
    try:
        report = asyncio.run(run(plan, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(report.summary())
    print(f"lost {len(report.lost)}  double-charged {len(report.double_charged)}  over-cap {len(report.over_cap)}")
    for promise, cases in report.broken_promises.items():
        print(f"BROKEN {promise}: {cases}")
    return 1 if report.broken_promises else 0


if __name__ == "__main__":
    raise SystemExit(main())
