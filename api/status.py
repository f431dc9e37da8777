"""A video's status, as REST returns it and the WebSocket stream pushes it: ledger facts plus live progress."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError

from api.schemas import FailureInfo, StageCost, StageRunOut, StatusResponse, VideoOutputs
from api.server_paths import ServerPaths
from core import cost_policy
from core.domain import Progress, VideoResult, render_role, rendered_alike, workflow_id
from core.errors import UnknownVideo
from core.estimates import eta_seconds
from core.records import CostRow, VideoRow
from core.settings import Settings
from core.stage_table import RENDER_STAGE, STAGES
from ledger import Ledger
from workflows.video import VideoWorkflow

log = logging.getLogger(__name__)


async def video_status(video_id: UUID, settings: Settings, ledger: Ledger, temporal: Client) -> StatusResponse:
    """Where a video stands now; raises UnknownVideo for an id the ledger does not know."""
    row = await ledger.get_video(str(video_id))
    if row is None:
        raise UnknownVideo(video_id)
    handle = temporal.get_workflow_handle(workflow_id(video_id), result_type=VideoResult)
    paths = ServerPaths(settings.data_dir)
    live = await _live_progress(handle, row.status, paths)
    position, eta = await position_and_eta(ledger, settings, row, live.fraction, row.stage, live.completed)
    requested_cap = cost_policy.cap_usd(settings, row.request_data.get("cost_cap_usd"))
    costs = await ledger.stage_costs(str(video_id))
    failed = await ledger.failed_charges(str(video_id))
    return StatusResponse(
        video_id=video_id,
        topic=str(row.request_data.get("topic", "")),
        status=row.status,
        stage=row.stage,
        progress=live.percent,
        eta=eta,
        position=position,
        attempts=row.attempts,
        cost_usd=round(sum(c.amount_usd for c in costs + failed), 4),
        costs=[_stage_cost(c) for c in costs] + [_stage_cost(c, failed_attempt=True) for c in failed],
        retry_count=row.retry_count,
        errors=[paths.scrub_entry(entry) for entry in row.error_log],
        created_at=row.created_at,
        processing_started_at=row.processing_started_at,
        completed_at=row.completed_at,
        processing_time_seconds=row.processing_time_seconds,
        workflow_id=handle.id,
        temporal_ui=f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}/workflows/{handle.id}",
        outputs=live.outputs,
        cost_cap_usd=live.progress.cap_usd if live.progress and live.progress.cap_usd else requested_cap,
        halted_reason=live.progress.halted_reason if live.progress else None,
        failure=FailureInfo.of(row, paths.scrub),
        stages=[StageRunOut(**vars(run)) for run in await ledger.stage_runs(str(video_id))],
    )


def _stage_cost(row: CostRow, *, failed_attempt: bool = False) -> StageCost:
    return StageCost(
        stage=row.stage,
        service=row.service,
        operation=row.operation,
        amount_usd=row.amount_usd,
        attempt=row.video_attempt,
        failed_attempt=failed_attempt,
    )


async def position_and_eta(
    ledger: Ledger, settings: Settings, row: VideoRow, fraction: float, current: str | None, completed: list[str]
) -> tuple[int, int | None]:
    if row.status not in ("queued", "processing"):
        return 0, None
    position = await ledger.queue_position(row.video_id)
    same_queue = rendered_alike(row.complexity)
    slots = settings.cpu_max_concurrent if render_role(row.complexity) == "cpu" else settings.gpu_max_concurrent
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


@dataclass(frozen=True)
class _Live:
    percent: float = 0.0
    fraction: float = 0.0  # of the current stage
    completed: list[str] = field(default_factory=list)
    outputs: VideoOutputs | None = None
    progress: Progress | None = None


async def _live_progress(handle: WorkflowHandle[Any, VideoResult], ledger_status: str, paths: ServerPaths) -> _Live:
    """Progress, outputs and the workflow's own view (cap, halt reason) from the workflow itself."""
    if ledger_status == "queued":
        return _Live()
    try:
        desc = await handle.describe()
        # The ledger says completed a moment before the workflow returns its result: wait for that moment.
        if desc.status == WorkflowExecutionStatus.COMPLETED or ledger_status == "completed":
            result = await asyncio.wait_for(handle.result(), timeout=10)
            outputs = VideoOutputs(
                mp4_path=paths.relative(result.mp4_path),
                metadata_path=paths.relative(result.metadata_path),
                thumbnail_path=paths.relative(result.thumbnail_path),
            )
            return _Live(100.0, 1.0, [s.name for s in STAGES], outputs)
        # The workflow's own view, render progress included (the render signals it as ffmpeg goes).
        progress = await handle.query(VideoWorkflow.progress)
        return _Live(progress.percent, progress.stage_fraction, progress.completed_stages, None, progress)
    except (RPCError, TimeoutError):
        log.warning("workflow %s not readable; falling back to the ledger", handle.id, exc_info=True)
        return _Live()
