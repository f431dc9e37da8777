"""VideoWorkflow: one video, six stages from the stage table, each retried as the spec says."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from ytempire.domain import (
        FinalizeInput,
        Progress,
        StageInput,
        StageResult,
        VideoResult,
        VideoStatus,
        VideoWorkflowInput,
    )
    from ytempire.search_attributes import CHANNEL_ID, VIDEO_STAGE, VIDEO_STATUS
    from ytempire.stages import RENDER_STAGE, STAGES, StageSpec, percent_done, retry_policy

FINALIZE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@workflow.defn(name="VideoWorkflow")
class VideoWorkflow:
    def __init__(self) -> None:
        self._status: VideoStatus = "queued"
        self._stage: str | None = None
        self._completed: list[str] = []
        self._cost = 0.0
        self._error: str | None = None
        self._indexed = False
        self._upserted: tuple[str, str] | None = None

    @workflow.run
    async def run(self, inp: VideoWorkflowInput) -> VideoResult:
        artifacts: dict[str, str] = {}
        details: dict[str, dict[str, str | float]] = {}
        # Starters that register our search attributes set ChannelId; only then are they kept current.
        self._indexed = workflow.info().typed_search_attributes.get(CHANNEL_ID) is not None
        self._status = "processing"
        try:
            for spec in STAGES:
                if spec.name in inp.resume:  # succeeded in an earlier run: not repeated, not paid again
                    result = inp.resume[spec.name]
                else:
                    result = await self._run_stage(inp, spec, artifacts)
                artifacts.update(result.artifacts)
                details[spec.name] = result.details
                self._completed.append(spec.name)
                self._cost = round(self._cost + result.cost_usd, 4)
        except (ActivityError, asyncio.CancelledError) as err:
            if is_cancelled_exception(err):
                self._status = "cancelled"
                self._show()
                # The cancellation was delivered once; activities started from here on run normally.
                await self._finalize(inp, "cancelled", "Cancelled", None, remove_partials=True)
                raise
            assert isinstance(err, ActivityError)
            error_type, message = _describe(err)
            self._status, self._error = "failed", f"{self._stage}: {message}"
            self._show()
            await self._finalize(inp, "failed", error_type, self._error)
            raise ApplicationError(self._error, type=error_type, non_retryable=True) from err

        self._status, self._stage = "completed", None
        self._show()
        await self._finalize(inp, "completed", None, None)
        return VideoResult(
            video_id=inp.request.video_id,
            status="completed",
            mp4_path=artifacts["outbox_video"],
            metadata_path=artifacts["metadata"],
            thumbnail_path=artifacts["thumbnail"],
            cost_usd=self._cost,
            stage_details=details,
        )

    async def _run_stage(self, inp: VideoWorkflowInput, spec: StageSpec, artifacts: dict[str, str]) -> StageResult:
        self._stage = spec.name
        self._show()
        render = spec.name == RENDER_STAGE
        queue = inp.queues.render_queue(inp.request.complexity) if render else inp.queues.pipeline
        running = asyncio.ensure_future(
            workflow.execute_activity(
                spec.activity,
                StageInput(
                    stage=spec.name,
                    request=inp.request,
                    artifact_dir=inp.artifact_dir,
                    outbox_dir=inp.outbox_dir,
                    artifacts=dict(artifacts),
                    video_attempt=inp.attempt,
                ),
                task_queue=queue,
                result_type=StageResult,
                start_to_close_timeout=spec.timeout,
                heartbeat_timeout=timedelta(seconds=inp.render_heartbeat_timeout_seconds) if render else None,
                retry_policy=retry_policy(spec),
                cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                summary=f"{spec.label} on {queue}",
            )
        )
        try:
            return await asyncio.shield(running)
        except asyncio.CancelledError:
            # The video was cancelled. Cancel the stage and wait until it has really stopped (a render's ffmpeg is
            # killed) before cleaning up. Awaiting the activity directly would let a stage that finishes anyway
            # swallow the cancellation, and the video would carry on.
            running.cancel()
            try:
                await running
            except (ActivityError, asyncio.CancelledError):
                pass
            raise

    async def _finalize(
        self,
        inp: VideoWorkflowInput,
        status: VideoStatus,
        error_type: str | None,
        message: str | None,
        *,
        remove_partials: bool = False,
    ) -> None:
        outbox = f"{inp.outbox_dir}/{inp.request.video_id}"
        await workflow.execute_activity(
            "finalize_video",
            FinalizeInput(
                inp.request.video_id, status, error_type, message, [inp.artifact_dir, outbox] if remove_partials else []
            ),
            task_queue=inp.queues.pipeline,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=FINALIZE_RETRY,
            summary=f"ledger: {status}",
        )

    def _show(self) -> None:
        """Keep the Temporal UI readable: a person sees where the video stands and what it cost."""
        progress = self.progress()
        indexed = (progress.status, progress.stage or "")
        if self._indexed and indexed != self._upserted:
            workflow.upsert_search_attributes([VIDEO_STATUS.value_set(indexed[0]), VIDEO_STAGE.value_set(indexed[1])])
            self._upserted = indexed
        where = progress.stage or progress.status
        workflow.set_current_details(
            f"**{progress.status}** · {where} · {progress.percent:.0f} % · ${progress.cost_usd:.2f} so far"
            + (f"\n\nerror: {progress.error}" if progress.error else "")
        )

    @workflow.query
    def progress(self) -> Progress:
        percent = 100.0 if self._status == "completed" else percent_done(self._completed, self._stage)
        return Progress(
            status=self._status,
            stage=self._stage,
            percent=percent,
            cost_usd=self._cost,
            completed_stages=list(self._completed),
            error=self._error,
        )


def _describe(err: ActivityError) -> tuple[str, str]:
    """The failing activity's error type and message, for scripts (type) and people (message)."""
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return cause.type or "ApplicationError", cause.message
    if isinstance(cause, TimeoutError):
        return "StageTimeout", f"timed out ({cause.type.name if cause.type else 'timeout'})"
    return type(cause).__name__ if cause else "ActivityError", str(cause or err)
