"""What every cloud speech test checks: the artifacts look exactly like espeak's (see engines/speech/espeak.py)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from core.domain import StageInput, VideoRequest
from engines.script.writer import Script, write_script
from engines.speech.timeline import SpeechTimeline
from providers.context import ProviderContext
from stages import speech


@dataclass(frozen=True)
class WavFacts:
    codec: str
    sample_rate: int
    channels: int
    duration: float


def probe_wav(path: Path) -> WavFacts:
    """ffprobe's view of a WAV (not our own reader's)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data = json.loads(out)
    stream = data["streams"][0]
    return WavFacts(
        stream["codec_name"], int(stream["sample_rate"]), int(stream["channels"]), float(data["format"]["duration"])
    )


def stage_input(tmp_path: Path, **request: Any) -> StageInput:
    values: dict[str, Any] = {
        "video_id": "vid-speech",
        "topic": "deep sea creatures",
        "channel_id": "ch-1",
        "user_id": "u-1",
        "complexity": "complex",
        "duration_seconds": 30,
        **request,
    }
    return StageInput(
        stage="audio_synthesis",
        request=VideoRequest(**values),
        artifact_dir=str(tmp_path / "videos" / values["video_id"]),
        outbox_dir=str(tmp_path / "outbox"),
    )


def script_for(inp: StageInput) -> Script:
    return write_script(inp.request.topic, inp.request.duration_seconds)


def out_dir(inp: StageInput) -> Path:
    path = Path(inp.artifact_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_timeline(timeline: SpeechTimeline, script: Script, wav: Path) -> WavFacts:
    """The WAV is mono s16 at 48 kHz; the timeline covers it exactly and holds every word in its segment."""
    facts = probe_wav(wav)
    assert (facts.codec, facts.sample_rate, facts.channels) == ("pcm_s16le", 48000, 1)
    assert abs(timeline.duration - facts.duration) < 0.002
    narration = [" ".join(s.split()) for s in script.narration()]
    assert [s.text for s in timeline.segments] == narration
    assert timeline.segments[0].start == 0.0 and timeline.segments[-1].end == timeline.duration
    for before, after in zip(timeline.segments, timeline.segments[1:], strict=False):
        assert before.end == after.start and before.start <= before.end
    for index, text in enumerate(narration):
        words = timeline.segment_words(index)
        assert [w.text for w in words] == text.split()
        segment = timeline.segments[index]
        assert all(segment.start <= w.start <= w.end <= segment.end for w in words)
    starts = [w.start for w in timeline.words]
    assert starts == sorted(starts)
    return facts


def provider_calls(ctx: ProviderContext, provider: str, outcome: str) -> float:
    """`ytempire_provider_calls_total{provider, outcome}` on the context's worker registry (0 when absent)."""
    value = ctx.metrics.registry.get_sample_value(
        "ytempire_provider_calls_total", {"provider": provider, "outcome": outcome}
    )
    return value or 0.0


async def synthesis_failure(ctx: ProviderContext, tmp_path: Path) -> ApplicationError:
    """The ApplicationError that synthesizing the default test narration raises."""
    inp = stage_input(tmp_path)
    with pytest.raises(ApplicationError) as info:
        await speech.synthesize(ctx, inp, script_for(inp), out_dir(inp))
    return info.value
