"""Render step: RenderPlan -> ffmpeg filter graph -> MP4, with progress and cancellation."""

from engines.render.encoder import EncoderChoice, choose_encoder
from engines.render.graph import build_argv, build_graph
from engines.render.plan import RenderPlan, Still, plan_stills, shot_durations
from engines.render.runner import FFmpegError, RenderProgress, RenderResult, render, run_ffmpeg

__all__ = [
    "EncoderChoice",
    "FFmpegError",
    "RenderPlan",
    "RenderProgress",
    "RenderResult",
    "Still",
    "build_argv",
    "build_graph",
    "choose_encoder",
    "plan_stills",
    "render",
    "run_ffmpeg",
    "shot_durations",
]
