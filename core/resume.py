"""What a whole-video retry can skip: the stages that succeeded before, whose outputs are still on disk."""

from __future__ import annotations

from pathlib import Path

from core.domain import StageResult
from core.records import CostRow
from core.stage_table import STAGES, STAGES_BY_NAME


def resume_plan(costs: list[CostRow], failed_stage: str | None) -> dict[str, StageResult]:
    """The leading run of succeeded stages (latest attempt of each) that a new attempt can reuse as they are."""
    latest: dict[str, CostRow] = {}
    for row in costs:
        if row.stage not in latest or row.video_attempt >= latest[row.stage].video_attempt:
            latest[row.stage] = row
    failed = STAGES_BY_NAME.get(failed_stage or "")
    stop_at = (failed.rerun_from or failed.name) if failed is not None else failed_stage
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
