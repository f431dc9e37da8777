"""The stage table and the small pure helpers around it."""

from __future__ import annotations

from datetime import timedelta

from core.domain import TaskQueues
from core.estimates import DEFAULT_STAGE_SECONDS, depth_alerts, eta_seconds
from core.stage_table import INFRASTRUCTURE_ATTEMPTS, STAGES, percent_done, retry_policy


def test_table_matches_the_spec() -> None:
    assert [(s.name, s.timeout, s.max_attempts) for s in STAGES] == [
        ("script_generation", timedelta(seconds=60), 3),
        ("audio_synthesis", timedelta(seconds=120), 3),
        ("media_collection", timedelta(seconds=180), 4),
        ("video_rendering", timedelta(seconds=300), 2),
        ("quality_validation", timedelta(seconds=30), 2),
        ("upload_preparation", timedelta(seconds=120), 3),
    ]
    assert [s.base_cost_usd for s in STAGES] == [0.40, 0.20, 0.10, 0.30, 0.05, 0.10]


def test_retry_policy_is_exponential_and_capped() -> None:
    policy = retry_policy(STAGES[2])
    # The spec's 4 attempts of media_collection, and the budget for infrastructure faults on top (only the stage's
    # own errors spend the spec's: tests/activities/test_stage_attempts.py).
    assert policy.maximum_attempts == 4 + INFRASTRUCTURE_ATTEMPTS
    assert retry_policy(STAGES[2], infrastructure_budget=False).maximum_attempts == 4
    assert (policy.initial_interval, policy.backoff_coefficient, policy.maximum_interval) == (
        timedelta(seconds=1),
        2.0,
        timedelta(seconds=300),
    )
    assert "QualityCheckFailed" in policy.non_retryable_error_types


def test_percent_done_is_weighted_and_bounded() -> None:
    assert percent_done([], None) == 0.0
    assert percent_done([s.name for s in STAGES], None) == 100.0
    before = percent_done(["script_generation", "audio_synthesis", "media_collection"], "video_rendering", 0.0)
    halfway = percent_done(["script_generation", "audio_synthesis", "media_collection"], "video_rendering", 0.5)
    assert before < halfway < percent_done([s.name for s in STAGES[:4]], "quality_validation")
    assert percent_done([], "video_rendering", 7.0) == percent_done([], "video_rendering", 1.0)


def test_render_routing() -> None:
    queues = TaskQueues(pipeline="p", cpu="c", gpu="g")
    assert [queues.render_queue(c) for c in ("simple", "complex", "premium")] == ["c", "g", "g"]


def test_eta_uses_measured_durations_and_free_slots() -> None:
    medians = {name: 1.0 for name in DEFAULT_STAGE_SECONDS} | {"video_rendering": 20.0}
    whole = 5 + 20  # five 1 s stages and the render
    assert eta_seconds(ahead=0, rendering=0, slots=4, medians=medians, completed=[]) == whole
    # three renders busy, a fourth slot free: no wait
    assert eta_seconds(ahead=0, rendering=3, slots=4, medians=medians, completed=[]) == whole
    # all four busy: one render duration; 4 more ahead: a second round
    assert eta_seconds(ahead=0, rendering=4, slots=4, medians=medians, completed=[]) == whole + 20
    assert eta_seconds(ahead=4, rendering=4, slots=4, medians=medians, completed=[]) == whole + 40
    # half-way through its own render, with the earlier stages done
    done = ["script_generation", "audio_synthesis", "media_collection"]
    assert (
        eta_seconds(
            ahead=0,
            rendering=0,
            slots=4,
            medians=medians,
            completed=done,
            current="video_rendering",
            current_fraction=0.5,
        )
        == 10 + 2
    )
    # without measurements, the defaults stand in
    assert eta_seconds(ahead=0, rendering=0, slots=4, medians={}, completed=[]) == round(
        sum(DEFAULT_STAGE_SECONDS.values())
    )


def test_depth_alerts_fire_once_per_upward_crossing() -> None:
    assert depth_alerts(79, 80, warning=80, critical=95) == [("warning", 80)]
    assert depth_alerts(80, 81, warning=80, critical=95) == []
    assert depth_alerts(94, 95, warning=80, critical=95) == [("critical", 95)]
    assert depth_alerts(70, 99, warning=80, critical=95) == [("warning", 80), ("critical", 95)]
    assert depth_alerts(96, 94, warning=80, critical=95) == []
