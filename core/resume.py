"""What a whole-video retry can skip: the stages that succeeded before, whose outputs are still on disk."""

from __future__ import annotations

from pathlib import Path

from core.domain import StageResult
from core.records import CostRow
from core.stage_table import RENDER_STAGE, STAGES

# A rejected render is rejected again by the same checks: retrying QA means rendering again.
RERUN_BEFORE = {"quality_validation": RENDER_STAGE}


def resume_plan(costs: list[CostRow], failed_stage: str | None) -> dict[str, StageResult]:
    """The leading run of succeeded stages (latest attempt of each) that a new attempt can reuse as they are."""
    latest: dict[str, CostRow] = {}
    for row in costs:
        if row.stage not in latest or row.video_attempt >= latest[row.stage].video_attempt:
            latest[row.stage] = row
    stop_at = RERUN_BEFORE.get(failed_stage or "", failed_stage)
    plan: dict[str, StageResult] = {}
    for spec in STAGES:
        found = latest.get(spec.name)
        if spec.name == stop_at or found is None:
            break
        artifacts = found.metadata.get("artifacts")
        if not isinstance(artifacts, dict) or not all(Path(p).exists() for p in artifacts.values()):
            break
        plan[spec.name] = StageResult(
            stage=spec.name,
            artifacts={str(k): str(v) for k, v in artifacts.items()},
            cost_usd=found.amount_usd,
            details={**found.metadata.get("details", {}), "resumed_from_attempt": float(found.video_attempt)},
        )
    return plan
