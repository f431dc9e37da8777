"""A worker runs at most YTEMPIRE_PIPER_MAX_CONCURRENT Piper children: a synthesis past the limit waits for a slot,
heartbeating as every running stage does, and a cancel while it waits ends it without a child and without a slot."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities.pipeline import PipelineActivities
from core.domain import StageInput
from core.settings import Settings
from engines.script.writer import write_script
from ledger import Ledger
from telemetry.worker_metrics import WorkerMetrics
from tests.admission import admitted_video
from tests.engines.test_piper import PiperChildren


async def speech_input(ledger: Ledger, tmp_path: Path, topic: str) -> StageInput:
    request = await admitted_video(ledger, topic)
    artifact_dir = tmp_path / request.video_id
    artifact_dir.mkdir()
    script = artifact_dir / "script.json"
    script.write_text(json.dumps(write_script(topic, request.duration_seconds).to_json()))
    return StageInput("audio_synthesis", request, str(artifact_dir), str(tmp_path / "outbox"), {"script": str(script)})


async def test_a_synthesis_waiting_for_a_piper_slot_heartbeats_and_ends_at_a_cancel(
    tmp_path: Path, ledger: Ledger
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, piper_max_concurrent=1)  # type: ignore[call-arg]
    stages = PipelineActivities(settings, ledger, WorkerMetrics())
    speaking, waiting = [await speech_input(ledger, tmp_path, topic) for topic in ("octopus hearts", "glass frogs")]
    children = PiperChildren()
    speaking_env, waiting_env = ActivityEnvironment(), ActivityEnvironment()
    beats: list[Any] = []
    beaten = asyncio.Event()

    def heartbeat(*details: Any) -> None:
        beats.append(details)
        if len(beats) == 3:  # one at once, then one a second
            beaten.set()

    waiting_env.on_heartbeat = heartbeat
    spoken = asyncio.ensure_future(speaking_env.run(stages.synthesize_audio, speaking))
    await asyncio.wait_for(children.started.wait(), 30)
    waited = asyncio.ensure_future(waiting_env.run(stages.synthesize_audio, waiting))
    await asyncio.wait_for(beaten.wait(), 30)
    assert not spoken.done() and len(children.seen) == 1, "the first synthesis ended before the test could wait"
    assert beats[-1][0]["stage"] == "audio_synthesis"
    asked = time.monotonic()
    waiting_env.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waited
    assert time.monotonic() - asked < 1.0
    assert (await spoken).details["provider"] == "piper"
    assert len(await children.stop()) == 1  # the cancelled synthesis never started a child
    assert not (Path(waiting.artifact_dir) / "voice.wav").exists()
