"""Quality validation of rendered videos: typed facts in, human-readable issues out."""

from engines.quality.facts import MediaFacts, ProbeError, facts_from_ffprobe_json, probe
from engines.quality.rules import QualityExpectations, QualityIssue, QualityReport, check
from engines.quality.signal import SignalError, SignalFacts, analyze_signal
from engines.quality.validate import validate_media

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
