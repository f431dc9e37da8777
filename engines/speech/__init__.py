"""Offline narration: speech synthesis with word timings."""

from engines.speech.espeak import SpeechSynthesisError, synthesize_espeak
from engines.speech.timeline import SegmentTiming, SpeechTimeline, WordTiming

__all__ = ["SegmentTiming", "SpeechSynthesisError", "SpeechTimeline", "WordTiming", "synthesize_espeak"]
