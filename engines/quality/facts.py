"""Container and stream facts of a media file, read with ffprobe."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from engines.proc import run_capture

FFPROBE = "ffprobe"


class ProbeError(Exception):
    """The file is missing or ffprobe cannot read it."""


@dataclass(frozen=True)
class MediaFacts:
    duration: float
    width: int
    height: int
    video_codec: str | None
    audio_codec: str | None
    audio_sample_rate: int | None
    fps: float | None
    size_bytes: int


def _first_stream(streams: list[dict[str, Any]], codec_type: str) -> dict[str, Any] | None:
    for s in streams:
        # Cover art is reported as a video stream; it is not the picture we validate.
        if s.get("codec_type") == codec_type and not s.get("disposition", {}).get("attached_pic"):
            return s
    return None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _rate(value: Any) -> float | None:
    """Parse an ffprobe rate such as ``"30000/1001"``; ``"0/0"`` means unknown."""
    try:
        rate = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None
    return float(rate) if rate > 0 else None


def facts_from_ffprobe_json(d: dict[str, Any], size_bytes: int) -> MediaFacts:
    """Turn ``ffprobe -show_streams -show_format`` JSON into :class:`MediaFacts`."""
    streams = d.get("streams", [])
    video = _first_stream(streams, "video")
    audio = _first_stream(streams, "audio")
    duration = _float(d.get("format", {}).get("duration"))
    if duration is None:
        durations = [_float(s.get("duration")) for s in (video, audio) if s]
        duration = max((x for x in durations if x is not None), default=0.0)
    sample_rate = _float(audio.get("sample_rate")) if audio else None
    fps = None
    if video:
        fps = _rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate"))
    return MediaFacts(
        duration=duration,
        width=int(video.get("width", 0)) if video else 0,
        height=int(video.get("height", 0)) if video else 0,
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
        audio_sample_rate=int(sample_rate) if sample_rate else None,
        fps=fps,
        size_bytes=size_bytes,
    )


async def probe(path: str | os.PathLike[str]) -> MediaFacts:
    """Probe ``path`` with ffprobe; raise :class:`ProbeError` if it is missing or unreadable."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise ProbeError(f"cannot probe {p}: {e.strerror or e}") from e
    if not p.is_file():
        raise ProbeError(f"cannot probe {p}: not a regular file")
    argv = [FFPROBE, "-v", "error", "-print_format", "json", "-show_streams", "-show_format", str(p)]
    try:
        result = await run_capture(argv)
    except FileNotFoundError as e:
        raise ProbeError(f"cannot probe {p}: {FFPROBE} is not installed or not on PATH") from e
    if result.returncode != 0:
        reason = result.stderr.strip().splitlines()[-1:] or [f"exit status {result.returncode}"]
        raise ProbeError(f"cannot probe {p}: ffprobe failed: {reason[0]}")
    try:
        data = json.loads(result.stdout)
    except json.JSONDecodeError as e:
        raise ProbeError(f"cannot probe {p}: ffprobe printed invalid JSON ({e})") from e
    if not data.get("streams"):
        raise ProbeError(f"cannot probe {p}: no audio or video streams found")
    return facts_from_ffprobe_json(data, size)
