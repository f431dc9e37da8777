"""/pipeline: enqueue, status, cancel and retry videos."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, fields
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Header, HTTPException, Response, status
from fastapi.responses import JSONResponse
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError

from api.deps import LedgerDep, MetricsDep, SettingsDep, TemporalDep
from api.schemas import (
    CancelResponse,
    EnqueueRequest,
    EnqueueResponse,
    QueueFullResponse,
    RetryResponse,
    StageCost,
    StatusResponse,
    VideoOutputs,
)
from workflows.video import VideoWorkflow
from ytempire.domain import VideoRequest, VideoResult
from ytempire.estimates import depth_alerts, eta_seconds
from ytempire.ledger import Ledger, QueueFull, RetryRefused, VideoRow
from ytempire.resume import resume_plan
from ytempire.settings import Settings
from ytempire.stages import RENDER_STAGE, STAGES, percent_done
from ytempire.starting import start_video, workflow_id

router = APIRouter(prefix="/pipeline", tags=["pipeline"])
log = logging.getLogger(__name__)
FINAL = ("completed", "failed", "cancelled")


@router.post(
    "/queue",
    status_code=status.HTTP_201_CREATED,
    response_model=EnqueueResponse,
    responses={
        200: {"model": EnqueueResponse, "description": "a repeated request (same idempotency key)"},
        429: {"model": QueueFullResponse, "description": "the queue is full"},
    },
)
async def enqueue_video(
    body: EnqueueRequest,
    response: Response,
    settings: SettingsDep,
    ledger: LedgerDep,
    temporal: TemporalDep,
    metrics: MetricsDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    """Admit the video (capacity, idempotency), record it in the ledger and start its workflow `video-<id>`."""
    started = time.perf_counter()
    request = VideoRequest(
        video_id=str(uuid4()),
        topic=body.topic,
        channel_id=str(body.channel_id),
        user_id=str(body.user_id),
        priority=body.priority,
        complexity=body.complexity,
        duration_seconds=body.duration_seconds,
        orientation=body.orientation,
    )
    try:
        admission = await ledger.admit(
            request,
            {**asdict(request), "request_id": body.request_id},
            capacity=settings.queue_capacity,
            idempotency_key=idempotency_key or body.request_id,
        )
    except QueueFull as full:
        metrics.enqueued.labels("rejected_full").inc()
        metrics.queue_depth.set(full.depth)
        return JSONResponse(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(settings.queue_retry_after_seconds)},
            content=QueueFullResponse(
                message=f"{full}; retry after {settings.queue_retry_after_seconds} s",
                depth=full.depth,
                capacity=full.capacity,
                retry_after_seconds=settings.queue_retry_after_seconds,
            ).model_dump(),
        )
    if admission.created:
        try:
            await start_video(temporal, settings, request)
        except Exception as err:
            await ledger.delete_video(request.video_id)  # nothing half-created stays behind
            log.exception("could not start workflow for video %s", request.video_id)
            detail = f"could not start the video's workflow: {err}"
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail) from err
        await _depth_alerts(ledger, metrics, settings, admission.depth)
        metrics.enqueued.labels("accepted").inc()
    else:
        response.status_code = status.HTTP_200_OK
        metrics.enqueued.labels("repeated").inc()
    metrics.queue_depth.set(admission.depth)
    row = await ledger.get_video(admission.video_id)
    assert row is not None
    position, eta = await _position_and_eta(ledger, settings, row, 0.0, None, [])
    metrics.enqueue_seconds.observe(time.perf_counter() - started)
    return EnqueueResponse(
        video_id=UUID(admission.video_id),
        position=position,
        eta=eta or 0,
        workflow_id=workflow_id(admission.video_id),
        status_url=f"/pipeline/status/{admission.video_id}",
    )


async def _depth_alerts(ledger: Ledger, metrics: MetricsDep, settings: Settings, depth: int) -> None:
    for level, threshold in depth_alerts(
        depth - 1, depth, warning=settings.queue_depth_warning, critical=settings.queue_depth_critical
    ):
        message = f"queue depth {depth} reached the {level} threshold {threshold} (capacity {settings.queue_capacity})"
        log.warning(message)
        metrics.queue_alerts.labels(level).inc()
        await ledger.record_event("queue_depth", level, message, {"depth": depth, "threshold": threshold})


@router.get("/status/{video_id}", response_model=StatusResponse)
async def get_status(video_id: UUID, settings: SettingsDep, ledger: LedgerDep, temporal: TemporalDep) -> StatusResponse:
    """Where a video stands: ledger facts plus live progress from its workflow."""
    row = await _video(ledger, video_id)
    handle = temporal.get_workflow_handle(workflow_id(video_id), result_type=VideoResult)
    progress, fraction, completed, outputs = await _live_progress(temporal, handle, row.status)
    position, eta = await _position_and_eta(ledger, settings, row, fraction, row.stage, completed)
    costs = await ledger.stage_costs(str(video_id))
    return StatusResponse(
        video_id=video_id,
        status=row.status,
        stage=row.stage,
        progress=progress,
        eta=eta,
        position=position,
        attempts=row.attempts,
        cost_usd=round(sum(c.amount_usd for c in costs), 4),
        costs=[
            StageCost(
                stage=c.stage,
                service=c.service,
                operation=c.operation,
                amount_usd=c.amount_usd,
                attempt=c.video_attempt,
            )
            for c in costs
        ],
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


@router.post("/cancel/{video_id}", status_code=status.HTTP_202_ACCEPTED, response_model=CancelResponse)
async def cancel_video(video_id: UUID, ledger: LedgerDep, temporal: TemporalDep) -> CancelResponse:
    """Cancel a queued or running video: its render's ffmpeg is killed, costs so far are kept, partial files go."""
    row = await _video(ledger, video_id)
    if row.status in FINAL:
        raise HTTPException(status.HTTP_409_CONFLICT, f"video {video_id} is already {row.status}")
    await temporal.get_workflow_handle(workflow_id(video_id)).cancel()
    return CancelResponse(video_id=video_id, status="cancelling")


