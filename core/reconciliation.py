"""What the reconciler does about one video whose ledger row and Temporal disagree: the rule, without the I/O.

The ledger row is written first (admission, a whole-video retry), the workflow started second, and the workflow's
last act is to finalize the row. A crash between two of those steps, or a workflow terminated from the CLI or the UI,
leaves the two disagreeing; the reconciler (workflows/reconciliation.py, on a Temporal Schedule) repairs each case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.domain import FINAL_STATUSES, VideoStatus

ExecutionStatus = Literal["running", "completed", "failed", "cancelled", "terminated", "timed_out", "continued"]
RepairKind = Literal["started", "finalized", "terminated"]
# A run started before runs carried their whole-video attempt in the memo belongs to the row's current attempt.
ATTEMPT_MEMO_KEY = "video_attempt"


@dataclass(frozen=True)
class LatestRun:
    """What Temporal says about `video-<id>`'s latest run; `error_type`/`error_message` say how a closed one ended."""

    status: ExecutionStatus
    video_attempt: int
    error_type: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class Repair:
    kind: RepairKind
    reason: str
    final_status: VideoStatus | None = None  # for "finalized"
    error_type: str | None = None
    error_message: str | None = None


def repair_for(row_status: str, row_attempts: int, run: LatestRun | None) -> Repair | None:
    """The repair a video needs, or None when its row and its workflow agree."""
    if row_status in FINAL_STATUSES:
        return None
    if run is None:
        return Repair("started", f"the ledger has the video {row_status} but Temporal has no workflow for it")
    if run.status == "running":
        return None
    if run.video_attempt < row_attempts:
        return Repair(
            "started",
            f"attempt {row_attempts} was recorded but never started (the latest run, attempt {run.video_attempt}, "
            f"is {run.status})",
        )
    if run.status == "continued":
        return None  # the next run is the latest: a later round sees it
    final: VideoStatus
    if run.status == "completed":
        final = "completed"
    elif run.status == "cancelled":
        final = "cancelled"
    else:
        final = "failed"
    return Repair(
        "finalized",
        f"the workflow {run.status} without finalizing the video (it was {row_status})",
        final_status=final,
        error_type=run.error_type if final == "failed" else None,
        error_message=run.error_message if final == "failed" else None,
    )
