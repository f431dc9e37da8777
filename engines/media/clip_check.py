"""Is a video file a clip the render can play? ffprobe for its facts, then ffmpeg decodes a few frames of it.

Shared by the user's library clips and downloaded stock clips. A header alone can lie, so frames are decoded: the
first second (a clip that starts broken) and the last half second (a download cut short keeps a valid header when
the index is at the front, and breaks only where the bytes stop).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from engines.proc import run_blocking

MIN_CLIP_SECONDS = 0.5
# The QA stage fails a video on more than 1 s of black (blackdetect, pixels under 10 % luma): a clip that opens
# with that much black is refused before it reaches the render.
BLACK_MIN_SECONDS = 1.0
BLACK_PIXEL_THRESHOLD = 0.10
# Every input is a local file: a "clip" that is really a playlist may not make ffmpeg fetch URLs or read other files.
_LOCAL = ("-protocol_whitelist", "file")


class ClipUnusable(Exception):
    """The file is not a playable clip; the message says why."""


class ClipOpensBlack(ClipUnusable):
    """Playable, but it opens on black the QA stage would fail."""


@dataclass(frozen=True)
class ClipFacts:
    codec: str
    width: int
    height: int
    duration: float


def check_clip(path: Path, *, reject_black_start: bool = False, timeout: float = 60.0) -> ClipFacts:
    """The clip's facts once it has proved decodable (blocking: run in a thread); ClipUnusable otherwise."""
    facts = probe_clip(path, timeout=timeout)
    head = ["-t", "1"]
    filters: list[str] = []
    if reject_black_start:
        head = ["-t", str(BLACK_MIN_SECONDS + 0.5)]
        filters = ["-vf", f"blackdetect=d={BLACK_MIN_SECONDS}:pix_th={BLACK_PIXEL_THRESHOLD}"]
    first = _decode(path, head, filters, timeout)
    if reject_black_start and "black_start:" in first:
        raise ClipOpensBlack(f"opens with {BLACK_MIN_SECONDS:g} s or more of black (would fail the black-frame check)")
    _decode(path, ["-sseof", "-0.5"], [], timeout)
    return facts


def probe_clip(path: Path, *, timeout: float = 30.0) -> ClipFacts:
    """The first video stream's codec and size and the file's duration, as ffprobe reads them."""
    try:
        probe = run_blocking(
            ["ffprobe", "-v", "error", *_LOCAL, "-select_streams", "v:0",
             "-show_entries", "stream=codec_name,width,height:format=duration", "-of", "json", str(path)],
            timeout=timeout,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ClipUnusable(f"ffprobe failed ({type(err).__name__})") from None
    if probe.returncode:
        raise ClipUnusable(_last_line(probe.stderr, path) or f"ffprobe exited with {probe.returncode}")
    try:
        data = json.loads(probe.stdout or "{}")
        stream = data["streams"][0]
        facts = ClipFacts(
            str(stream["codec_name"]),
            int(stream["width"]),
            int(stream["height"]),
            float(data["format"]["duration"]),
        )
    except (ValueError, KeyError, IndexError, TypeError):
        raise ClipUnusable("no video stream with a size and a duration") from None
    if facts.width <= 0 or facts.height <= 0:
        raise ClipUnusable(f"a video stream of {facts.width}x{facts.height}")
    if facts.duration < MIN_CLIP_SECONDS:
        raise ClipUnusable(f"{facts.duration:.2f} s long, under {MIN_CLIP_SECONDS} s")
    return facts


def _decode(path: Path, position: list[str], filters: list[str], timeout: float) -> str:
    """Decode the first video stream over `position` (-t / -sseof) and return ffmpeg's log."""
    try:
        run = run_blocking(
            ["ffmpeg", "-hide_banner", "-nostats", "-v", "info", "-xerror", *_LOCAL, *position, "-i", str(path),
             "-map", "0:v:0", *filters, "-f", "null", "-"],
            timeout=timeout,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ClipUnusable(f"ffmpeg failed ({type(err).__name__})") from None
    if run.returncode:
        raise ClipUnusable(_last_line(run.stderr, path) or f"ffmpeg could not decode it (exit {run.returncode})")
    return run.stderr


def _last_line(text: str, path: Path) -> str:
    """ffmpeg's last word on what went wrong (its closing "Conversion failed!" says nothing), naming the file only
    by its name."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and line.strip() != "Conversion failed!"]
    return lines[-1].replace(str(path), path.name)[:200] if lines else ""
