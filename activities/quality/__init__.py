"""Quality validation of rendered videos: typed facts in, human-readable issues out."""

from activities.quality.facts import MediaFacts, ProbeError, facts_from_ffprobe_json, probe
from activities.quality.rules import QualityExpectations, QualityIssue, QualityReport, check
from activities.quality.signal import SignalError, SignalFacts, analyze_signal
from activities.quality.validate import validate_media

__all__ = [
    "MediaFacts",
    "ProbeError",
    "QualityExpectations",
    "QualityIssue",
    "QualityReport",
    "SignalError",
    "SignalFacts",
    "analyze_signal",
    "check",
    "facts_from_ffprobe_json",
    "probe",
    "validate_media",
]
