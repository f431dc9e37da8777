"""EBU R128 loudness as YouTube wants it, and ffmpeg's `ebur128` summary read back. Pure: callers run ffmpeg."""

from __future__ import annotations

import re
from dataclasses import dataclass

# YouTube turns louder uploads down to about -14 LUFS; a true peak at -1 dBTP leaves its lossy re-encode headroom.
TARGET_LUFS = -14.0
TOLERANCE_LU = 1.0
TRUE_PEAK_CEILING_DBTP = -1.0

# ebur128 reports -70 LUFS (its absolute gate) when no block is loud enough to count: that is silence.
SILENCE_LUFS = -70.0

# framelog=verbose hides the per-100 ms lines at -loglevel info (ffmpeg 5.1 rejects framelog=quiet).
EBUR128_OPTIONS = {"framelog": "verbose"}

_NUMBER = r"(-?(?:[\d.]+|inf))"
_INTEGRATED_RE = re.compile(rf"Integrated loudness:\s*\n\s*I:\s*{_NUMBER}\s*LUFS")
_TRUE_PEAK_RE = re.compile(rf"True peak:\s*\n\s*Peak:\s*{_NUMBER}\s*dBFS")


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float | None  # None: silent
    true_peak_dbtp: float | None  # None: not measured (peak=none), or silent


def parse_ebur128(stderr: str) -> Loudness:
    """The last ebur128 summary in ffmpeg's stderr.

    With -filter_complex ffmpeg 5.1 can configure the graph twice, and the first, empty instance prints a summary
    (-70 LUFS, -inf peak) of its own before the real one: the last summary is the one that counts.
    """
    integrated = _last(_INTEGRATED_RE.findall(stderr))
    peak = _last(_TRUE_PEAK_RE.findall(stderr))
    return Loudness(
        integrated_lufs=None if integrated is None or integrated <= SILENCE_LUFS else integrated,
        true_peak_dbtp=peak,
    )


def _last(found: list[str]) -> float | None:
    if not found:
        return None
    value = float(found[-1])
    return None if value == float("-inf") else value
