"""Queue position/ETA arithmetic (pure; the inputs come from the ledger)."""

from __future__ import annotations

from statistics import median

DEFAULT_VIDEO_SECONDS = 90  # until the ledger has measured completions


def typical_video_seconds(recent: list[int]) -> float:
    return float(median(recent)) if recent else float(DEFAULT_VIDEO_SECONDS)


def eta_seconds(position: int, recent: list[int], slots: int, progress_percent: float = 0.0) -> int:
    """Seconds until done: the videos ahead drain through `slots` parallel renders, then this one runs."""
    per_video = typical_video_seconds(recent)
    ahead = max(position - 1, 0)
    waiting = (ahead // max(slots, 1)) * per_video
    remaining = per_video * (1.0 - min(max(progress_percent, 0.0), 100.0) / 100.0)
    return round(waiting + remaining)
