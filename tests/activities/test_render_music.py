"""The render stage with a music library: the channel's mood under the voice, in a video QA passes at YouTube's
loudness; music the library cannot serve fails the video with InvalidConfiguration."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.pipeline import PipelineActivities
from activities.rendering import RenderActivities
from core.domain import StageInput
from core.errors import ErrorType
from core.settings import Settings
from ledger import Ledger
from telemetry.worker_metrics import WorkerMetrics
from tests.admission import admitted_video


def track(path: Path, source: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", source, str(path)], check=True)


async def test_the_channels_music_plays_under_the_voice_and_passes_qa(
    tmp_path: Path, ledger: Ledger, dev_env: WorkflowEnvironment
) -> None:
    library = tmp_path / "music"
    track(library / "calm" / "pad.flac", "anoisesrc=c=brown:d=20:a=0.3:s=1")
    track(library / "upbeat" / "run.flac", "sine=f=330:d=20")
    request = await admitted_video(ledger, "octopus hearts", duration_seconds=30)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path / "data",
        music_dir=library,
        channel_music={request.channel_id: "calm"},
    )
    stages = PipelineActivities(settings, ledger, WorkerMetrics())
    env = ActivityEnvironment(client=dev_env.client)
    video_dir = str(settings.artifacts_dir / request.video_id)
    artifacts: dict[str, str] = {}
    for name, run in (
        ("script_generation", stages.generate_script),
        ("audio_synthesis", stages.synthesize_audio),
        ("media_collection", stages.collect_media),
    ):
        result = await env.run(run, StageInput(name, request, video_dir, str(settings.outbox_dir), dict(artifacts)))
        artifacts.update(result.artifacts)

    render = RenderActivities(settings, ledger, prefer_gpu=False, metrics=WorkerMetrics())
    inp = StageInput("video_rendering", request, video_dir, str(settings.outbox_dir), dict(artifacts))
    rendered = await env.run(render.render_video, inp)
    assert rendered.details["music"] == "calm/pad.flac"
    assert float(rendered.details["loudness_seconds"]) > 0

    qa = await env.run(
        stages.validate_quality,
        StageInput("quality_validation", request, video_dir, str(settings.outbox_dir), artifacts | rendered.artifacts),
    )
    assert -15.0 <= float(qa.details["lufs"]) <= -13.0 and float(qa.details["true_peak_dbtp"]) <= -1.0

    # Music the library cannot serve (a file removed since admission) stops the video with the reason.
    other = await admitted_video(ledger, "octopus hearts", duration_seconds=30)
    gone = dataclasses.replace(other, music="calm/removed.flac")
    with pytest.raises(ApplicationError) as err:
        await env.run(render.render_video, dataclasses.replace(inp, request=gone))
    assert err.value.type == ErrorType.INVALID_CONFIGURATION and err.value.non_retryable
    assert "'calm/removed.flac' is not a file of the music library" in str(err.value)
