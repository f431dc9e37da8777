"""What each stage may cost a video: upper-bound estimates the workflow checks before it starts a stage."""

from __future__ import annotations

from core.domain import CostPolicy, VideoRequest
from core.settings import Settings
from stages import media, scripts, speech, upload

# Render seconds per second of video, generous upper bounds measured on the 2-core reference machine.
RENDER_SECONDS_PER_VIDEO_SECOND = {"simple": 0.6, "complex": 1.5, "premium": 3.0}


def stage_estimates(settings: Settings, request: VideoRequest) -> dict[str, float]:
    """Upper bounds per stage for the providers the request's tier selects, or the configured fixed prices."""
    overhead = settings.overhead_usd_per_stage
    seconds = request.duration_seconds * 1.3  # narration may run longer than the target
    render = seconds * RENDER_SECONDS_PER_VIDEO_SECOND[request.complexity] * settings.compute_usd_per_render_second
    estimates = {
        "script_generation": round(scripts.estimate_usd(settings, request), 4),
        "audio_synthesis": round(speech.estimate_usd(settings, request), 4),
        "media_collection": round(media.estimate_usd(settings, request), 4),
        "video_rendering": round(max(render, overhead), 4),
        "quality_validation": overhead,
        "upload_preparation": round(upload.estimate_usd(settings, request), 4),
    }
    return {**estimates, **settings.stage_price_overrides}


def cost_policy(settings: Settings, request: VideoRequest) -> CostPolicy:
    """The video's budget; the alert thresholds scale down with a cap below the default (83 % and 93 %)."""
    cap = request.cost_cap_usd or settings.cost_cap_default_usd
    scale = min(1.0, cap / settings.cost_cap_default_usd)
    return CostPolicy(
        cap_usd=cap,
        warning_usd=round(settings.cost_warning_usd * scale, 4),
        critical_usd=round(settings.cost_critical_usd * scale, 4),
        ceiling_usd=settings.cost_cap_ceiling_usd,
        halt_timeout_seconds=settings.cost_halt_timeout_seconds,
        estimates_usd=stage_estimates(settings, request),
        webhooks=settings.alert_webhook_url is not None,
    )
