"""RenderPlan -> one ffmpeg filter graph (ffmpeg-python) -> argv, and the audio-only graphs that measure its
loudness first. Pure: nothing here runs ffmpeg."""

from __future__ import annotations

import math
from collections import Counter
from itertools import pairwise
from typing import Any

import ffmpeg
from ffmpeg.nodes import InputNode

from engines.loudness import EBUR128_OPTIONS
from engines.render.plan import AudioLevels, RenderPlan, is_clip

# zoompan rounds its crop window to whole input pixels; supersampling the still hides the stepping.
MOTION_SUPERSAMPLE = 1.5
MOTION_ZOOM = 0.15  # how far Ken Burns zooms over one still (1.0 -> 1.15)
GOP = 60
CLIP_REUSE_OFFSET = 3.0  # seconds further into a clip for each repeated use of it in one video

# Every input is a local file: a library file that is really a playlist or a concat list may not make ffmpeg fetch
# URLs or read other files.
LOCAL_FILES_ONLY = {"protocol_whitelist": "file"}

# The audio is mixed as 48 kHz stereo floats: the voice and the music meet in sidechaincompress and amix, which want
# one format, and stereo suits uploads (a mono voice is spread to both channels).
MIX_RATE = 48000
MIX_FORMAT = {"sample_fmts": "fltp", "sample_rates": str(MIX_RATE), "channel_layouts": "stereo"}
# The voice is first brought to this loudness, so the compressor, the limiter and the ducking, whose thresholds are
# absolute levels, act the same on every provider's voice.
VOICE_REFERENCE_LUFS = -20.0
VOICE_COMPRESSOR = {"threshold": "-28dB", "ratio": 2, "attack": 10, "release": 150, "makeup": "5dB"}
# Measured speech peaks 20 dB above its loudness; a peak-to-loudness ratio that high cannot be raised to -14 LUFS
# without passing -1 dBTP, which is why a loudnorm pass (whose limiter then binds) landed at -16.5. Limiting the
# voice 9 dB above the reference keeps the whole mix near 12 dB, so a plain gain reaches the target.
VOICE_LIMIT = "-12dB"
# The music is turned down about 11 dB while the voice speaks and comes back within half a second of a pause.
DUCKING = {"threshold": 0.02, "ratio": 6, "attack": 20, "release": 300}
MUSIC_FADE_IN = 1.5
MUSIC_FADE_OUT = 3.0
# A track shorter than the video is repeated, each repeat crossfaded into the next: a hard cut clicks and jumps. The
# fade is equal-power (quarter sine): a track's end and its start are unrelated sound, which a linear fade dips 3 dB
# between.
MUSIC_LOOP_CROSSFADE = 1.5
MUSIC_LOOP_CURVE = "qsin"
MAX_GAIN_DB = 30.0  # a near-silent input is not raised into a roar of noise
# A safety net after the final gain (the mix is measured, so it rarely acts much). It limits at 4x the sample rate,
# where the peaks between samples show: at 48 kHz a hard-working limiter let them through 0.9 dB above its limit, and
# AAC adds a few tenths more; -2 dBFS oversampled kept every test file at -1.5 dBTP or below.
MASTER_LIMIT = "-2dB"
OVERSAMPLED_RATE = "192000"
SAMPLE_COUNT = {"measure_overall": "Number_of_samples", "measure_perchannel": "none"}


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


def burn_captions(video: Any, captions_path: str) -> Any:
    """`video` with the ASS captions drawn on: ffmpeg's `ass` filter, with libass's complex (HarfBuzz) shaping.
    Simple shaping, what the `subtitles` filter leaves libass at, draws Devanagari's vowel signs after the consonant
    they go before and takes Arabic ligatures from presentation forms that Noto Sans Arabic has no glyph for."""
    return video.filter("ass", filename=captions_path, shaping="complex")


