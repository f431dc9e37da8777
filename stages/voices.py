"""Which local voice speaks a video, and how fast: read by the speech stage, and by the script stage to size a
template script for it."""

from __future__ import annotations

from core import cost_policy
from core.domain import VideoRequest
from core.languages import piper_match
from core.settings import Settings
from engines.speech.espeak import SpeechSynthesisError
from engines.speech.piper import PIPER_WORDS_PER_SECOND, PiperVoice, bundled_voice, read_voice, voices_in
from stages.selection import provider_for


def local_voice(settings: Settings, request: VideoRequest) -> PiperVoice | None:
    """The Piper voice that speaks `request` offline, or None when espeak-ng does: the voice the request names, else
    the best fit for its language among the default voice and those of YTEMPIRE_PIPER_VOICES_DIR (the same region
    first, then the default voice). SpeechSynthesisError when a configured voice is unusable or the bundled one is
    not installed."""
    if request.voice is not None and settings.piper_voices_dir is not None:
        return read_voice(settings.piper_voices_dir / f"{request.voice}.onnx")
    if not settings.piper_enabled:
        return None
    candidates = [read_voice(settings.piper_voice or bundled_voice())]
    if settings.piper_voices_dir is not None:
        candidates += voices_in(settings.piper_voices_dir)
    best = max(candidates, key=lambda v: piper_match(v.language, request.language))  # the first of equals
    return best if piper_match(best.language, request.language) else None


def words_per_second(settings: Settings, request: VideoRequest) -> float:
    """How fast the voice that will speak `request` says a script: Piper's measured pace, else the cost policy's
    (espeak-ng and the cloud voices)."""
    if provider_for(settings, "tts", request.complexity) != "local":
        return cost_policy.WORDS_PER_SECOND
    try:
        voice = local_voice(settings, request)
    except SpeechSynthesisError:  # the speech stage says what is wrong with the voice
        return cost_policy.WORDS_PER_SECOND
    return PIPER_WORDS_PER_SECOND if voice is not None else cost_policy.WORDS_PER_SECOND
