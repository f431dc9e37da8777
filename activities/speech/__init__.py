"""Offline narration: speech synthesis with word timings."""

from activities.speech.espeak import SpeechSynthesisError, synthesize_espeak
from activities.speech.timeline import SegmentTiming, SpeechTimeline, WordTiming

__all__ = ["SegmentTiming", "SpeechSynthesisError", "SpeechTimeline", "WordTiming", "synthesize_espeak"]
