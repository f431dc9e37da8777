"""The cost policy, in one place: how far narration may run past its target, the flat overhead of a stage, fixed
prices per stage, what compute, storage and the cloud providers cost, and a video's budget.

A video is never charged past its cap only while every estimate is an upper bound of the charge it stands for:
both are computed here from the same figures, so changing one changes the other.
"""

from __future__ import annotations

import math
from typing import Any

from core.domain import VideoBudget, VideoRequest
from core.records import CostLine
from core.settings import Settings

WORDS_PER_SECOND = 2.5  # narration pace: ~150 words for 60 s
NARRATION_OVERRUN = 1.30  # a script, and so its narration, may run 30 % past the target duration
CHARS_PER_WORD = 7.7  # a generous average, spaces and punctuation included
MAX_NARRATION_CHARS_PER_SECOND = round(NARRATION_OVERRUN * WORDS_PER_SECOND * CHARS_PER_WORD)  # 25
# Render seconds per second of video, generous upper bounds measured on the 2-core reference machine.
RENDER_SECONDS_PER_VIDEO_SECOND = {"simple": 0.6, "complex": 1.5, "premium": 3.0}
STORAGE_GB_PER_VIDEO_SECOND = 0.002  # an upper bound of the final MP4 (~2 MB per second at our bitrates)
# Raised once per video whatever its attempts; a cost_halt may come again after an approval.
ALERTS_ONCE_PER_VIDEO = ("cost_warning", "cost_critical")


def target_words(duration_seconds: float) -> int:
    return round(duration_seconds * WORDS_PER_SECOND)


def max_narration_words(target: int) -> int:
    """The longest script accepted for a target of `target` words."""
    return math.ceil(target * NARRATION_OVERRUN)


def max_narration_seconds(duration_seconds: float) -> float:
    return duration_seconds * NARRATION_OVERRUN


def max_narration_chars(duration_seconds: float) -> int:
    """The most narration characters a cloud voice is sent for a video of `duration_seconds`."""
    return math.ceil(duration_seconds * MAX_NARRATION_CHARS_PER_SECOND)


def overhead(settings: Settings, service: str, operation: str, **metadata: Any) -> CostLine:
    """The flat per-stage charge of work that pays no API fee (local providers, cache hits)."""
    return CostLine(service, operation, settings.overhead_usd_per_stage, dict(metadata))


def fixed_price(settings: Settings, stage: str) -> float | None:
    """A stage's configured fixed price (budget drills, cost tests), charged instead of what it really cost."""
    return settings.stage_price_overrides.get(stage)


def storage_usd(settings: Settings, size_bytes: float) -> float:
    return size_bytes / 1e9 * settings.storage_usd_per_gb


def render_usd(settings: Settings, render_seconds: float) -> float:
    return render_seconds * settings.compute_usd_per_render_second


def elevenlabs_usd(settings: Settings, characters: int) -> float:
    return characters * settings.elevenlabs_usd_per_1k_chars / 1000


def google_tts_usd(settings: Settings, characters: int) -> float:
    return characters * settings.google_tts_usd_per_1m_chars / 1_000_000


def openai_tts_usd_per_1m_chars(settings: Settings) -> float:
    """The configured speech model's price; a model missing from the table (a local server's) the unlisted price."""
    table = settings.openai_tts_usd_per_1m_chars
    return table.get(settings.openai_tts_model, settings.openai_tts_unlisted_usd_per_1m_chars)


def openai_tts_usd(settings: Settings, characters: int) -> float:
    return characters * openai_tts_usd_per_1m_chars(settings) / 1_000_000


def openai_usd(prompt_tokens: int, completion_tokens: int, prices_per_million: tuple[float, float]) -> float:
    price_in, price_out = prices_per_million
    return (prompt_tokens * price_in + completion_tokens * price_out) / 1_000_000


def render_estimate_usd(settings: Settings, request: VideoRequest) -> float:
    """Upper bound of the render's compute charge: the longest narration at the tier's slowest measured pace."""
    seconds = max_narration_seconds(request.duration_seconds) * RENDER_SECONDS_PER_VIDEO_SECOND[request.complexity]
    return max(render_usd(settings, seconds), settings.overhead_usd_per_stage)


def outbox_estimate_usd(settings: Settings, request: VideoRequest) -> float:
    """Upper bound of the upload preparation's charge: the overhead plus the final MP4's storage."""
    size_gb = max_narration_seconds(request.duration_seconds) * STORAGE_GB_PER_VIDEO_SECOND
    return settings.overhead_usd_per_stage + size_gb * settings.storage_usd_per_gb


def cap_usd(settings: Settings, requested_cap_usd: float | None) -> float:
    """A video's cap: what its request asked for, else the configured default."""
    return requested_cap_usd or settings.cost_cap_default_usd


def video_budget(settings: Settings, request: VideoRequest, estimates_usd: dict[str, float]) -> VideoBudget:
    """The video's budget; the alert thresholds scale down with a cap below the default (83 % and 93 %).

    `estimates_usd`: each stage's upper bound; a stage with a fixed price is estimated at that price.
    """
    cap = cap_usd(settings, request.cost_cap_usd)
    scale = min(1.0, cap / settings.cost_cap_default_usd)
    return VideoBudget(
        cap_usd=cap,
        warning_usd=round(settings.cost_warning_usd * scale, 4),
        critical_usd=round(settings.cost_critical_usd * scale, 4),
        ceiling_usd=settings.cost_cap_ceiling_usd,
        halt_timeout_seconds=settings.cost_halt_timeout_seconds,
        estimates_usd={**estimates_usd, **settings.stage_price_overrides},
        webhooks=settings.alert_webhook_url is not None,
    )
