"""RenderPlan -> one ffmpeg filter graph (ffmpeg-python) -> argv. Pure: nothing here runs ffmpeg."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from typing import Any

import ffmpeg

from engines.render.plan import RenderPlan, is_clip

# zoompan rounds its crop window to whole input pixels; supersampling the still hides the stepping.
MOTION_SUPERSAMPLE = 1.5
MOTION_ZOOM = 0.15  # how far Ken Burns zooms over one still (1.0 -> 1.15)
GOP = 60
CLIP_REUSE_OFFSET = 3.0  # seconds further into a clip for each repeated use of it in one video

# Every input is a local file: a library file that is really a playlist or a concat list may not make ffmpeg fetch
# URLs or read other files.
LOCAL_FILES_ONLY = {"protocol_whitelist": "file"}


def frame_counts(plan: RenderPlan) -> list[int]:
    """Frames per still, rounded on the cumulative timeline so rounding never drifts from plan.duration."""
    fps = plan.fps
    xfade = _xfade_frames(plan)
    bounds = [0]
    elapsed = 0.0
    for still in plan.stills:
        elapsed += still.duration
        bounds.append(round(elapsed * fps))
    counts = [max(b - a, 1) for a, b in pairwise(bounds)]
    # Whole-frame crossfades can differ from plan.crossfade; the last still absorbs it so the end is exact.
    target = round(plan.duration * fps)
    counts[-1] = max(target - (sum(counts[:-1]) - xfade * (len(counts) - 1)), xfade + 1)
    return counts


def build_graph(plan: RenderPlan) -> Any:
    """The ffmpeg-python output node for the plan (call .compile() for argv)."""
    frames = frame_counts(plan)
    sources = _fitted_sources(plan)
    stills = [_animate(plan, i, src, n) for i, (src, n) in enumerate(zip(sources, frames, strict=True))]
    video = _join(plan, stills, frames)
    if plan.captions_path:
        video = video.filter("subtitles", filename=plan.captions_path)
    video = video.filter("format", "yuv420p")

    audio = (
        ffmpeg.input(plan.audio_path, **LOCAL_FILES_ONLY)
        .audio.filter("acompressor")
        .filter("loudnorm", I=_num(plan.loudness_lufs), TP="-1.5", LRA="11")
        .filter("aresample", "48000")
        # loudnorm cannot negotiate a guessed (mono WAV) layout; naming one fixes that; stereo suits uploads.
        .filter("aformat", sample_rates="48000", channel_layouts="stereo")
    )
    return ffmpeg.output(
        video,
        audio,
        plan.output_path,
        format="mp4",
        t=_num(round(frames_total(plan, frames) / plan.fps, 6)),
        r=plan.fps,
        pix_fmt="yuv420p",
        g=GOP,
        maxrate=plan.maxrate,
        bufsize=plan.bufsize,
        movflags="+faststart",
        acodec="aac",
        audio_bitrate=plan.audio_bitrate,
        ar=48000,
        **_video_codec_args(plan),
    )


def build_argv(plan: RenderPlan, *, progress: bool = True, ffmpeg_bin: str = "ffmpeg") -> list[str]:
    """Full ffmpeg argv for the plan; with progress, key=value blocks go to stdout."""
    node = build_graph(plan)
    head = ["-hide_banner"]
    if progress:
        head += ["-progress", "pipe:1", "-nostats"]
    argv: list[str] = node.global_args(*head).overwrite_output().compile(cmd=ffmpeg_bin)
    return argv


def frames_total(plan: RenderPlan, frames: list[int] | None = None) -> int:
    """Video frames in the output after crossfade overlaps."""
    counts = frames if frames is not None else frame_counts(plan)
    return sum(counts) - _xfade_frames(plan) * (len(counts) - 1)


def _video_codec_args(plan: RenderPlan) -> dict[str, Any]:
    if plan.encoder == "h264_nvenc":
        # -b:v 0 makes -cq the target instead of nvenc's 2 Mb/s default average.
        return {"vcodec": "h264_nvenc", "preset": "p4", "tune": "hq", "rc": "vbr", "cq": 23, "b:v": "0"}
    return {"vcodec": plan.encoder, "preset": plan.preset, "crf": plan.crf}


def _xfade_frames(plan: RenderPlan) -> int:
    if len(plan.stills) < 2:
        return 0
    return round(plan.crossfade * plan.fps)


def _fitted_sources(plan: RenderPlan) -> list[Any]:
    """One fitted stream per still; an image used twice is decoded once and split.

    ffmpeg-python also merges identical nodes, so two inputs of the same path would collapse into one
    node with two consumers, which it refuses without a split. A clip is an endless (looped) stream, so each
    use gets an input of its own instead (a split would buffer one branch while the other plays), started a
    few seconds further in, which also keeps a repeated clip from showing the same frames.
    """
    paths = [still.path for still in plan.stills]
    uses = Counter(paths)
    branches: dict[str, list[Any]] = {}
    for path in dict.fromkeys(paths):
        if is_clip(path):
            inputs = [
                ffmpeg.input(
                    path, stream_loop=-1, **LOCAL_FILES_ONLY, **({"ss": _num(k * CLIP_REUSE_OFFSET)} if k else {})
                )
                for k in range(uses[path])
            ]
            branches[path] = [_fit(i.video, plan, supersample=False) for i in inputs]
            continue
        fitted = _fit(ffmpeg.input(path, framerate=plan.fps, **LOCAL_FILES_ONLY).video, plan, supersample=plan.motion)
        if uses[path] == 1:
            branches[path] = [fitted]
        else:
            split = fitted.split()
            branches[path] = [split[i] for i in range(uses[path])]
    return [branches[path].pop(0) for path in paths]


def _fit(src: Any, plan: RenderPlan, *, supersample: bool) -> Any:
    """Scale to fill the frame (supersampled for Ken Burns), keeping aspect; centre-crop the overflow."""
    w, h = plan.width, plan.height
    if supersample:
        w, h = _even(w * MOTION_SUPERSAMPLE), _even(h * MOTION_SUPERSAMPLE)
    return (
        src.filter("scale", w=w, h=h, force_original_aspect_ratio="increase")
        .filter("crop", w=w, h=h)
        .filter("setsar", "1")
        .filter("format", "yuv420p")
    )


def _animate(plan: RenderPlan, index: int, fitted: Any, frames: int) -> Any:
    """Hold the fitted still for `frames` frames, or move over it (Ken Burns) when plan.motion; a clip plays
    (resampled to the plan's frame rate) for exactly `frames` frames."""
    fps = plan.fps
    if is_clip(plan.stills[index].path):
        return fitted.filter("fps", fps).filter("trim", end_frame=frames).filter("setpts", "PTS-STARTPTS")
    if not plan.motion:
        return fitted.filter("loop", loop=frames - 1, size=1).filter("setpts", f"N/({fps}*TB)")
    z, x, y = _ken_burns(index, frames)
    return fitted.filter("zoompan", z=z, x=x, y=y, d=frames, s=f"{plan.width}x{plan.height}", fps=fps).filter(
        "setsar", "1"
    )


def _ken_burns(index: int, frames: int) -> tuple[str, str, str]:
    """zoompan z/x/y expressions, cycling zoom-in, zoom-out, pan so consecutive stills differ."""
    span = max(frames - 1, 1)
    centre_x, centre_y = "iw/2-(iw/zoom/2)", "ih/2-(ih/zoom/2)"
    kind = index % 3
    if kind == 0:
        return f"1+{MOTION_ZOOM}*on/{span}", centre_x, centre_y
    if kind == 1:
        return f"1+{MOTION_ZOOM}*(1-on/{span})", centre_x, centre_y
    return f"{1 + MOTION_ZOOM}", f"(iw-iw/zoom)*on/{span}", centre_y


def _join(plan: RenderPlan, stills: list[Any], frames: list[int]) -> Any:
    if len(stills) == 1:
        return stills[0]
    xfade = _xfade_frames(plan)
    if xfade == 0:
        return ffmpeg.concat(*stills, v=1, a=0)
    video, length = stills[0], frames[0]
    for stream, n in zip(stills[1:], frames[1:], strict=True):
        offset = (length - xfade) / plan.fps
        video = ffmpeg.filter(
            [video, stream],
            "xfade",
            transition="fade",
            duration=_num(round(xfade / plan.fps, 6)),
            offset=_num(round(offset, 6)),
        )
        length += n - xfade
    return video


def _even(value: float) -> int:
    return int(round(value / 2)) * 2


def _num(value: float) -> str:
    """Stable text for numbers in argv: no trailing zeros, no exponent."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"