def build_graph(plan: RenderPlan) -> Any:
    """The ffmpeg-python output node for the plan (call .compile() for argv)."""
    frames = frame_counts(plan)
    sources = _fitted_sources(plan)
    stills = [_animate(plan, i, src, n) for i, (src, n) in enumerate(zip(sources, frames, strict=True))]
    video = _join(plan, stills, frames)
    if plan.captions_path:
        video = burn_captions(video, plan.captions_path)
    video = video.filter("format", "yuv420p")
    if plan.levels is None:
        raise ValueError("the plan's audio levels are not measured yet: render() measures them (measure_levels)")
    audio = (
        _mix(plan, plan.levels)
        .filter("volume", _db(master_gain(plan, plan.levels)))
        .filter("aresample", OVERSAMPLED_RATE)
        .filter("alimiter", limit=MASTER_LIMIT, attack=5, release=50, level="false")
        .filter("aresample", "48000")
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


def level_argv(path: str, *, seconds: float | None = None, ffmpeg_bin: str = "ffmpeg") -> list[str]:
    """ffmpeg argv printing the integrated loudness of `path`'s audio (its first `seconds`), as the mix hears it, and
    how many samples (per channel, at the mix's 48 kHz) that is."""
    limit = ["-t", _num(seconds)] if seconds is not None else []
    counted = _chain(("aformat", MIX_FORMAT), ("ebur128", EBUR128_OPTIONS), ("astats", SAMPLE_COUNT))
    return [
        ffmpeg_bin, "-hide_banner", "-nostats", "-nostdin", "-protocol_whitelist", "file", *limit, "-i", path,
        "-map", "0:a:0", "-af", counted, "-f", "null", "-",
    ]  # fmt: skip


def mix_level_argv(plan: RenderPlan, levels: AudioLevels, *, ffmpeg_bin: str = "ffmpeg") -> list[str]:
    """ffmpeg argv printing the integrated loudness of the plan's mix before its final gain (audio only)."""
    measured = _mix(plan, levels).filter("ebur128", **EBUR128_OPTIONS)
    node = ffmpeg.output(measured, "-", format="null").global_args("-hide_banner", "-nostats", "-nostdin")
    argv: list[str] = node.compile(cmd=ffmpeg_bin)
    return argv


def voice_gain(levels: AudioLevels) -> float:
    """dB that bring the voice to VOICE_REFERENCE_LUFS."""
    return _gain(VOICE_REFERENCE_LUFS, levels.voice_lufs)


def music_gain(plan: RenderPlan, levels: AudioLevels) -> float:
    """dB that put the music `plan.music_level_db` under the levelled voice (before ducking)."""
    return _gain(VOICE_REFERENCE_LUFS + plan.music_level_db, levels.music_lufs)


def master_gain(plan: RenderPlan, levels: AudioLevels) -> float:
    """dB that bring the measured mix to `plan.loudness_lufs`."""
    return _gain(plan.loudness_lufs, levels.mix_lufs)


def _gain(target: float, measured: float | None) -> float:
    if measured is None:  # silent: no gain makes it louder
        return 0.0
    return round(max(-MAX_GAIN_DB, min(MAX_GAIN_DB, target - measured)), 2)


def _mix(plan: RenderPlan, levels: AudioLevels) -> Any:
    """The narration, levelled, compressed and limited; with music, the track looped or cut to the video's length,
    faded in and out, ducked with the voice as its sidechain, and mixed under it."""
    voice = (
        ffmpeg.input(plan.audio_path, **LOCAL_FILES_ONLY)
        .audio.filter("aformat", **MIX_FORMAT)
        .filter("volume", _db(voice_gain(levels)))
        .filter("acompressor", **VOICE_COMPRESSOR)
        .filter("alimiter", limit=VOICE_LIMIT, attack=5, release=50, level="false")
    )
    if plan.music_path is None:
        return voice
    length = plan.duration
    fade_in, fade_out = min(MUSIC_FADE_IN, length / 4), min(MUSIC_FADE_OUT, length / 4)
    music = (
        _looped_music(plan.music_path, length, levels.music_seconds)
        .filter("atrim", duration=_num(round(length, 6)))
        .filter("volume", _db(music_gain(plan, levels)))
        .filter("afade", t="in", d=_num(fade_in))
        .filter("afade", t="out", st=_num(round(length - fade_out, 6)), d=_num(fade_out))
    )
    spoken = voice.asplit()
    ducked = ffmpeg.filter([music, spoken[1]], "sidechaincompress", **DUCKING)
    # normalize=false: amix would otherwise halve the voice to make room for the music.
    return ffmpeg.filter([spoken[0], ducked], "amix", inputs=2, duration="first", normalize="false")


def _looped_music(path: str, length: float, seconds: float | None) -> Any:
    """The track at the mix's format, repeated until it lasts `length` seconds, each repeat crossfaded into the next.

    Each repeat is an input of its own: an input ffmpeg reads only when the crossfade asks for it holds nothing in
    memory, and acrossfade in ffmpeg 5.1 cuts the first track short when both are ready at once (as asplit's branches
    are). ffmpeg-python merges identical inputs into one node; the repeat's number, an input argument it keeps in the
    node but never writes into argv, keeps them apart.
    """
    if seconds is None:
        raise ValueError("the music's length is not measured yet: render() measures it (measure_levels)")

    def repeat(k: int) -> Any:
        node = InputNode(ffmpeg.input.__name__, args=[k], kwargs={"filename": path, **LOCAL_FILES_ONLY})
        return node.stream().audio.filter("aformat", **MIX_FORMAT)

    # The level pass reads the track up to the video's length: a longer track reads as that, give or take the few
    # samples the resampler adds or takes.
    if seconds >= length - 0.01:
        return repeat(0)
    fade = min(MUSIC_LOOP_CROSSFADE, seconds / 4)
    looped = repeat(0)
    for k in range(1, math.ceil((length - fade) / (seconds - fade))):
        looped = ffmpeg.filter(
            [looped, repeat(k)], "acrossfade", d=_num(round(fade, 6)), c1=MUSIC_LOOP_CURVE, c2=MUSIC_LOOP_CURVE
        )
    return looped


def _chain(*filters: tuple[str, dict[str, str]]) -> str:
    return ",".join(name + "=" + ":".join(f"{k}={v}" for k, v in options.items()) for name, options in filters)


def _db(gain: float) -> str:
    return f"{_num(gain)}dB"


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
