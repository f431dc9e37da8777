"""What each stage may cost a video: upper-bound estimates the workflow checks before it starts a stage."""

from __future__ import annotations

from collections.abc import Callable

from core import cost_policy
from core.domain import VideoBudget, VideoRequest
from core.settings import Settings
from core.stage_table import STAGES, StageSpec
from stages import media, scripts, speech, upload

# The stages whose estimate depends on the provider their tier selects (the stage table's estimate basis).
_PROVIDER_ESTIMATES: dict[str, Callable[[Settings, VideoRequest], float]] = {
    "script_generation": scripts.estimate_usd,
    "audio_synthesis": speech.estimate_usd,
    "media_collection": media.estimate_usd,
    "upload_preparation": upload.estimate_usd,
}


def stage_estimates(settings: Settings, request: VideoRequest) -> dict[str, float]:
    """Upper bounds per stage for the providers the request's tier selects, or the configured fixed prices."""

    def bound(spec: StageSpec) -> float:
        if spec.estimate == "render_seconds":
            return cost_policy.render_estimate_usd(settings, request)
        if spec.estimate == "overhead":
            return settings.overhead_usd_per_stage
        return _PROVIDER_ESTIMATES[spec.name](settings, request)

    return {spec.name: round(bound(spec), 4) for spec in STAGES}


def video_budget(settings: Settings, request: VideoRequest) -> VideoBudget:
    """The video's budget (cap, thresholds, per-stage estimates), as its workflow enforces it."""
    return cost_policy.video_budget(settings, request, stage_estimates(settings, request))
