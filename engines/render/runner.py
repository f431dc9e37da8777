"""Run ffmpeg asynchronously: progress from `-progress pipe:1`, cancellation that kills it, atomic output."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import re
import shlex
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from engines.loudness import Loudness, parse_ebur128
from engines.proc import run_capture, spawn, stop
from engines.render.graph import MIX_RATE, build_argv, level_argv, mix_level_argv
from engines.render.plan import AudioLevels, RenderPlan

log = logging.getLogger(__name__)

STDERR_TAIL_BYTES = 4096
_SAMPLES_RE = re.compile(r"Number of samples: (\d+)")


@dataclass(frozen=True)
class RenderProgress:
    fraction: float  # 0..1 of the output duration written so far
    out_seconds: float
    speed: float | None  # x realtime, None until ffmpeg knows


@dataclass(frozen=True)
class RenderResult:
    output_path: str
    seconds_wall: float
    realtime_factor: float  # video seconds per wall second
    encoder: str
    levels: AudioLevels | None = None  # what the loudness passes measured
    measure_seconds: float = 0.0  # of seconds_wall, the loudness passes before the render


ProgressCallback = Callable[[RenderProgress], None]


class FFmpegError(RuntimeError):
    """ffmpeg exited non-zero; stderr_tail holds the end of its log, where the cause is."""

    def __init__(self, returncode: int, stderr_tail: str) -> None:
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        # Killed by a signal (the OOM killer, an operator): the machine's fault, not the render's, so it does not
        # spend the stage's own attempts.
        self.infrastructure = returncode < 0
        # The cause usually sits just above ffmpeg's generic "Conversion failed!".
        last = " | ".join(stderr_tail.strip().splitlines()[-3:]) or "(no stderr)"
        super().__init__(f"ffmpeg exited with code {returncode}: {last}")


async def run_ffmpeg(
    argv: list[str],
    *,
    total_seconds: float,
    on_progress: ProgressCallback | None = None,
) -> None:
    """Run one ffmpeg command built with `-progress pipe:1`; raise FFmpegError on failure.

    Cancelling the awaiting task stops ffmpeg (SIGTERM, then SIGKILL) before CancelledError propagates.
    """
    log.debug("ffmpeg: %s", shlex.join(argv))
    proc = await spawn(argv)
    assert proc.stdout is not None and proc.stderr is not None
    stderr_task = asyncio.create_task(_tail(proc.stderr, STDERR_TAIL_BYTES))
    try:
        await _read_progress(proc.stdout, total_seconds, on_progress)
        returncode = await proc.wait()
        stderr_tail = await stderr_task
    except BaseException:
        # Cancellation, or on_progress raised: ffmpeg must not outlive the render call.
        await stop(proc)
        stderr_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stderr_task
        raise
    if returncode != 0:
        raise FFmpegError(returncode, stderr_tail)


async def measure_levels(plan: RenderPlan) -> AudioLevels:
    """Measure, then normalise: the voice's and the music's loudness (at once), then the mix's with their gains
    applied. Audio only: a few tenths of a second for a minute of video (bench/render_bench.py)."""
    (voice, _), (music, music_samples) = await asyncio.gather(
        _measure(level_argv(plan.audio_path)),
        _measure(level_argv(plan.music_path, seconds=plan.duration)) if plan.music_path else _unmeasured(),
    )
    levels = AudioLevels(
        voice_lufs=voice.integrated_lufs,
        music_lufs=music.integrated_lufs,
        music_seconds=music_samples / MIX_RATE if music_samples is not None else None,
    )
    mix, _ = await _measure(mix_level_argv(plan, levels))
    return dataclasses.replace(levels, mix_lufs=mix.integrated_lufs)


async def render(plan: RenderPlan, on_progress: ProgressCallback | None = None) -> RenderResult:
    """Render the plan to plan.output_path via a private partial file, replaced into place on success; its audio
    levels are measured first unless the plan carries them."""
    started = time.monotonic()
    if plan.levels is None:
        plan = dataclasses.replace(plan, levels=await measure_levels(plan))
    measured = time.monotonic() - started
    root, _ = os.path.splitext(plan.output_path)
    partial = f"{root}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial.mp4"
    argv = build_argv(dataclasses.replace(plan, output_path=partial))
    try:
        await run_ffmpeg(argv, total_seconds=plan.duration, on_progress=on_progress)
        os.replace(partial, plan.output_path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)
        raise
    wall = time.monotonic() - started
    result = RenderResult(
        plan.output_path, wall, plan.duration / wall if wall > 0 else 0.0, plan.encoder, plan.levels, measured
    )
    log.info(
        "rendered %s: %.1fs of video in %.1fs (%.1fx realtime, %s)",
        plan.output_path,
        plan.duration,
        wall,
        result.realtime_factor,
        plan.encoder,
    )
    return result


async def _measure(argv: list[str]) -> tuple[Loudness, int | None]:
    """The loudness ffmpeg printed, and the samples it counted (None when the argv counts none)."""
    log.debug("ffmpeg: %s", shlex.join(argv))
    result = await run_capture(argv)
    if result.returncode != 0:
        raise FFmpegError(result.returncode, result.stderr[-STDERR_TAIL_BYTES:])
    counted = _SAMPLES_RE.findall(result.stderr)
    return parse_ebur128(result.stderr), int(counted[-1]) if counted else None


async def _unmeasured() -> tuple[Loudness, int | None]:
    return Loudness(None, None), None


def parse_progress_block(fields: dict[str, str], total_seconds: float) -> RenderProgress:
    """One `-progress` block (key=value pairs up to `progress=...`) as a RenderProgress."""
    out_us = _to_float(fields.get("out_time_us")) or _to_float(fields.get("out_time_ms"))
    out_seconds = max(out_us or 0.0, 0.0) / 1_000_000  # out_time_ms is microseconds too (ffmpeg quirk)
    speed = _to_float(fields.get("speed", "").rstrip("x"))
    if fields.get("progress") == "end":
        fraction = 1.0
    elif total_seconds > 0:
        fraction = min(out_seconds / total_seconds, 1.0)
    else:
        fraction = 0.0
    return RenderProgress(fraction=fraction, out_seconds=out_seconds, speed=speed)


async def _read_progress(
    stream: asyncio.StreamReader,
    total_seconds: float,
    on_progress: ProgressCallback | None,
) -> None:
    fields: dict[str, str] = {}
    best = 0.0
    async for raw in stream:
        key, sep, value = raw.decode("utf-8", "replace").strip().partition("=")
        if not sep:
            continue
        fields[key] = value
        if key != "progress":
            continue
        update = parse_progress_block(fields, total_seconds)
        fields = {}
        # Audio and video finish at slightly different times; never report going backwards.
        if update.fraction < best:
            update = dataclasses.replace(update, fraction=best)
        best = update.fraction
        if on_progress is not None:
            on_progress(update)


async def _tail(stream: asyncio.StreamReader, limit: int) -> str:
    buf = bytearray()
    while chunk := await stream.read(65536):
        buf += chunk
        del buf[:-limit]
    return buf.decode("utf-8", "replace")


def _to_float(text: str | None) -> float | None:
    if not text or text == "N/A":
        return None
    try:
        return float(text)
    except ValueError:
        return None
