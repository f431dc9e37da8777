"""What an operator does to a video: list, approve a budget, cancel, retry. Each raises a domain error (unknown
video, already finished, approval refused, retry refused); the routes map them to HTTP."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.schemas import (
    ApproveRequest,
    ApproveResponse,
    FailureInfo,
    RetryResponse,
    VideoListResponse,
    VideoSummary,
)
from api.server_paths import ServerPaths
from core.domain import FINAL_STATUSES, BudgetApproval, VideoStatus, workflow_id
from core.errors import ApprovalRefused, InvalidVideoRequest, NotPermitted, UnknownVideo, VideoFinished
from core.principals import Principal, Role
from core.records import VideoRow
from core.settings import Settings
from core.stage_table import STAGES
from ledger import Ledger
from workflows.client import start_recorded_attempt
from workflows.video import VideoWorkflow

log = logging.getLogger(__name__)
CLOSED_IN_TEMPORAL = "closed in Temporal (terminated, timed out or reset)"


@dataclass(frozen=True)
class Operations:
    settings: Settings
    ledger: Ledger
    temporal: Client
    principal: Principal  # a principal limited to channels sees only their videos: others are unknown to it

    async def list_videos(
        self,
        *,
        channel_id: UUID | None,
        statuses: list[VideoStatus] | None,
        limit: int,
        cursor: str | None,
    ) -> VideoListResponse:
        """Videos newest first, by channel and status, a page at a time; `cursor` is the previous page's."""
        visible = self.principal.channels
        rows = await self.ledger.list_videos(
            channel_id=str(channel_id) if channel_id else None,
            statuses=list(statuses) if statuses else None,
            before=_parse_cursor(cursor) if cursor else None,
            limit=limit + 1,  # one more tells whether there is a next page
            channels=None if visible is None else [str(c) for c in visible],
        )
        page = rows[:limit]
        more = len(rows) > limit
        paths = ServerPaths(self.settings.data_dir)
        return VideoListResponse(
            videos=[_summary(row, paths) for row in page],
            next_cursor=f"{page[-1].created_at.isoformat()}|{page[-1].video_id}" if more else None,
        )

    async def approve(self, video_id: UUID, body: ApproveRequest, principal: Principal) -> ApproveResponse:
        """Raise the video's cap (who and why are recorded); a halted video continues. An operator may raise it up to
        YTEMPIRE_OPERATOR_APPROVAL_CEILING_USD, an admin up to YTEMPIRE_COST_CAP_CEILING_USD."""
        ceiling = self.settings.cost_cap_ceiling_usd
        if not principal.may(Role.ADMIN):
            ceiling = min(ceiling, self.settings.operator_approval_ceiling_usd)
            if body.new_cap_usd > ceiling:
                raise NotPermitted(
                    f"{principal.label} may approve up to ${ceiling:.2f} (YTEMPIRE_OPERATOR_APPROVAL_CEILING_USD); "
                    f"an admin may approve up to ${self.settings.cost_cap_ceiling_usd:.2f}"
                )
        await self._unfinished(video_id)
        handle = self.temporal.get_workflow_handle(workflow_id(video_id))
        approver = principal.label + (f" for {body.approved_by}" if body.approved_by else "")
        try:
            progress = await handle.execute_update(
                VideoWorkflow.approve_budget, BudgetApproval(body.new_cap_usd, approver, body.reason)
            )
        except RPCError as err:
            raise _closed(video_id, err) from err
        except WorkflowUpdateFailedError as failed:
            cause = failed.cause
            if not isinstance(cause, ApplicationError):  # not the workflow's own refusal: its text is not for callers
                log.error("approval of video %s failed", video_id, exc_info=failed)
                raise ApprovalRefused(
                    f"the video's workflow could not take the approval ({type(cause or failed).__name__}): retry; "
                    "if it fails again, tell the operator"
                ) from failed
            raise ApprovalRefused(cause.message) from failed
        return ApproveResponse(
            video_id=video_id,
            status=progress.status,
            cap_usd=progress.cap_usd or body.new_cap_usd,
            cost_usd=progress.cost_usd,
        )

    async def cancel(self, video_id: UUID) -> None:
        """Ask the video's workflow to cancel: its render's ffmpeg is killed, costs so far stay, partial files go."""
        await self._unfinished(video_id)
        handle = self.temporal.get_workflow_handle(workflow_id(video_id))
        try:
            # Temporal accepts a cancel of a closed execution and does nothing: ask first, so the caller knows.
            if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                raise VideoFinished(video_id, CLOSED_IN_TEMPORAL)
            await handle.cancel()
        except RPCError as err:
            raise _closed(video_id, err) from err

    async def retry(self, video_id: UUID) -> RetryResponse:
        """Retry a failed video from its failed stage; stages that succeeded are neither repeated nor paid again.
        Raises RetryRefused (not failed, out of attempts) and QueueFull besides UnknownVideo. The attempt is recorded
        before it starts: should Temporal not answer, the answer says `started: false` and the reconciler starts it."""
        await self._video(video_id)
        attempt = await self.ledger.begin_retry(
            str(video_id), self.settings.max_video_attempts, capacity=self.settings.queue_capacity
        )
        begun = await start_recorded_attempt(self.temporal, self.settings, self.ledger, await self._video(video_id))
        resume_from = next((spec.name for spec in STAGES if spec.name not in begun.resume), None)
        return RetryResponse(
            video_id=video_id,
            attempt=attempt,
            resume_from=resume_from,
            reused_stages=list(begun.resume),
            started=begun.started,
        )

    async def _video(self, video_id: UUID) -> VideoRow:
        return await visible_video(self.ledger, self.principal, video_id)

    async def _unfinished(self, video_id: UUID) -> VideoRow:
        row = await self._video(video_id)
        if row.status in FINAL_STATUSES:
            raise VideoFinished(video_id, row.status)
        return row


async def visible_video(ledger: Ledger, principal: Principal, video_id: UUID) -> VideoRow:
    """The video's row, or UnknownVideo when there is none or it belongs to a channel the principal is not given."""
    row = await ledger.get_video(str(video_id))
    if row is None or not principal.sees_channel(UUID(row.channel_id)):
        raise UnknownVideo(video_id)
    return row


def _closed(video_id: UUID, err: RPCError) -> Exception:
    """The ledger says the video runs, Temporal that its execution is closed (terminated or reset from the CLI or
    the UI): a conflict the caller can act on, not a 500. Any other RPC failure passes through."""
    if err.status == RPCStatusCode.NOT_FOUND:
        return VideoFinished(video_id, CLOSED_IN_TEMPORAL)
    return err


def _parse_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, video_id = cursor.rsplit("|", 1)
        when = datetime.fromisoformat(created)
        # A cursor we wrote is UTC; another one must still fit PostgreSQL's timestamp range once in UTC.
        when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
        return when, str(UUID(video_id))
    except (ValueError, OverflowError) as err:
        raise InvalidVideoRequest("not a cursor from a previous page", loc=("query", "cursor")) from err


def _summary(row: VideoRow, paths: ServerPaths) -> VideoSummary:
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
        failure=FailureInfo.of(row, paths.scrub),
        status_url=f"/pipeline/status/{row.video_id}",
    )
