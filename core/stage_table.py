"""The stage table, defined once: the workflow loops over it; the workers, API, ledger, docs and tests read it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from temporalio.common import RetryPolicy

from core import activity_names
from core.errors import NON_RETRYABLE_ERRORS


@dataclass(frozen=True)
class StageSpec:
    """Every fact about one stage; the workflow, the workers, the API's status and ETA, and the README read it."""

    name: str
    activity: str  # the activity's name (core/activity_names.py)
    timeout: timedelta  # start_to_close of one attempt
    max_attempts: int  # 1 + the spec's retries
    base_cost_usd: float  # the spec's budget for this stage (the README shows it; estimates are per provider)
    queue: Literal["pipeline", "render"]  # render: the cpu or gpu queue, by the video's complexity
    weight: float  # share of a typical video's wall time, for progress percentages
    default_seconds: float  # ETA basis until the ledger has measured runs (2-core reference machine, 60 s video)
    estimate: Literal["provider", "render_seconds", "overhead"]  # how its upper-bound cost estimate is made
    label: str
    # Resume rule: a whole-video retry after this stage failed reruns from that stage (a render that QA rejected
    # is rejected again by the same checks). None: from this stage itself.
    rerun_from: str | None = None


STAGES: tuple[StageSpec, ...] = (
    StageSpec(
        name="script_generation",
        activity=activity_names.GENERATE_SCRIPT,
        timeout=timedelta(seconds=60),
        max_attempts=3,
        base_cost_usd=0.40,
        queue="pipeline",
        weight=0.05,
        default_seconds=1.0,
        estimate="provider",
        label="writing script",
    ),
    StageSpec(
        name="audio_synthesis",
        activity=activity_names.SYNTHESIZE_AUDIO,
        timeout=timedelta(seconds=120),
        max_attempts=3,
        base_cost_usd=0.20,
        queue="pipeline",
        weight=0.05,
        default_seconds=6.0,  # Piper: bench/local_stages_bench.py
        estimate="provider",
        label="synthesizing speech",
    ),
    StageSpec(
        name="media_collection",
        activity=activity_names.COLLECT_MEDIA,
        timeout=timedelta(seconds=180),
        max_attempts=4,
        base_cost_usd=0.10,
        queue="pipeline",
        weight=0.10,
        default_seconds=1.0,
        estimate="provider",
        label="collecting media",
    ),
    StageSpec(
        name="video_rendering",
        activity=activity_names.RENDER_VIDEO,
        timeout=timedelta(seconds=300),
        max_attempts=2,
        base_cost_usd=0.30,
        queue="render",
        weight=0.60,
        default_seconds=30.0,
        estimate="render_seconds",
        label="rendering",
    ),
    StageSpec(
        name="quality_validation",
        activity=activity_names.VALIDATE_QUALITY,
        timeout=timedelta(seconds=30),
        max_attempts=2,
        base_cost_usd=0.05,
        queue="pipeline",
        weight=0.15,
        default_seconds=2.0,
        estimate="overhead",
        label="validating quality",
        rerun_from="video_rendering",
    ),
    StageSpec(
        name="upload_preparation",
        activity=activity_names.PREPARE_UPLOAD,
        timeout=timedelta(seconds=120),
        max_attempts=3,
        base_cost_usd=0.10,
        queue="pipeline",
        weight=0.05,
        default_seconds=1.0,
        estimate="provider",
        label="preparing upload",
    ),
)

STAGES_BY_NAME = {spec.name: spec for spec in STAGES}
RENDER_STAGE = next(spec.name for spec in STAGES if spec.queue == "render")
# A video waits (counts against the queue's capacity, has a position) until its render starts: the cheap
# preparation stages run ahead while it waits for one of the render slots.
PRE_RENDER_STAGES = tuple(spec.name for spec in STAGES[: STAGES.index(STAGES_BY_NAME[RENDER_STAGE])])
# The render activity reports its progress to the video's workflow by this signal (a name: activities never import
# a workflow).
RENDER_PROGRESS_SIGNAL = "render_progress"


# Attempts a stage gets on top of its own (the spec's) for faults of the machine under it. A worker lost (killed,
# OOM, a deploy past its grace) raises nothing: Temporal notices a missed heartbeat or the start-to-close timeout and
# retries from this budget, while the stage's own failures, each recorded in the ledger by the attempt that raised it,
# spend the spec's (activities/stage_runner.py makes the error of the last own attempt final). Bounded, so an input
# that crashes its worker every time ends as a StageTimeout instead of looping.
INFRASTRUCTURE_ATTEMPTS = 4


def retry_policy(spec: StageSpec, *, infrastructure_budget: bool = True) -> RetryPolicy:
    """Exponential backoff (x2 from 1 s, capped at the spec's 300 s max_delay), over the spec's attempts and, unless
    `infrastructure_budget` is off (workflows started before it existed), INFRASTRUCTURE_ATTEMPTS more."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=300),
        maximum_attempts=spec.max_attempts + (INFRASTRUCTURE_ATTEMPTS if infrastructure_budget else 0),
        non_retryable_error_types=list(NON_RETRYABLE_ERRORS),
    )


def percent_done(completed: list[str], current: str | None, current_fraction: float = 0.0) -> float:
    """Progress 0..100 weighted by typical stage durations."""
    done = sum(STAGES_BY_NAME[name].weight for name in completed)
    if current in STAGES_BY_NAME:
        done += STAGES_BY_NAME[current].weight * min(max(current_fraction, 0.0), 1.0)
    total = sum(spec.weight for spec in STAGES)
    return round(100.0 * done / total, 1)
