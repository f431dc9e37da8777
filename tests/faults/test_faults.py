"""The bounded fault suite: videos in flight while every kind of fault strikes at random moments as stages run
(`make test-faults` and bench/faults.py run it at scale), scripts and speech from paid APIs' fakes (some videos
meet one that bills and fails, or overruns). Both promises are counted at the end: every video completed exactly
once, no double charge, the providers' bills equal to the ledger's, nothing over its cap, one MP4 each, no partial
file, no orphan ffmpeg."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from devstack.fault_injection import FAULT_KINDS, POISONED_INPUT, PROVIDER_FAULT_KINDS, FaultPlan, run_faults
from tests.fakes.paid_apis import PaidApis


@pytest.mark.timeout(1500)
async def test_every_kind_of_fault_while_videos_run() -> None:
    root = Path(tempfile.mkdtemp(prefix="ytempire-faults-"))
    try:
        # More videos until every kind has struck; one more video crashes its worker in QA every time.
        plan = FaultPlan(
            videos=4,
            faults=len(FAULT_KINDS),
            seed=11,
            refill=True,
            poison_stage="quality_validation",
            deadline_seconds=1200,
        )
        with PaidApis() as providers:
            report = await run_faults(plan, root, providers)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(report.summary())
    for promise, cases in report.broken_promises.items():
        print(f"BROKEN {promise}: {cases}")
    assert set(report.injected) == {*FAULT_KINDS, *PROVIDER_FAULT_KINDS, POISONED_INPUT}, report.summary()
    assert report.broken_promises == {}, report.summary()
    assert report.poisoned == 1
    assert report.completed == report.videos - 1 >= plan.videos
