"""The stage table, defined once: the workflow loops over it; docs, tests and progress read it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from temporalio.common import RetryPolicy

# Error types that retrying cannot fix; activities raise ApplicationError with one of these types.
NON_RETRYABLE_ERRORS = ("InvalidRequest", "QualityCheckFailed", "CostLimitExceeded", "ConfigurationError")


@dataclass(frozen=True)
class StageSpec:
    name: str
    activity: str
    timeout: timedelta
    max_attempts: int  # 1 + the spec's retries
    base_cost_usd: float  # the spec's budget for this stage
    queue: Literal["pipeline", "render"]
    weight: float  # share of a typical video's wall time, for progress percentages
    label: str


STAGES: tuple[StageSpec, ...] = (
    StageSpec(
        "script_generation",
        "generate_script",
        timedelta(seconds=60),
        3,
        0.40,
        "pipeline",
        0.05,
        "writing script",
    ),
    StageSpec(
        "audio_synthesis",
        "synthesize_audio",
        timedelta(seconds=120),
        3,
        0.20,
        "pipeline",
        0.05,
        "synthesizing speech",
    ),
    StageSpec(
        "media_collection",
        "collect_media",
        timedelta(seconds=180),
        4,
        0.10,
        "pipeline",
        0.10,
        "collecting media",
    ),
    StageSpec("video_rendering", "render_video", timedelta(seconds=300), 2, 0.30, "render", 0.60, "rendering"),
    StageSpec(
        "quality_validation",
        "validate_quality",
        timedelta(seconds=30),
        2,
        0.05,
        "pipeline",
        0.15,
        "validating quality",
    ),
    StageSpec(
        "upload_preparation",
        "prepare_upload",
        timedelta(seconds=120),
        3,
        0.10,
        "pipeline",
        0.05,
        "preparing upload",
    ),
)

STAGES_BY_NAME = {spec.name: spec for spec in STAGES}
RENDER_STAGE = "video_rendering"
# The render activity reports its progress to the video's workflow by this signal (a name: activities never import
# a workflow).
RENDER_PROGRESS_SIGNAL = "render_progress"


def retry_policy(spec: StageSpec) -> RetryPolicy:
    """Exponential backoff (x2 from 1 s, capped at the spec's 300 s max_delay)."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=300),
        maximum_attempts=spec.max_attempts,
        non_retryable_error_types=list(NON_RETRYABLE_ERRORS),
    )


def percent_done(completed: list[str], current: str | None, current_fraction: float = 0.0) -> float:
    """Progress 0..100 weighted by typical stage durations."""
    done = sum(STAGES_BY_NAME[name].weight for name in completed)
    if current in STAGES_BY_NAME:
        done += STAGES_BY_NAME[current].weight * min(max(current_fraction, 0.0), 1.0)
    total = sum(spec.weight for spec in STAGES)
    return round(100.0 * done / total, 1)
