"""/pipeline: enqueue, list, status, approve, cancel and retry videos. Thin: each route calls a service
(api/admission.py, api/operations.py, api/status.py); their domain errors become HTTP in api/errors.py."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response, status
from fastapi.responses import FileResponse

from api.admission import Admitter
from api.audit import audit_detail
from api.auth import Operator, Viewer, require
from api.deps import LedgerDep, MetricsDep, SettingsDep, TemporalDep
from api.operations import Operations, visible_video
from api.schemas import (
    ApproveRequest,
    ApproveResponse,
    BatchEnqueueRequest,
    BatchEnqueueResponse,
    CancelResponse,
    EnqueueRequest,
    EnqueueResponse,
    QueueFullResponse,
    RetryResponse,
    StatusResponse,
    VideoListResponse,
)
from api.status import video_status
from core.domain import VideoStatus
from core.outbox import MEDIA_TYPES, OutboxFile, outbox_file
from core.principals import Role

router = APIRouter(prefix="/pipeline", tags=["pipeline"])
VIEWER = [Depends(require(Role.VIEWER))]
OPERATOR = [Depends(require(Role.OPERATOR))]  # spends money or changes a video


def admitter(
    settings: SettingsDep, ledger: LedgerDep, temporal: TemporalDep, metrics: MetricsDep, principal: Operator
) -> Admitter:
    return Admitter(settings, ledger, temporal, metrics, principal)


def operations(settings: SettingsDep, ledger: LedgerDep, temporal: TemporalDep, principal: Viewer) -> Operations:
    """What a principal does to videos; the route's own dependency says which role it needs beyond viewer."""
    return Operations(settings, ledger, temporal, principal)


AdmitterDep = Annotated[Admitter, Depends(admitter)]
OperationsDep = Annotated[Operations, Depends(operations)]


@router.post(
    "/queue",
    dependencies=OPERATOR,
    status_code=status.HTTP_201_CREATED,
    response_model=EnqueueResponse,
    responses={
        200: {"model": EnqueueResponse, "description": "a repeated request (same idempotency key)"},
        202: {
            "model": EnqueueResponse,
            "description": "recorded, but Temporal did not confirm the start (`started: false`): the reconciler "
            "starts it, and a resend with the same idempotency key tries at once",
        },
        429: {"model": QueueFullResponse, "description": "the queue is full"},
    },
)
async def enqueue_video(
    body: EnqueueRequest,
    request: Request,
    response: Response,
    admit: AdmitterDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    """Admit the video (capacity, idempotency), record it in the ledger and start its workflow `video-<id>`."""
    audit_detail(request).update(channel_id=str(body.channel_id), idempotency_key=idempotency_key)
    enqueued, created = await admit.enqueue(body, idempotency_key)
    audit_detail(request).update(video_id=str(enqueued.video_id), created=created, started=enqueued.started)
    if not created:
        response.status_code = status.HTTP_200_OK
    elif not enqueued.started:
        response.status_code = status.HTTP_202_ACCEPTED
    return enqueued


@router.post("/queue/batch", response_model=BatchEnqueueResponse, dependencies=OPERATOR)
async def enqueue_batch(
    body: BatchEnqueueRequest,
    request: Request,
    response: Response,
    admit: AdmitterDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=190)] = None,
) -> BatchEnqueueResponse:
    """Enqueue up to 100 videos in order, each admitted on its own like `POST /pipeline/queue`: the answer says per
    video whether it was created, was a repeat, or was rejected (queue full, invalid, not startable) and why.
    Resending the same batch is safe when its videos carry `request_id`s or the batch an `Idempotency-Key`
    (video i then gets the key `<key>:<i>`): what was admitted comes back as `repeated`, the rest is tried again."""
    answer = await admit.enqueue_batch(body, idempotency_key)
    audit_detail(request).update(
        created=[str(r.video.video_id) for r in answer.results if r.outcome == "created" and r.video],
        repeated=answer.repeated,
        rejected=answer.rejected,
    )
    if any(r.error == "queue_full" for r in answer.results):
        response.headers["Retry-After"] = str(settings.queue_retry_after_seconds)
    return answer


