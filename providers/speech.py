"""audio_synthesis: espeak-ng (local, default), ElevenLabs or Google Cloud Text-to-Speech.

Every provider leaves the same artifacts: voice.wav (mono s16), timeline.json (word and segment timings, from
which captions are cut) and captions.ass.
"""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.exceptions import ApplicationError

from activities.captions import write_ass
from activities.script_writer import Script
from activities.speech.espeak import synthesize_espeak
from activities.speech.timeline import SpeechTimeline
from activities.stage_runner import StageOutcome
from providers.context import ProviderContext
from providers.selection import provider_for
from ytempire.domain import StageInput, VideoRequest
from ytempire.ledger import CostLine
from ytempire.settings import Settings


async def synthesize(ctx: ProviderContext, inp: StageInput, script: Script, out_dir: Path) -> StageOutcome:
    provider = provider_for(ctx.settings, "tts", inp.request.complexity)
    wav = out_dir / "voice.wav"
    if provider == "local":
        timeline = await synthesize_espeak(
            script.narration(),
            wav,
            voice=ctx.settings.espeak_voice,
            words_per_minute=ctx.settings.words_per_minute,
        )
        cost = ctx.overhead("tts_local", "espeak_ng", seconds=timeline.duration)
        label = "espeak-ng"
    else:
        raise ApplicationError(f"unknown TTS provider {provider!r}", type="InvalidConfiguration", non_retryable=True)
    return _outcome(inp, out_dir, wav, timeline, cost, label)


def _outcome(
    inp: StageInput, out_dir: Path, wav: Path, timeline: SpeechTimeline, cost: CostLine, provider: str
) -> StageOutcome:
    timeline_path = out_dir / "timeline.json"
    timeline_path.write_text(json.dumps(timeline.to_json()))
    width, height = inp.request.resolution
    captions = write_ass(
        timeline,
        out_dir / "captions.ass",
        width=width,
        height=height,
        style="basic" if inp.request.complexity == "simple" else "styled",
    )
    return StageOutcome(
        {"voice": str(wav), "timeline": str(timeline_path), "captions": str(captions)},
        cost,
        {"narration_seconds": round(timeline.duration, 3), "provider": provider},
    )


def estimate_usd(settings: Settings, request: VideoRequest) -> float:
    """Upper bound of what this stage may charge `request` (the cost guard checks it before the stage)."""
    return settings.overhead_usd_per_stage
