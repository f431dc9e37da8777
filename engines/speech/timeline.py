"""Word- and segment-level timings of a synthesized narration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WordTiming:
    """One spoken word; times in seconds from the start of the WAV."""

    text: str
    start: float
    end: float
    segment: int


@dataclass(frozen=True)
class SegmentTiming:
    """One input segment; segments are contiguous and cover the whole WAV."""

    index: int
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class SpeechTimeline:
    """Timings of a narration WAV; `duration` is the duration of that WAV."""

    words: list[WordTiming]
    segments: list[SegmentTiming]
    duration: float

    def segment_words(self, index: int) -> list[WordTiming]:
        """The words spoken in segment `index`."""
        return [w for w in self.words if w.segment == index]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (saved as timeline.json)."""
        return {
            "duration": self.duration,
            "segments": [{"index": s.index, "text": s.text, "start": s.start, "end": s.end} for s in self.segments],
            "words": [{"text": w.text, "start": w.start, "end": w.end, "segment": w.segment} for w in self.words],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SpeechTimeline:
        """Inverse of `to_json`."""
        return cls(
            words=[
                WordTiming(text=w["text"], start=float(w["start"]), end=float(w["end"]), segment=int(w["segment"]))
                for w in d["words"]
            ],
            segments=[
                SegmentTiming(index=int(s["index"]), text=s["text"], start=float(s["start"]), end=float(s["end"]))
                for s in d["segments"]
            ],
            duration=float(d["duration"]),
        )
