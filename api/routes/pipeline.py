"""/pipeline: enqueue a video, read its status."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, HTTPException, status
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError

from api.deps import LedgerDep, SettingsDep, TemporalDep
from api.schemas import (
    EnqueueRequest,
    EnqueueResponse,
    StageCost,
    StatusResponse,
    VideoOutputs,
)
from workflows.video import VideoWorkflow
from ytempire.domain import VideoRequest, VideoResult
from ytempire.estimates import eta_seconds
from ytempire.stages import RENDER_STAGE, percent_done
from ytempire.starting import start_video, workflow_id

router = APIRouter(prefix="/pipeline", tags=["pipeline"])
log = logging.getLogger(__name__)


@router.post("/queue", status_code=status.HTTP_201_CREATED, response_model=EnqueueResponse)
async def enqueue_video(
    body: EnqueueRequest, settings: SettingsDep, ledger: LedgerDep, temporal: TemporalDep
) -> EnqueueResponse:
    """Record the video in the ledger and start its workflow `video-<video_id>`."""
    video_id = str(uuid4())
    request = VideoRequest(
        video_id=video_id,
        topic=body.topic,
        channel_id=str(body.channel_id),
        user_id=str(body.user_id),
        priority=body.priority,
        complexity=body.complexity,
        duration_seconds=body.duration_seconds,
        orientation=body.orientation,
    )
    await ledger.insert_video(request, body.model_dump(mode="json"))
    try:
        await start_video(temporal, settings, request)
    except Exception as err:
        await ledger.delete_video(video_id)
        log.exception("could not start workflow for video %s", video_id)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"Temporal is unavailable: {err}") from err
    position = await ledger.queue_position(video_id)
    recent = await ledger.recent_processing_seconds()
    slots = settings.cpu_max_concurrent + settings.gpu_max_concurrent
    return EnqueueResponse(
        video_id=UUID(video_id),
        position=position,
        eta=eta_seconds(position, recent, slots),
        workflow_id=workflow_id(video_id),
        status_url=f"/pipeline/status/{video_id}",
    )


@router.get("/status/{video_id}", response_model=StatusResponse)
async def get_status(video_id: UUID, settings: SettingsDep, ledger: LedgerDep, temporal: TemporalDep) -> StatusResponse:
    """Where a video stands: ledger facts plus live progress from its workflow."""
    row = await ledger.get_video(str(video_id))
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no video with id {video_id}")
    handle = temporal.get_workflow_handle(workflow_id(video_id), result_type=VideoResult)
    progress, outputs = await _live_progress(temporal, handle, row.status)
    position = await ledger.queue_position(str(video_id))
    eta: int | None = None
    if row.status in ("queued", "processing"):
        recent = await ledger.recent_processing_seconds()
        eta = eta_seconds(position, recent, settings.cpu_max_concurrent + settings.gpu_max_concurrent, progress)
    costs = await ledger.stage_costs(str(video_id))
    return StatusResponse(
        video_id=video_id,
        status=row.status,
        stage=row.stage,
        progress=progress,
        eta=eta,
        position=position,
        cost_usd=round(sum(c.amount_usd for c in costs), 4),
        costs=[StageCost(**asdict(c)) for c in costs],
        retry_count=row.retry_count,
        errors=row.error_log,
        created_at=row.created_at,
        processing_started_at=row.processing_started_at,
        completed_at=row.completed_at,
        processing_time_seconds=row.processing_time_seconds,
        workflow_id=handle.id,
        temporal_ui=f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}/workflows/{handle.id}",
        outputs=outputs,
    )


async def _live_progress(
    client: Client, handle: WorkflowHandle[Any, Any], ledger_status: str
) -> tuple[float, VideoOutputs | None]:
    if ledger_status == "queued":
        return 0.0, None
    try:
        desc = await handle.describe()
        if desc.status == WorkflowExecutionStatus.COMPLETED:
            result: VideoResult = await handle.result()
            return 100.0, VideoOutputs(
                mp4_path=result.mp4_path,
                metadata_path=result.metadata_path,
                thumbnail_path=result.thumbnail_path,
            )
        progress = await handle.query(VideoWorkflow.progress)
        fraction = await _render_fraction(client, desc.raw_description.pending_activities)
        if progress.stage == RENDER_STAGE and fraction is not None:
            return percent_done(progress.completed_stages, progress.stage, fraction), None
        return progress.percent, None
    except RPCError:
        log.warning("workflow %s not readable; falling back to the ledger", handle.id, exc_info=True)
        return 0.0, None


async def _render_fraction(client: Client, pending: Any) -> float | None:
    """The render's last heartbeat ({"fraction": 0..1}) from the workflow's pending activities."""
    for act in pending:
        if (
            act.activity_type.name != "render_video"
            or act.state == PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED
        ):
            continue
        if not act.heartbeat_details.payloads:
            return 0.0
        details = await client.data_converter.decode(act.heartbeat_details.payloads)
        if details and isinstance(details[0], dict):
            return float(details[0].get("fraction", 0.0))
    return None


def _exists(path: str) -> bool:
    return Path(path).exists()
