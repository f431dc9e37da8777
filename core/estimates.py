"""Queue ETA and depth-alert arithmetic (pure; the inputs come from the ledger)."""

from __future__ import annotations

import math

from core.stage_table import RENDER_STAGE, STAGES

# Used until the ledger has measured runs of a stage.
DEFAULT_STAGE_SECONDS = {spec.name: spec.default_seconds for spec in STAGES}


def stage_seconds(medians: dict[str, float], stage: str) -> float:
    return medians.get(stage, DEFAULT_STAGE_SECONDS[stage])


def eta_seconds(
    *,
    ahead: int,
    rendering: int,
    slots: int,
    medians: dict[str, float],
    completed: list[str],
    current_fraction: float = 0.0,
    current: str | None = None,
) -> int:
    """Seconds until a video is done.

    `ahead` waiting videos for the same render queue go first; with `rendering` renders busy in `slots` slots,
    this video's render starts after ceil((ahead + rendering - slots + 1) / slots) render durations (0 when a
    slot is free for it). Then its own remaining stages run, at their measured median durations.
    """
    render = stage_seconds(medians, RENDER_STAGE)
    before_us = max(ahead + rendering - slots + 1, 0)
    wait = math.ceil(before_us / max(slots, 1)) * render
    own = 0.0
    for spec in STAGES:
        if spec.name in completed:
            continue
        seconds = stage_seconds(medians, spec.name)
        own += seconds * (1.0 - min(max(current_fraction, 0.0), 1.0)) if spec.name == current else seconds
    return round(wait + own)


def depth_alerts(before: int, after: int, *, warning: int, critical: int) -> list[tuple[str, int]]:
    """The thresholds this change of depth crosses upward, as (level, threshold): each fires once per crossing."""
    return [
        (level, threshold)
        for level, threshold in (("warning", warning), ("critical", critical))
        if before < threshold <= after
    ]
