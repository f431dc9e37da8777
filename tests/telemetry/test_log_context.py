"""An engine's plain module logger, called from an activity, writes lines that name the activity's video and stage."""

from __future__ import annotations

import dataclasses
import logging

from temporalio import activity
from temporalio.testing import ActivityEnvironment

from telemetry.log_context import ActivityContextFilter

engine_log = logging.getLogger("engines.render.runner")


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@activity.defn(name="render_video")
async def render_video(seconds: float) -> None:
    engine_log.warning("rendered %.1f s", seconds)  # as an engine would, knowing nothing of Temporal
    activity.logger.warning("stage done")  # the activity's own logger adds its context itself


async def test_engine_lines_inside_an_activity_carry_its_context_once() -> None:
    handler = Captured()
    handler.addFilter(ActivityContextFilter())
    for logger in (engine_log, activity.logger.logger):
        logger.addHandler(handler)
    try:
        env = ActivityEnvironment()
        env.info = dataclasses.replace(env.info, activity_type="render_video", workflow_id="video-42", attempt=2)
        await env.run(render_video, 12.5)
        engine_log.warning("outside any activity")
    finally:
        for logger in (engine_log, activity.logger.logger):
            logger.removeHandler(handler)
    engine, own, outside = handler.lines
    assert engine.startswith("rendered 12.5 s (") and "'activity_type': 'render_video'" in engine
    assert "'workflow_id': 'video-42'" in engine and "'attempt': 2" in engine
    assert own.startswith("stage done (") and own.count("activity_type") == 1  # not twice
    assert outside == "outside any activity"
