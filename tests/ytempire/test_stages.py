"""The stage table and the small pure helpers around it."""

from __future__ import annotations

from datetime import timedelta

from ytempire.domain import TaskQueues
from ytempire.estimates import DEFAULT_VIDEO_SECONDS, eta_seconds
from ytempire.stages import STAGES, percent_done, retry_policy


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
    assert policy.maximum_attempts == 4
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


def test_eta_uses_measured_durations_and_slots() -> None:
    assert eta_seconds(1, [], slots=7) == DEFAULT_VIDEO_SECONDS
    assert eta_seconds(1, [40, 60, 50], slots=7) == 50
    assert eta_seconds(8, [50], slots=7) == 100  # one full round of 7 ahead, then its own run
    assert eta_seconds(0, [50], slots=7, progress_percent=50) == 25