@router.get("/videos", response_model=VideoListResponse, dependencies=VIEWER)
async def list_videos(
    ops: OperationsDep,
    channel_id: UUID | None = None,
    video_status: Annotated[
        list[VideoStatus] | None,
        Query(alias="status", description="repeat for several: ?status=failed&status=halted"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> VideoListResponse:
    """Videos newest first from the ledger, by channel and status, a page at a time (e.g. what a batch became)."""
    return await ops.list_videos(channel_id=channel_id, statuses=video_status, limit=limit, cursor=cursor)


@router.get("/status/{video_id}", response_model=StatusResponse, dependencies=VIEWER)
async def get_status(
    video_id: UUID, settings: SettingsDep, ledger: LedgerDep, temporal: TemporalDep, principal: Viewer
) -> StatusResponse:
    """Where a video stands: ledger facts plus live progress from its workflow."""
    await visible_video(ledger, principal, video_id)
    return await video_status(video_id, settings, ledger, temporal)


@router.get(
    "/videos/{video_id}/files/{name}",
    response_class=FileResponse,
    dependencies=VIEWER,
    responses={
        200: {"content": {media: {} for media in MEDIA_TYPES.values()}, "description": "the file"},
        206: {"description": "the bytes of the `Range` asked for (a player seeking)"},
        404: {"description": "no such video for this principal, not finished, or the file is gone"},
    },
)
async def video_file(
    video_id: UUID, name: OutboxFile, settings: SettingsDep, ledger: LedgerDep, principal: Viewer
) -> FileResponse:
    """A finished video's MP4, thumbnail or upload metadata from the outbox, with HTTP range requests (a player seeks
    with them). Reads the browser's session cookie, so a page's `<video src>` plays it."""
    row = await visible_video(ledger, principal, video_id)
    path = outbox_file(settings.outbox_dir, str(video_id), name)
    if row.status != "completed" or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"video {video_id} has no {name}: it is {row.status}")
    return FileResponse(path, media_type=MEDIA_TYPES[name], headers={"Cache-Control": "private, max-age=3600"})


@router.post(
    "/approve/{video_id}",
    response_model=ApproveResponse,
    responses={403: {"description": "below operator, or a cap above the role's approval ceiling"}},
)
async def approve_budget(
    video_id: UUID, body: ApproveRequest, request: Request, ops: OperationsDep, principal: Operator
) -> ApproveResponse:
    """Raise a video's cost cap (the signed-in principal and the reason are recorded); a halted video continues. An
    operator may approve up to YTEMPIRE_OPERATOR_APPROVAL_CEILING_USD, an admin up to YTEMPIRE_COST_CAP_CEILING_USD."""
    audit_detail(request).update(
        temporal="update approve_budget",
        new_cap_usd=body.new_cap_usd,
        reason=body.reason,
        on_behalf_of=body.approved_by,
    )
    return await ops.approve(video_id, body, principal)


@router.post(
    "/cancel/{video_id}", status_code=status.HTTP_202_ACCEPTED, response_model=CancelResponse, dependencies=OPERATOR
)
async def cancel_video(video_id: UUID, request: Request, ops: OperationsDep) -> CancelResponse:
    """Cancel a queued or running video: its render's ffmpeg is killed, costs so far are kept, partial files go."""
    audit_detail(request).update(temporal="cancel")
    await ops.cancel(video_id)
    return CancelResponse(video_id=video_id, status="cancelling")


@router.post(
    "/retry/{video_id}", status_code=status.HTTP_202_ACCEPTED, response_model=RetryResponse, dependencies=OPERATOR
)
async def retry_video(video_id: UUID, request: Request, ops: OperationsDep) -> RetryResponse:
    """Retry a failed video from its failed stage; stages that succeeded are neither repeated nor paid again."""
    retried = await ops.retry(video_id)
    audit_detail(request).update(temporal="start", attempt=retried.attempt, started=retried.started)
    return retried
