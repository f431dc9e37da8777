"""audio_synthesis: Piper or espeak-ng (local, default), ElevenLabs, Google Text-to-Speech or OpenAI-compatible speech.

The local provider speaks with a Piper neural voice where one speaks the video's language (the bundled
en_US-joe-medium for English, YTEMPIRE_PIPER_VOICE, a voice of YTEMPIRE_PIPER_VOICES_DIR) and with espeak-ng
otherwise. Every provider leaves the same artifacts: voice.wav (mono s16, 48 kHz), timeline.json (word and segment
timings, from which captions are cut) and captions.ass. A cloud provider's result is cached by provider, voice
settings and the exact narration: a repeat materialises voice.wav and timeline.json and calls nothing.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from temporalio.exceptions import ApplicationError

from core import cost_policy
from core.domain import StageInput, VideoRequest
from core.errors import ErrorType
from core.languages import espeak_voice, piper_match
from core.records import CostLine, StageOutcome
from core.settings import Settings
from engines.captions import write_ass
from engines.files import link_or_copy
from engines.render.layout import frame_layout
from engines.script.writer import Script
from engines.speech.cloud_audio import CloudSpeech, normalize_segments
from engines.speech.espeak import SpeechSynthesisError, synthesize_espeak
from engines.speech.piper import PiperVoiceError, read_voice, synthesize_piper
from engines.speech.timeline import SpeechTimeline
from providers import elevenlabs_tts, google_tts, openai_tts
from providers.cache import cache_key
from providers.context import ProviderContext
from stages.selection import provider_for
from stages.voices import local_voice

CloudSynthesis = Callable[[ProviderContext, Sequence[str], Path, str], Awaitable[CloudSpeech]]
# provider -> (synthesis, cache variant for a language, USD for N characters)
_CLOUD: dict[str, tuple[CloudSynthesis, Callable[[Settings, str], str], Callable[[Settings, int], float]]] = {
    "elevenlabs": (elevenlabs_tts.synthesize_elevenlabs, elevenlabs_tts.variant, cost_policy.elevenlabs_usd),
    "google": (google_tts.synthesize_google, google_tts.variant, cost_policy.google_tts_usd),
    "openai": (openai_tts.synthesize_openai, openai_tts.variant, cost_policy.openai_tts_usd),
}


async def synthesize(ctx: ProviderContext, inp: StageInput, script: Script, out_dir: Path) -> StageOutcome:
    provider = provider_for(ctx.settings, "tts", inp.request.complexity)
    if provider == "local":
        return await _local(ctx, inp, script, out_dir)
    if provider not in _CLOUD:
        raise ApplicationError(
            f"unknown TTS provider {provider!r}", type=ErrorType.INVALID_CONFIGURATION, non_retryable=True
        )
    return await _cloud(ctx, inp, provider, script, out_dir)


async def _local(ctx: ProviderContext, inp: StageInput, script: Script, out_dir: Path) -> StageOutcome:
    """Piper where a Piper voice speaks the video's language, else espeak-ng; charged as local compute."""
    if problem := voice_problem(ctx.settings, inp.request):
        raise ApplicationError(problem, type=ErrorType.INVALID_REQUEST, non_retryable=True)
    try:
        voice = local_voice(ctx.settings, inp.request)
    except SpeechSynthesisError as err:  # a configured voice is missing or broken, or the bundled one not installed
        raise _unusable(err) from None
    wav = out_dir / "voice.wav"
    if voice is None:
        espeak = espeak_voice(inp.request.language, ctx.settings.espeak_voice)
        timeline = await synthesize_espeak(
            script.narration(), wav, voice=espeak, words_per_minute=ctx.settings.words_per_minute
        )
        cost = ctx.overhead("tts_local", "espeak_ng", seconds=timeline.duration)
        return _outcome(ctx, inp, script, out_dir, wav, timeline, cost, {"provider": "espeak-ng", "voice": espeak})
    try:
        speech = await synthesize_piper(script.narration(), wav, voice, slots=ctx.piper_slots)
    except PiperVoiceError as err:  # the model does not load
        raise _unusable(err) from None
    cost = ctx.overhead("tts_local", "piper", seconds=speech.timeline.duration)
    details: dict[str, str | float] = {"provider": "piper", "voice": voice.name, "word_times": speech.word_times}
    return _outcome(ctx, inp, script, out_dir, wav, speech.timeline, cost, details)


def _unusable(err: SpeechSynthesisError) -> ApplicationError:
    return ApplicationError(
        f"the local voice is not usable: {err}", type=ErrorType.INVALID_CONFIGURATION, non_retryable=True
    )


