"""Render step: RenderPlan -> ffmpeg filter graph -> MP4, with progress and cancellation."""

from engines.render.encoder import EncoderChoice, choose_encoder
from engines.render.graph import build_argv, build_graph
from engines.render.plan import AudioLevels, RenderPlan, Still, plan_stills, shot_durations
from engines.render.runner import (
    FFmpegError,
    RenderProgress,
    RenderResult,
    measure_levels,
    render,
    run_ffmpeg,
)

__all__ = [
    "AudioLevels",
    "EncoderChoice",
    "FFmpegError",
    "RenderPlan",
    "RenderProgress",
    "RenderResult",
    "Still",
    "build_argv",
    "build_graph",
    "choose_encoder",
    "measure_levels",
    "plan_stills",
    "render",
    "run_ffmpeg",
    "shot_durations",
]
