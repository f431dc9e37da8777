"""A fake `render_video` that records which video each render slot took, in the order the slots took them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from temporalio import activity

from core.domain import StageInput, StageResult, VideoRequest


@dataclass
class RecordingRender:
    """Holds a render slot for `hold` seconds; records each render's request (and attempt) as it starts."""

    hold: float = 0.25
    started: list[VideoRequest] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)
    running: int = 0
    peak: int = 0

    @activity.defn(name="render_video")
    async def render_video(self, inp: StageInput) -> StageResult:
        self.started.append(inp.request)
        self.attempts.append(activity.info().attempt)
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await asyncio.sleep(self.hold)
        finally:
            self.running -= 1
        return StageResult(stage=inp.stage, artifacts={"video": "/fake/final.mp4"}, cost_usd=0.01)
