"""Render step: RenderPlan -> ffmpeg filter graph -> MP4, with progress and cancellation."""

from activities.render.encoder import EncoderChoice, choose_encoder
from activities.render.graph import build_argv, build_graph
from activities.render.plan import RenderPlan, Still, plan_stills
from activities.render.runner import FFmpegError, RenderProgress, RenderResult, render, run_ffmpeg

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
]
