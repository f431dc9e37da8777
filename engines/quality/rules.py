"""Quality rules: small pure functions over probe and signal facts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from engines.loudness import TARGET_LUFS, TOLERANCE_LU, TRUE_PEAK_CEILING_DBTP
from engines.quality.facts import MediaFacts
from engines.quality.signal import SignalFacts


@dataclass(frozen=True)
class QualityExpectations:
    duration: float  # narration seconds
    width: int
    height: int
    duration_tolerance: float = 0.5
    # YouTube's loudness: the render normalises every video to it, with or without music.
    lufs_range: tuple[float, float] = (TARGET_LUFS - TOLERANCE_LU, TARGET_LUFS + TOLERANCE_LU)
    max_true_peak_dbtp: float = TRUE_PEAK_CEILING_DBTP
    max_black_seconds: float = 1.0
    video_codec: str = "h264"
    audio_codec: str = "aac"


@dataclass(frozen=True)
class QualityIssue:
    code: str
    message: str


Rule = Callable[[MediaFacts, SignalFacts, QualityExpectations], list[QualityIssue]]


def check_duration(facts: MediaFacts, signal: SignalFacts, expect: QualityExpectations) -> list[QualityIssue]:
    if abs(facts.duration - expect.duration) <= expect.duration_tolerance:
        return []
    return [
        QualityIssue(
            "duration_mismatch",
            f"video is {facts.duration:.1f} s but narration is {expect.duration:.1f} s "
            f"(tolerance {expect.duration_tolerance:g} s)",
        )
    ]


def check_resolution(facts: MediaFacts, signal: SignalFacts, expect: QualityExpectations) -> list[QualityIssue]:
    if facts.video_codec is None or (facts.width, facts.height) == (expect.width, expect.height):
        return []
    return [
        QualityIssue(
            "wrong_resolution",
            f"video is {facts.width}x{facts.height} but {expect.width}x{expect.height} was expected",
        )
    ]


def check_video_codec(facts: MediaFacts, signal: SignalFacts, expect: QualityExpectations) -> list[QualityIssue]:
    if facts.video_codec is None:
        return [QualityIssue("no_video", "file has no video stream")]
    if facts.video_codec != expect.video_codec:
        return [
            QualityIssue(
                "wrong_video_codec",
                f"video codec is {facts.video_codec} but {expect.video_codec} was expected",
            )
        ]
    return []


def check_audio_codec(facts: MediaFacts, signal: SignalFacts, expect: QualityExpectations) -> list[QualityIssue]:
    if facts.audio_codec is None:
        return [QualityIssue("no_audio", "file has no audio stream; the narration is missing")]
    if facts.audio_codec != expect.audio_codec:
        return [
            QualityIssue(
                "wrong_audio_codec",
                f"audio codec is {facts.audio_codec} but {expect.audio_codec} was expected",
            )
        ]
    return []


def check_loudness(facts: MediaFacts, signal: SignalFacts, expect: QualityExpectations) -> list[QualityIssue]:
    if facts.audio_codec is None:
        return []  # already reported as no_audio
    low, high = expect.lufs_range
    lufs = signal.integrated_lufs
    if lufs is None:
        return [
            QualityIssue(
                "loudness_out_of_range",
                f"audio is silent (no measurable loudness); expected {low:g} to {high:g} LUFS",
            )
        ]
    if low <= lufs <= high:
        return []
    side = "too quiet" if lufs < low else "too loud"
    return [
        QualityIssue(
            "loudness_out_of_range",
            f"audio is {side} at {lufs:.1f} LUFS; expected {low:g} to {high:g} LUFS",
        )
    ]


def check_true_peak(facts: MediaFacts, signal: SignalFacts, expect: QualityExpectations) -> list[QualityIssue]:
    peak = signal.true_peak_dbtp
    if facts.audio_codec is None or peak is None or peak <= expect.max_true_peak_dbtp:
        return []  # no audio or silence: reported by the rules above
    return [
        QualityIssue(
            "true_peak_too_high",
            f"audio peaks at {peak:.1f} dBTP, above the {expect.max_true_peak_dbtp:g} dBTP ceiling "
            "(it would clip once YouTube re-encodes it)",
        )
    ]


def check_black(facts: MediaFacts, signal: SignalFacts, expect: QualityExpectations) -> list[QualityIssue]:
    return [
        QualityIssue(
            "black_segment",
            f"black picture for {end - start:.1f} s from {start:.1f} s to {end:.1f} s "
            f"(at most {expect.max_black_seconds:g} s allowed)",
        )
        for start, end in signal.black_segments
        if end - start > expect.max_black_seconds
    ]


RULES: tuple[Rule, ...] = (
    check_duration,
    check_resolution,
    check_video_codec,
    check_audio_codec,
    check_loudness,
    check_true_peak,
    check_black,
)


def check(facts: MediaFacts, signal: SignalFacts, expect: QualityExpectations) -> list[QualityIssue]:
    """Run every rule and return all issues found, in rule order (empty means the file passes)."""
    return [issue for rule in RULES for issue in rule(facts, signal, expect)]


@dataclass
class QualityReport:
    passed: bool
    issues: list[QualityIssue] = field(default_factory=list)
    facts: MediaFacts | None = None
    signal: SignalFacts | None = None

    @classmethod
    def build(cls, facts: MediaFacts, signal: SignalFacts, expect: QualityExpectations) -> QualityReport:
        """Check ``facts`` and ``signal`` against ``expect`` and wrap the outcome."""
        issues = check(facts, signal, expect)
        return cls(passed=not issues, issues=issues, facts=facts, signal=signal)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (black segments become ``[start, end]`` lists when dumped)."""
        return asdict(self)