@router.post("/retry/{video_id}", status_code=status.HTTP_202_ACCEPTED, response_model=RetryResponse)
async def retry_video(video_id: UUID, settings: SettingsDep, ledger: LedgerDep, temporal: TemporalDep) -> RetryResponse:
    """Retry a failed video from its failed stage; stages that succeeded are neither repeated nor paid again."""
    row = await _video(ledger, video_id)
    try:
        attempt = await ledger.begin_retry(str(video_id), settings.max_video_attempts)
    except RetryRefused as refused:
        raise HTTPException(status.HTTP_409_CONFLICT, str(refused)) from refused
    resume = resume_plan(await ledger.stage_costs(str(video_id)), row.stage)
    known = {f.name for f in fields(VideoRequest)}
    request = VideoRequest(**{k: v for k, v in row.request_data.items() if k in known})
    try:
        await start_video(temporal, settings, request, resume=resume, attempt=attempt)
    except Exception as err:
        await ledger.undo_retry(str(video_id))
        log.exception("could not start the retry of video %s", video_id)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"could not start the retry: {err}") from err
    resume_from = next((spec.name for spec in STAGES if spec.name not in resume), None)
    return RetryResponse(video_id=video_id, attempt=attempt, resume_from=resume_from, reused_stages=list(resume))


async def _video(ledger: Ledger, video_id: UUID) -> VideoRow:
    row = await ledger.get_video(str(video_id))
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no video with id {video_id}")
    return row


async def _position_and_eta(
    ledger: Ledger, settings: Settings, row: VideoRow, fraction: float, current: str | None, completed: list[str]
) -> tuple[int, int | None]:
    if row.status not in ("queued", "processing"):
        return 0, None
    position = await ledger.queue_position(row.video_id)
    same_queue = ("simple",) if row.complexity == "simple" else ("complex", "premium")
    slots = settings.cpu_max_concurrent if row.complexity == "simple" else settings.gpu_max_concurrent
    rendering_now = current == RENDER_STAGE
    eta = eta_seconds(
        ahead=await ledger.waiting_ahead(row.video_id, same_queue) if not rendering_now else 0,
        rendering=await ledger.rendering_count(same_queue) if not rendering_now else 0,
        slots=slots,
        medians=await ledger.stage_medians(),
        completed=completed,
        current=current,
        current_fraction=fraction,
    )
    return position, eta


async def _live_progress(
    client: Client, handle: WorkflowHandle[Any, VideoResult], ledger_status: str
) -> tuple[float, float, list[str], VideoOutputs | None]:
    """(percent, current stage fraction, completed stages, outputs) from the workflow itself."""
    if ledger_status == "queued":
        return 0.0, 0.0, [], None
    try:
        desc = await handle.describe()
        # The ledger says completed a moment before the workflow returns its result: wait for that moment.
        if desc.status == WorkflowExecutionStatus.COMPLETED or ledger_status == "completed":
            result = await asyncio.wait_for(handle.result(), timeout=10)
            outputs = VideoOutputs(
                mp4_path=result.mp4_path, metadata_path=result.metadata_path, thumbnail_path=result.thumbnail_path
            )
            return 100.0, 1.0, [s.name for s in STAGES], outputs
        progress = await handle.query(VideoWorkflow.progress)
        fraction = await _render_fraction(client, desc.raw_description.pending_activities)
        if progress.stage == RENDER_STAGE and fraction is not None:
            return (
                percent_done(progress.completed_stages, progress.stage, fraction),
                fraction,
                progress.completed_stages,
                None,
            )
        return progress.percent, 0.0, progress.completed_stages, None
    except (RPCError, TimeoutError):
        log.warning("workflow %s not readable; falling back to the ledger", handle.id, exc_info=True)
        return 0.0, 0.0, [], None


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
