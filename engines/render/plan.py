"""What to render: typed, serialisable inputs for the render activity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from engines.loudness import TARGET_LUFS

ENCODERS = ("libx264", "h264_nvenc")
CLIP_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".webm", ".mkv"})


def is_clip(path: str) -> bool:
    """A video clip (played, looped when shorter than its slot) rather than a still image."""
    return PurePath(path).suffix.lower() in CLIP_SUFFIXES


@dataclass(frozen=True)
class Still:
    """One image or video clip and how long it stays on screen, in seconds (crossfade overlaps included).
    A clip plays from its start without its sound, looped when shorter than the slot; it brings its own motion,
    so Ken Burns applies to images only."""

    path: str
    duration: float


@dataclass(frozen=True)
class AudioLevels:
    """What the render's loudness passes measured (integrated LUFS; None: silent). The render sets its gains from
    them: the voice to a reference level, the music to its bed under the voice, the mix to YouTube's loudness."""

    voice_lufs: float | None
    music_lufs: float | None = None
    mix_lufs: float | None = None  # the mix before its final gain (the voice and music gains applied)
    # The track's length as decoded, up to the video's: a shorter track is repeated, and its seams fall by it.
    music_seconds: float | None = None


@dataclass(frozen=True)
class RenderPlan:
    """A narrated slideshow: stills (images or clips) over the narration, optionally captioned, with motion and
    crossfades; optionally music under the voice (repeated with crossfaded seams or cut to length, faded, ducked
    while the voice speaks). The audio is normalised to `loudness_lufs` from `levels`, which the render measures
    first when they are None."""

    stills: list[Still]
    audio_path: str
    output_path: str
    captions_path: str | None = None  # .ass file burned in with the ass filter (graph.burn_captions)
    width: int = 1080
    height: int = 1920
    fps: int = 30
    motion: bool = False  # Ken Burns (zoompan) per still
    crossfade: float = 0.0  # xfade seconds between stills; 0 = hard cuts
    encoder: str = "libx264"  # or "h264_nvenc"
    preset: str = "veryfast"
    crf: int = 23
    loudness_lufs: float = TARGET_LUFS
    music_path: str | None = None  # a track of the music library; None: the narration alone
    music_level_db: float = -12.0  # the music's loudness relative to the voice's where the voice pauses
    levels: AudioLevels | None = None
    audio_bitrate: str = "192k"
    # zoompan output is noisy frame to frame; uncapped CRF balloons the file.
    maxrate: str = "8M"
    bufsize: str = "16M"

    def __post_init__(self) -> None:
        if not self.stills:
            raise ValueError("RenderPlan needs at least one still")
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {self.encoder!r}")
        if self.width % 2 or self.height % 2:
            raise ValueError(f"yuv420p needs even dimensions, got {self.width}x{self.height}")
        if self.crossfade < 0:
            raise ValueError("crossfade must be >= 0")
        if self.crossfade > 0 and len(self.stills) > 1:
            shortest = min(s.duration for s in self.stills)
            if shortest <= self.crossfade:
                raise ValueError(
                    f"crossfade {self.crossfade}s must be shorter than every still (shortest {shortest}s); "
                    "build stills with plan_stills() or lower the crossfade"
                )

    @property
    def duration(self) -> float:
        """Video duration in seconds once crossfades overlap neighbouring stills."""
        overlaps = self.crossfade * (len(self.stills) - 1)
        return sum(s.duration for s in self.stills) - overlaps


def shot_durations(segment_starts: Sequence[float], end: float) -> list[float]:
    """One shot per narration segment, from where the segment starts to where the next one does (the first from 0,
    the last to `end`, the narration's duration): each cut falls on a segment boundary of the speech timeline."""
    if not segment_starts:
        raise ValueError("need at least one segment")
    bounds = [0.0, *segment_starts[1:], end]
    durations = [b - a for a, b in zip(bounds, bounds[1:], strict=False)]
    if any(d <= 0 for d in durations):
        raise ValueError(f"segment starts {list(segment_starts)} are not increasing within 0..{end}")
    return durations


def plan_stills(durations: Sequence[float], paths: Sequence[str], crossfade: float = 0.0) -> list[Still]:
    """Stills whose on-screen times, after crossfade overlaps, still add up to sum(durations).

    Each transition is centred on the narration boundary: inner stills gain a whole crossfade,
    the first and last half of one, so the video ends with the audio.
    """
    if len(durations) != len(paths):
        raise ValueError(f"{len(durations)} durations for {len(paths)} stills")
    if not paths:
        raise ValueError("need at least one still")
    if any(d <= 0 for d in durations):
        raise ValueError("every still duration must be > 0")
    if crossfade < 0:
        raise ValueError("crossfade must be >= 0")
    last = len(paths) - 1
    if last == 0 or crossfade == 0:
        return [Still(path=p, duration=float(d)) for p, d in zip(paths, durations, strict=True)]
    if crossfade >= min(durations):
        # A shorter slide would be blended into both neighbours at once and never seen alone.
        shortest = min(durations)
        raise ValueError(f"crossfade {crossfade}s must be shorter than the shortest slide ({shortest}s)")
    stills = []
    for i, (path, d) in enumerate(zip(paths, durations, strict=True)):
        extra = crossfade / 2 if i in (0, last) else crossfade
        stills.append(Still(path=path, duration=float(d) + extra))
    return stills
