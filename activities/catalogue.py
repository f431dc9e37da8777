"""The activity behind each stage: the stage table (core) holds their names, this module the definitions, so the
workflow calls each stage's activity by reference and a worker registers the stages of its queue from the table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from activities.pipeline import PipelineActivities
from activities.rendering import RenderActivities
from core import activity_names
from core.domain import StageInput, StageResult
from core.stage_table import STAGES

StageActivity = Callable[[Any, StageInput], Awaitable[StageResult]]

STAGE_ACTIVITIES: dict[str, StageActivity] = {
    activity_names.GENERATE_SCRIPT: PipelineActivities.generate_script,
    activity_names.SYNTHESIZE_AUDIO: PipelineActivities.synthesize_audio,
    activity_names.COLLECT_MEDIA: PipelineActivities.collect_media,
    activity_names.RENDER_VIDEO: RenderActivities.render_video,
    activity_names.VALIDATE_QUALITY: PipelineActivities.validate_quality,
    activity_names.PREPARE_UPLOAD: PipelineActivities.prepare_upload,
}


def stage_activities(host: PipelineActivities | RenderActivities, queue: str) -> list[Callable[..., Any]]:
    """`host`'s bound activities for the stages the table puts on `queue` ("pipeline" or "render")."""
    return [getattr(host, STAGE_ACTIVITIES[spec.activity].__name__) for spec in STAGES if spec.queue == queue]
