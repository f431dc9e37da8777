"""The client side of the workflows: connect to Temporal, and address, feed and start a video's workflow; one place
for the API, scripts, tests and benchmarks."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import Priority, WorkflowIDReusePolicy
from temporalio.runtime import Runtime

from core import search_attributes
from core.domain import StageResult, VideoRequest, VideoResult, VideoWorkflowInput, workflow_id
from core.settings import Settings
from stages.cost_model import video_budget
from stages.scripts import script_language_problem
from workflows.video import VideoWorkflow

TOP_PRIORITY = 10


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """The one place that connects to Temporal (address, namespace, data converter)."""
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace, runtime=runtime)


def task_priority(request: VideoRequest) -> Priority:
    """Request priority 10 (most urgent) → priority_key 1 (runs first); one fairness bucket per channel."""
    return Priority(priority_key=TOP_PRIORITY + 1 - request.priority, fairness_key=request.channel_id)


def request_problem(settings: Settings, request: VideoRequest) -> str | None:
    """Why this deployment's providers cannot make `request` (a language its script writers do not write), or None."""
    return script_language_problem(settings, request)


def workflow_input(
    settings: Settings,
    request: VideoRequest,
    *,
    resume: dict[str, StageResult] | None = None,
    attempt: int = 1,
    **overrides: float,
) -> VideoWorkflowInput:
    """The workflow input for `request`: its queues, artifact and outbox folders and heartbeat from settings."""
    return VideoWorkflowInput(
        request=request,
        queues=settings.task_queues,
        artifact_dir=str(settings.artifacts_dir / request.video_id),
        outbox_dir=str(settings.outbox_dir),
        render_heartbeat_timeout_seconds=overrides.get(
            "render_heartbeat_timeout_seconds", settings.render_heartbeat_timeout_seconds
        ),
        resume=resume or {},
        attempt=attempt,
        budget=video_budget(settings, request),
    )


async def start_video(
    client: Client,
    settings: Settings,
    request: VideoRequest,
    *,
    with_search_attributes: bool = True,
    **input_options: Any,
) -> WorkflowHandle[Any, VideoResult]:
    """Start `video-<id>` with its priority, fairness key, search attributes and UI summary."""
    return await client.start_workflow(
        VideoWorkflow.run,
        workflow_input(settings, request, **input_options),
        id=workflow_id(request.video_id),
        task_queue=settings.task_queue_pipeline,
        priority=task_priority(request),
        # A failed video may be retried as a whole (a new run, same id); anything else keeps its single run.
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        search_attributes=(
            search_attributes.at_start(
                channel_id=request.channel_id, priority=request.priority, complexity=request.complexity
            )
            if with_search_attributes
            else None
        ),
        static_summary=f"{request.complexity} video: {request.topic}",
        static_details=(
            f"channel `{request.channel_id}` · priority {request.priority} · {request.orientation} · "
            f"{request.duration_seconds} s target"
        ),
        memo={"topic": request.topic, "channel_id": request.channel_id},
    )
