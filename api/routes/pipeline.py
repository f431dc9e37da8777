"""/pipeline: enqueue, status, cancel and retry videos."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, fields
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Header, HTTPException, Query, Response, status
from fastapi.responses import JSONResponse
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from api.deps import LedgerDep, MetricsDep, SettingsDep, TemporalDep
from api.schemas import (
    ApproveRequest,
    ApproveResponse,
    BatchEnqueueRequest,
    BatchEnqueueResponse,
    BatchItemResult,
    CancelResponse,
    EnqueueRequest,
    EnqueueResponse,
    QueueFullResponse,
    RetryResponse,
    StatusResponse,
    VideoListResponse,
    VideoSummary,
)
from api.status import UnknownVideo, position_and_eta, video_status
from core.domain import FINAL_STATUSES, BudgetApproval, VideoRequest, VideoStatus, workflow_id
from core.errors import QueueFull, RetryRefused
from core.estimates import depth_alerts
from core.records import VideoRow
from core.resume import resume_plan
from core.settings import Settings
from core.stage_table import STAGES
from ledger import Ledger
from stages.scripts import script_language_problem
from workflows.client import start_video
from workflows.video import VideoWorkflow

router = APIRouter(prefix="/pipeline", tags=["pipeline"])
log = logging.getLogger(__name__)


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
    try:
        enqueued, created = await _enqueue(body, idempotency_key, settings, ledger, temporal, metrics)
    except QueueFull as full:
        return JSONResponse(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(settings.queue_retry_after_seconds)},
            content=_queue_full(full, settings).model_dump(),
        )
    if not created:
        response.status_code = status.HTTP_200_OK
    return enqueued


@router.post("/queue/batch", response_model=BatchEnqueueResponse)
async def enqueue_batch(
    body: BatchEnqueueRequest,
    response: Response,
    settings: SettingsDep,
    ledger: LedgerDep,
    temporal: TemporalDep,
    metrics: MetricsDep,
    idempotency_key: Annotated[str | None, Header(max_length=190)] = None,
) -> BatchEnqueueResponse:
    """Enqueue up to 100 videos in order, each admitted on its own like `POST /pipeline/queue`: the answer says per
    video whether it was created, was a repeat, or was rejected (queue full, invalid, not startable) and why.
    Resending the same batch is safe when its videos carry `request_id`s or the batch an `Idempotency-Key`
    (video i then gets the key `<key>:<i>`): what was admitted comes back as `repeated`, the rest is tried again."""
    results: list[BatchItemResult] = []
    for index, item in enumerate(body.videos):
        key = f"{idempotency_key}:{index}" if idempotency_key and not item.request_id else None
        try:
            enqueued, created = await _enqueue(item, key, settings, ledger, temporal, metrics)
        except QueueFull as full:
            error, message = "queue_full", _queue_full(full, settings).message
        except HTTPException as refused:
            error = "unavailable" if refused.status_code == status.HTTP_503_SERVICE_UNAVAILABLE else "invalid"
            message = _detail_message(refused.detail)
        else:
            outcome: Literal["created", "repeated"] = "created" if created else "repeated"
            results.append(BatchItemResult(index=index, request_id=item.request_id, outcome=outcome, video=enqueued))
            continue
        results.append(
            BatchItemResult(index=index, request_id=item.request_id, outcome="rejected", error=error, message=message)
        )
    if any(r.error == "queue_full" for r in results):
        response.headers["Retry-After"] = str(settings.queue_retry_after_seconds)
    return BatchEnqueueResponse(
        created=sum(r.outcome == "created" for r in results),
        repeated=sum(r.outcome == "repeated" for r in results),
        rejected=sum(r.outcome == "rejected" for r in results),
        results=results,
    )


async def _enqueue(
    body: EnqueueRequest,
    idempotency_key: str | None,
    settings: Settings,
    ledger: Ledger,
    temporal: TemporalDep,
    metrics: MetricsDep,
) -> tuple[EnqueueResponse, bool]:
    """Admit one video and start its workflow; (the answer, whether it is new). Raises QueueFull, or an
    HTTPException (422 invalid for this deployment, 503 the workflow could not be started)."""
    started = time.perf_counter()
    if body.cost_cap_usd is not None and body.cost_cap_usd > settings.cost_cap_max_usd:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "loc": ["body", "cost_cap_usd"],
                    "type": "less_than_equal",
                    "msg": f"cost_cap_usd may be at most {settings.cost_cap_max_usd:.2f}; "
                    "an operator can approve more for a running video",
                }
            ],
        )
    request = VideoRequest(
        video_id=str(uuid4()),
        topic=body.topic,
        channel_id=str(body.channel_id),
        user_id=str(body.user_id),
        priority=body.priority,
        complexity=body.complexity,
        duration_seconds=body.duration_seconds,
        orientation=body.orientation,
        cost_cap_usd=body.cost_cap_usd,
        callback_url=str(body.callback_url) if body.callback_url else None,
        language=body.language,
    )
    if problem := script_language_problem(settings, request):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem)
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
        raise
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
        metrics.enqueued.labels("repeated").inc()
    metrics.queue_depth.set(admission.depth)
    row = await ledger.get_video(admission.video_id)
    assert row is not None
    position, eta = await position_and_eta(ledger, settings, row, 0.0, None, [])
    metrics.enqueue_seconds.observe(time.perf_counter() - started)
    answer = EnqueueResponse(
        video_id=UUID(admission.video_id),
        position=position,
        eta=eta or 0,
        workflow_id=workflow_id(admission.video_id),
        status_url=f"/pipeline/status/{admission.video_id}",
    )
    return answer, admission.created


def _queue_full(full: QueueFull, settings: Settings) -> QueueFullResponse:
    return QueueFullResponse(
        message=f"{full}; retry after {settings.queue_retry_after_seconds} s",
        depth=full.depth,
        capacity=full.capacity,
        retry_after_seconds=settings.queue_retry_after_seconds,
    )


def _detail_message(detail: Any) -> str:
    """An HTTPException's detail as one line (our 422s carry FastAPI-style lists of {loc, msg})."""
    if isinstance(detail, list):
        return "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
    return str(detail)


