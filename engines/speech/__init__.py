"""Offline narration: speech synthesis with word timings."""

from engines.speech.espeak import SpeechSynthesisError, synthesize_espeak
from engines.speech.piper import PiperSlots, PiperSpeech, PiperVoice, PiperVoiceError, synthesize_piper
from engines.speech.timeline import SegmentTiming, SpeechTimeline, WordTiming

__all__ = [
    "PiperSlots",
    "PiperSpeech",
    "PiperVoice",
    "PiperVoiceError",
    "SegmentTiming",
    "SpeechSynthesisError",
    "SpeechTimeline",
    "WordTiming",
    "synthesize_espeak",
    "synthesize_piper",
]