def voice_problem(settings: Settings, request: VideoRequest) -> str | None:
    """Why the Piper voice `request` names cannot speak it here, or None (also when it names none)."""
    name = request.voice
    if name is None:
        return None
    provider = provider_for(settings, "tts", request.complexity)
    if provider != "local":
        return f"voice names a Piper voice, but {request.complexity} videos are spoken by {provider} here"
    if not settings.piper_enabled:
        return "voice names a Piper voice, but Piper voices are off here (YTEMPIRE_PIPER_ENABLED=false)"
    if settings.piper_voices_dir is None:
        return "voice names a Piper voice, but there are none to choose from here (YTEMPIRE_PIPER_VOICES_DIR is unset)"
    if Path(name).name != name or name.startswith("."):
        return f"{name!r} is not a voice name (a file name in YTEMPIRE_PIPER_VOICES_DIR without .onnx)"
    try:
        voice = read_voice(settings.piper_voices_dir / f"{name}.onnx")
    except PiperVoiceError as err:
        return f"the Piper voice {name!r} is not usable: {err.reason}"
    if not piper_match(voice.language, request.language):
        return f"the Piper voice {name!r} speaks {voice.language}, not the video's language {request.language!r}"
    return None


async def _cloud(ctx: ProviderContext, inp: StageInput, provider: str, script: Script, out_dir: Path) -> StageOutcome:
    synthesize_with, variant, _ = _CLOUD[provider]
    try:
        texts = normalize_segments(script.narration())
    except ValueError as err:
        raise ApplicationError(
            f"the script cannot be spoken: {err}", type=ErrorType.INVALID_REQUEST, non_retryable=True
        ) from None
    characters, budget = len(" ".join(texts)), cost_policy.max_narration_chars(inp.request.duration_seconds)
    if characters > budget:
        raise ApplicationError(
            f"the narration has {characters} characters, more than the {budget} that a "
            f"{inp.request.duration_seconds}-second video may send to {provider} (its cost estimate): "
            "shorten the script",
            type=ErrorType.NARRATION_TOO_LONG,
            non_retryable=True,
        )
    wav = out_dir / "voice.wav"
    language = inp.request.language
    key = cache_key("speech", provider, variant(ctx.settings, language), texts)
    if (entry := ctx.cache.lookup("speech", key)) is not None:
        link_or_copy(entry / "voice.wav", wav)
        timeline = SpeechTimeline.from_json(json.loads((entry / "timeline.json").read_text()))
        cost = ctx.overhead(provider, "speech_cache_hit", characters=characters, cache="hit")
        return _outcome(ctx, inp, script, out_dir, wav, timeline, cost, {"provider": provider, "cache": "hit"})
    speech = await synthesize_with(ctx, texts, wav, language)
    timeline_path = out_dir / "timeline.json"
    timeline_path.write_text(json.dumps(speech.timeline.to_json()))
    ctx.cache.store("speech", key, {"voice.wav": wav, "timeline.json": timeline_path})
    cost = CostLine(
        provider,
        "text_to_speech",
        speech.cost_usd,
        {
            "characters": speech.characters,
            "requests": speech.requests,
            "variant": variant(ctx.settings, language),
            "cache": "miss",
        },
    )
    details: dict[str, str | float] = {"provider": provider, "cache": "miss", "characters": speech.characters}
    if speech.word_times is not None:
        details["word_times"] = speech.word_times
    return _outcome(ctx, inp, script, out_dir, wav, speech.timeline, cost, details)


def _outcome(
    ctx: ProviderContext,
    inp: StageInput,
    script: Script,
    out_dir: Path,
    wav: Path,
    timeline: SpeechTimeline,
    cost: CostLine,
    details: dict[str, str | float],
) -> StageOutcome:
    timeline_path = out_dir / "timeline.json"
    timeline_path.write_text(json.dumps(timeline.to_json()))
    width, height = inp.request.resolution
    style = ctx.settings.caption_style_for(inp.request.channel_id)
    # The media stage lays the title card out with the same function and inputs, so the two agree.
    layout = frame_layout(width, height, script.title, style, inp.request.language)
    captions = write_ass(timeline, out_dir / "captions.ass", layout, highlight=style.highlights(inp.request.complexity))
    return StageOutcome(
        {"voice": str(wav), "timeline": str(timeline_path), "captions": str(captions)},
        cost,
        {"narration_seconds": round(timeline.duration, 3), **details},
    )


def estimate_usd(settings: Settings, request: VideoRequest) -> float:
    """Upper bound of what this stage may charge `request` (the cost guard checks it before the stage)."""
    provider = provider_for(settings, "tts", request.complexity)
    if provider in _CLOUD:
        _, _, usd_for = _CLOUD[provider]
        return max(
            usd_for(settings, cost_policy.max_narration_chars(request.duration_seconds)),
            settings.overhead_usd_per_stage,
        )
    return settings.overhead_usd_per_stage
