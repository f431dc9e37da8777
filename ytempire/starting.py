"""How a video's workflow is addressed and fed: one place for the API, scripts, tests and benchmarks."""

from __future__ import annotations

from uuid import UUID

from ytempire.domain import VideoRequest, VideoWorkflowInput
from ytempire.settings import Settings


def workflow_id(video_id: str | UUID) -> str:
    return f"video-{video_id}"


def workflow_input(settings: Settings, request: VideoRequest, **overrides: float) -> VideoWorkflowInput:
    """The workflow input for `request`: its queues, artifact and outbox folders and heartbeat from settings."""
    return VideoWorkflowInput(
        request=request,
        queues=settings.task_queues,
        artifact_dir=str(settings.artifacts_dir / request.video_id),
        outbox_dir=str(settings.outbox_dir),
        render_heartbeat_timeout_seconds=overrides.get(
            "render_heartbeat_timeout_seconds", settings.render_heartbeat_timeout_seconds
        ),
    )