async def _depth_alerts(ledger: Ledger, metrics: MetricsDep, settings: Settings, depth: int) -> None:
    for level, threshold in depth_alerts(
        depth - 1, depth, warning=settings.queue_depth_warning, critical=settings.queue_depth_critical
    ):
        message = f"queue depth {depth} reached the {level} threshold {threshold} (capacity {settings.queue_capacity})"
        log.warning(message)
        metrics.queue_alerts.labels(level).inc()
        await ledger.record_event("queue_depth", level, message, {"depth": depth, "threshold": threshold})


@router.get("/videos", response_model=VideoListResponse)
async def list_videos(
    ledger: LedgerDep,
    channel_id: UUID | None = None,
    video_status: Annotated[
        list[VideoStatus] | None,
        Query(alias="status", description="repeat for several: ?status=failed&status=halted"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> VideoListResponse:
    """Videos newest first from the ledger, by channel and status, a page at a time (e.g. what a batch became)."""
    before = _parse_cursor(cursor) if cursor else None
    rows = await ledger.list_videos(
        channel_id=str(channel_id) if channel_id else None,
        statuses=list(video_status) if video_status else None,
        before=before,
        limit=limit + 1,  # one more tells whether there is a next page
    )
    page = rows[:limit]
    more = len(rows) > limit
    return VideoListResponse(
        videos=[_summary(row) for row in page],
        next_cursor=f"{page[-1].created_at.isoformat()}|{page[-1].video_id}" if more else None,
    )


def _parse_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, video_id = cursor.rsplit("|", 1)
        return datetime.fromisoformat(created), str(UUID(video_id))
    except ValueError as err:
        detail = [{"loc": ["query", "cursor"], "type": "value_error", "msg": "not a cursor from a previous page"}]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from err


def _summary(row: VideoRow) -> VideoSummary:
    data = row.request_data
    return VideoSummary(
        video_id=UUID(row.video_id),
        channel_id=UUID(row.channel_id),
        topic=str(data.get("topic", "")),
        language=str(data.get("language", "en")),
        status=row.status,
        stage=row.stage,
        priority=row.priority,
        complexity=row.complexity,
        cost_usd=row.actual_cost or 0.0,
        created_at=row.created_at,
        completed_at=row.completed_at,
        last_error_type=str(row.error_log[-1].get("type")) if row.error_log else None,
        status_url=f"/pipeline/status/{row.video_id}",
    )


@router.get("/status/{video_id}", response_model=StatusResponse)
async def get_status(video_id: UUID, settings: SettingsDep, ledger: LedgerDep, temporal: TemporalDep) -> StatusResponse:
    """Where a video stands: ledger facts plus live progress from its workflow."""
    try:
        return await video_status(video_id, settings, ledger, temporal)
    except UnknownVideo as unknown:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(unknown)) from unknown


@router.post("/approve/{video_id}", response_model=ApproveResponse)
async def approve_budget(
    video_id: UUID, body: ApproveRequest, ledger: LedgerDep, temporal: TemporalDep
) -> ApproveResponse:
    """Raise a video's cost cap (who and why are recorded); a halted video continues."""
    row = await _video(ledger, video_id)
    if row.status in FINAL_STATUSES:
        raise HTTPException(status.HTTP_409_CONFLICT, f"video {video_id} is already {row.status}")
    handle = temporal.get_workflow_handle_for(VideoWorkflow.run, workflow_id(video_id))
    try:
        progress = await handle.execute_update(
            VideoWorkflow.approve_budget, BudgetApproval(body.new_cap_usd, body.approved_by, body.reason)
        )
    except WorkflowUpdateFailedError as failed:
        cause = failed.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or failed)
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, message) from failed
    return ApproveResponse(
        video_id=video_id,
        status=progress.status,
        cap_usd=progress.cap_usd or body.new_cap_usd,
        cost_usd=progress.cost_usd,
    )


@router.post("/cancel/{video_id}", status_code=status.HTTP_202_ACCEPTED, response_model=CancelResponse)
async def cancel_video(video_id: UUID, ledger: LedgerDep, temporal: TemporalDep) -> CancelResponse:
    """Cancel a queued or running video: its render's ffmpeg is killed, costs so far are kept, partial files go."""
    row = await _video(ledger, video_id)
    if row.status in FINAL_STATUSES:
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
