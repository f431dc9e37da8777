"""VideoWorkflow: one video, six stages from the stage table, each retried as the spec says, within its budget."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception
from temporalio.exceptions import TimeoutError as StageTimeout
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.alerts import WebhookDelivery
    from activities.catalogue import STAGE_ACTIVITIES
    from activities.pipeline import PipelineActivities
    from core.domain import (
        BudgetApproval,
        CarriedBudget,
        CostAlert,
        CostBreakdown,
        FinalizeInput,
        Progress,
        StageInput,
        StageResult,
        VideoResult,
        VideoRetry,
        VideoStatus,
        VideoStatusChange,
        VideoWorkflowInput,
    )
    from core.errors import ErrorType, retry_worthwhile
    from core.failed_charges import failed_charges_of
    from core.reconciliation import ATTEMPT_MEMO_KEY
    from core.search_attributes import CHANNEL_ID, VIDEO_STAGE, VIDEO_STATUS
    from core.stage_table import (
        RENDER_PROGRESS_SIGNAL,
        RENDER_STAGE,
        STAGES,
        StageSpec,
        percent_done,
        retry_policy,
    )
    from core.text import masked, text_problem
    from workflows.alert_delivery import AlertDeliveryWorkflow

# Versions of this workflow's commands (workflow.patched): a run that started before a change replays as it ran.
# Stages heartbeat (every stage has a heartbeat timeout) and get INFRASTRUCTURE_ATTEMPTS beyond the spec's retries.
STAGE_LIVENESS_PATCH = "stage-liveness-and-infrastructure-retries"
# A video that failed for a reason worth retrying is retried as a whole by its own workflow (continue-as-new).
AUTOMATIC_RETRY_PATCH = "automatic-whole-video-retry"
# A stage is told what the cap leaves it and refuses an attempt that could cross it (StageBudgetExhausted).
STAGE_BUDGET_PATCH = "stage-knows-its-budget"
MAX_RETRY_BACKOFF_SECONDS = 300.0

LEDGER_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@workflow.defn(name="VideoWorkflow")
class VideoWorkflow:
    @workflow.init
    def __init__(self, inp: VideoWorkflowInput) -> None:
        self._video_id = inp.request.video_id
        self._status: VideoStatus = "queued"
        self._stage: str | None = None
        self._completed: list[str] = []
        self._cost = 0.0
        self._cost_by_stage: dict[str, float] = {}
        self._service_by_stage: dict[str, str] = {}
        self._cap = inp.budget.cap_usd
        self._ceiling = inp.budget.ceiling_usd
        self._approvals: list[BudgetApproval] = []
        self._alerted: set[str] = set()
        self._halted_reason: str | None = None
        self._render_fraction = 0.0
        self._started_at = workflow.now()
        self._error: str | None = None
        self._indexed = False
        self._upserted: tuple[str, str] | None = None
        self._results: dict[str, StageResult] = {}
        self._halt_note: str | None = None
        if inp.carried is not None:  # a whole-video retry: the budget is the video's, across its attempts
            self._cost = inp.carried.spent_usd
            self._cap = inp.carried.cap_usd
            self._approvals = list(inp.carried.approvals)
            self._alerted = set(inp.carried.alerted)

    @workflow.run
    async def run(self, inp: VideoWorkflowInput) -> VideoResult:
        artifacts: dict[str, str] = {}
        details: dict[str, dict[str, str | float]] = {}
        # Starters that register our search attributes set ChannelId; only then are they kept current.
        self._indexed = workflow.info().typed_search_attributes.get(CHANNEL_ID) is not None
        self._status = "processing"
        try:
            for spec in STAGES:
                resumed = spec.name in inp.resume
                if resumed:  # succeeded in an earlier run: not repeated, not paid again
                    result = inp.resume[spec.name]
                else:
                    result = await self._run_within_budget(inp, spec, artifacts)
                artifacts.update(result.artifacts)
                details[spec.name] = result.details
                self._results[spec.name] = result
                self._completed.append(spec.name)
                if not (resumed and inp.carried is not None):  # a carried total already holds what it cost
                    self._cost = round(self._cost + result.cost_usd, 4)
                self._cost_by_stage[spec.name] = result.cost_usd
                self._service_by_stage[spec.name] = str(result.details.get("service", "unknown"))
                await self._cost_alerts(inp)
        except (ActivityError, asyncio.CancelledError) as err:
            if is_cancelled_exception(err):
                self._status = "cancelled"
                workflow.logger.info("cancelled during %s", self._stage)
                self._show()
                # The cancellation was delivered once; activities started from here on run normally.
                await self._finalize(inp, "cancelled", ErrorType.CANCELLED, None, remove_partials=True)
                await self._notify(inp, "cancelled", error_type=ErrorType.CANCELLED)
                raise
            assert isinstance(err, ActivityError)
            if (charged := failed_charges_of(err.cause)) and self._stage is not None:
                # The failed stage's billed attempts: in the ledger already, now in the total the video reports.
                self._cost = round(self._cost + charged, 4)
                self._cost_by_stage[self._stage] = charged
                self._service_by_stage[self._stage] = "failed_attempts"
            error_type, message = _describe(err)
            if self._stage is not None and self._may_retry(inp, error_type):
                await self._retry_as_a_whole(inp, self._stage, error_type, message)  # continues as new
            await self._fail(inp, error_type, f"{self._stage}: {message}")
            raise ApplicationError(self._error or message, type=error_type, non_retryable=True) from err

        self._status, self._stage = "completed", None
        workflow.logger.info("completed for $%.4f", self._cost)
        self._show()
        await self._finalize(inp, "completed", None, None)
        video = VideoResult(
            video_id=inp.request.video_id,
            status="completed",
            mp4_path=artifacts["outbox_video"],
            metadata_path=artifacts["metadata"],
            thumbnail_path=artifacts["thumbnail"],
            cost_usd=self._cost,
            stage_details=details,
        )
        await self._notify(
            inp,
            "completed",
            mp4_path=video.mp4_path,
            metadata_path=video.metadata_path,
            thumbnail_path=video.thumbnail_path,
        )
        return video

    def _may_retry(self, inp: VideoWorkflowInput, error_type: str) -> bool:
        return (
            inp.attempt < inp.video_attempts
            and retry_worthwhile(error_type)
            and workflow.patched(AUTOMATIC_RETRY_PATCH)
        )

    async def _retry_as_a_whole(self, inp: VideoWorkflowInput, failed: str, error_type: str, message: str) -> None:
        """Record the failure, wait (30 s, doubling, at most 300 s), and continue as the next attempt: resuming after
        the stages that succeeded, with the whole video's spending, cap and approvals. A cancel while it waits
        cancels the video."""
        attempt = inp.attempt + 1
        delay = min(inp.retry_backoff_seconds * 2 ** (inp.attempt - 1), MAX_RETRY_BACKOFF_SECONDS)
        workflow.logger.warning("%s failed (%s): attempt %d in %g s", failed, error_type, attempt, delay)
        self._status = "queued"
        self._error = f"{failed}: {message} (attempt {attempt} of {inp.video_attempts} in {delay:g} s)"
        self._show()
        plan = await workflow.execute_activity_method(
            PipelineActivities.schedule_video_retry,
            VideoRetry(self._video_id, attempt, failed, error_type, message, delay),
            task_queue=inp.queues.pipeline,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=LEDGER_RETRY,
            summary=f"ledger: retry as attempt {attempt}",
        )
        try:
            await workflow.sleep(timedelta(seconds=delay), summary=f"attempt {attempt} in {delay:g} s")
        except asyncio.CancelledError:
            self._status = "cancelled"
            self._show()
            await self._finalize(inp, "cancelled", ErrorType.CANCELLED, None, remove_partials=True)
            await self._notify(inp, "cancelled", error_type=ErrorType.CANCELLED)
            raise
        # The ledger, not this run's memory, says what was billed and what is reusable: a stage booked right before
        # its worker died counts, and need not run again.
        carried = CarriedBudget(plan.spent_usd, self._cap, list(self._approvals), sorted(self._alerted))
        workflow.continue_as_new(
            dataclasses.replace(inp, attempt=attempt, resume=plan.resume, carried=carried),
            memo={"topic": inp.request.topic, "channel_id": inp.request.channel_id, ATTEMPT_MEMO_KEY: attempt},
        )

    async def _stay_within_budget(self, inp: VideoWorkflowInput, spec: StageSpec) -> None:
        """Never start a stage whose estimated cost would cross the cap: halt and wait for an operator instead."""
        estimate = inp.budget.estimates_usd.get(spec.name, 0.0)
        while round(self._cost + estimate, 4) > self._cap:
            needed = round(self._cost + estimate, 4)
            self._status, self._stage = "halted", spec.name
            self._halted_reason = (
                f"{spec.name} may cost ${estimate:.2f}: ${needed:.2f} in all would cross the cap ${self._cap:.2f}"
            )
            if self._halt_note:  # the stage stopped itself at the cap
                self._halted_reason = f"{self._halt_note}; {self._halted_reason}"
            self._show()
            workflow.logger.warning("halted before %s: %s", spec.name, self._halted_reason)
            await self._set_status(inp, "halted", self._halted_reason)
            await self._alert(inp, "cost_halt", "critical", f"video halted: {self._halted_reason}", self._cap)
            await self._notify(inp, "halted", error_type=ErrorType.COST_HALT, error=self._halted_reason)
            try:
                await workflow.wait_condition(
                    functools.partial(self._budget_allows, needed),
                    timeout=timedelta(seconds=inp.budget.halt_timeout_seconds),
                )
            except TimeoutError:  # wait_condition's timeout
                waited = timedelta(seconds=inp.budget.halt_timeout_seconds)
                await self._fail(
                    inp, ErrorType.COST_LIMIT_EXCEEDED, f"no budget approval within {waited}: {self._halted_reason}"
                )
                raise ApplicationError(
                    self._error or "", type=ErrorType.COST_LIMIT_EXCEEDED, non_retryable=True
                ) from None
            approval = self._approvals[-1]
            workflow.logger.info(
                "cap raised to $%.2f by %s: continuing", approval.new_cap_usd, masked(approval.approved_by)
            )
            self._status, self._halted_reason = "processing", None
            self._show()
            await self._set_status(
                inp,
                "processing",
                f"cap raised to ${approval.new_cap_usd:.2f} by {approval.approved_by}: {approval.reason}",
            )

    def _budget_allows(self, needed: float) -> bool:
        return self._cap >= needed

    async def _cost_alerts(self, inp: VideoWorkflowInput) -> None:
        """Warning and critical alerts, once each per video, when the money spent reaches their threshold."""
        for kind, level, threshold in (
            ("cost_warning", "warning", inp.budget.warning_usd),
            ("cost_critical", "critical", inp.budget.critical_usd),
        ):
            if self._cost >= threshold and kind not in self._alerted:
                message = f"video cost ${self._cost:.2f} reached the {level} threshold ${threshold:.2f}"
                await self._alert(inp, kind, level, message, threshold)

    async def _alert(self, inp: VideoWorkflowInput, kind: str, level: str, message: str, threshold: float) -> None:
        """Ledger event, metric and log line now; the webhook from an abandoned child, so it never holds the video."""
        self._alerted.add(kind)
        alert = CostAlert(self._video_id, kind, level, message, self._cost, self._cap, threshold)
        recorded = await workflow.execute_activity_method(
            PipelineActivities.record_cost_alert,
            alert,
            task_queue=inp.queues.pipeline,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=LEDGER_RETRY,
            summary=f"alert: {kind}",
        )
        if recorded and inp.budget.webhooks:
            event_id = self._event_id(inp, kind)
            payload: dict[str, object] = {
                "event_id": event_id,
                "kind": kind,
                "level": level,
                "message": message,
                "video_id": self._video_id,
                "channel_id": inp.request.channel_id,
                "spent_usd": self._cost,
                "cap_usd": self._cap,
                "threshold_usd": threshold,
                "at": workflow.now().isoformat(),
            }
            # url "": the worker's configured URL; it may carry credentials, so it stays out of history.
            delivery = WebhookDelivery(event_id, kind, "", payload, inp.queues.pipeline)
            await self._deliver(inp, delivery, "alert", f"webhook: {kind} for video {self._video_id}")

    async def _notify(self, inp: VideoWorkflowInput, status: VideoStatus, **extra: object) -> None:
        """Tell the caller's callback_url (signed, retried, from an abandoned child: it never holds the video)."""
        if not inp.request.callback_url:
            return
        event_id = self._event_id(inp, status)
        payload: dict[str, object] = {
            "event_id": event_id,
            "video_id": self._video_id,
            "status": status,
            "stage": self._stage,
            "cost_usd": self._cost,
            "cap_usd": self._cap,
            "attempt": inp.attempt,
            "at": workflow.now().isoformat(),
            **extra,
        }
        delivery = WebhookDelivery(event_id, f"video_{status}", inp.request.callback_url, payload, inp.queues.pipeline)
        await self._deliver(inp, delivery, "callback", f"callback: video {status}")

    def _event_id(self, inp: VideoWorkflowInput, what: str) -> str:
        """Unique per delivery; a receiver de-duplicates its retries on it (the Idempotency-Key)."""
        return f"{self._video_id}:{what}:{inp.attempt}:{workflow.uuid4().hex[:8]}"

    async def _deliver(self, inp: VideoWorkflowInput, delivery: WebhookDelivery, id_prefix: str, summary: str) -> None:
        """Every outbound webhook (cost alerts, the caller's callbacks) goes out from an abandoned child workflow:
        signed and retried there, it never holds the video."""
        await workflow.start_child_workflow(
            AlertDeliveryWorkflow.run,
            delivery,
            id=f"{id_prefix}-{delivery.event_id.replace(':', '-')}",
            task_queue=inp.queues.pipeline,
            parent_close_policy=ParentClosePolicy.ABANDON,
            static_summary=summary,
        )

    async def _set_status(self, inp: VideoWorkflowInput, status: VideoStatus, note: str | None) -> None:
        await workflow.execute_activity_method(
            PipelineActivities.set_video_status,
            VideoStatusChange(self._video_id, status, note, self._stage),
            task_queue=inp.queues.pipeline,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=LEDGER_RETRY,
            summary=f"ledger: {status}",
        )

    async def _fail(self, inp: VideoWorkflowInput, error_type: str, message: str) -> None:
        workflow.logger.warning("failed (%s): %s", error_type, message)
        self._status, self._error = "failed", message
        self._show()
        await self._finalize(inp, "failed", error_type, message)
        await self._notify(
            inp, "failed", error_type=error_type, error=message, retry_worthwhile=retry_worthwhile(error_type)
        )

    async def _run_within_budget(
        self, inp: VideoWorkflowInput, spec: StageSpec, artifacts: dict[str, str]
    ) -> StageResult:
        """Run the stage once the budget allows its estimate. The stage is told what the cap leaves it, all its
        attempts together: should its billed failures or a long render use that up, it stops, refusing the attempt
        that could cross the cap, and the video halts for an approval before the stage runs again."""
        limited = workflow.patched(STAGE_BUDGET_PATCH)
        execution = 0
        while True:
            await self._stay_within_budget(inp, spec)
            execution += 1
            try:
                result = await self._run_stage(inp, spec, artifacts, execution if limited else None)
                self._halt_note = None
                return result
            except ActivityError as err:
                cause = err.cause
                if not (isinstance(cause, ApplicationError) and cause.type == ErrorType.STAGE_BUDGET_EXHAUSTED):
                    raise
                charged = failed_charges_of(cause)
                self._cost = round(self._cost + charged, 4)
                self._cost_by_stage[spec.name] = round(self._cost_by_stage.get(spec.name, 0.0) + charged, 4)
                self._service_by_stage.setdefault(spec.name, "failed_attempts")
                workflow.logger.warning("%s stopped at the cap: %s", spec.name, cause.message)
                self._halt_note = cause.message

    async def _run_stage(
        self, inp: VideoWorkflowInput, spec: StageSpec, artifacts: dict[str, str], execution: int | None
    ) -> StageResult:
        """One execution of the stage's activity (`execution` None: no budget passed, as before STAGE_BUDGET_PATCH)."""
        self._stage = spec.name
        self._render_fraction = 0.0
        self._show()
        render = spec.queue == "render"
        queue = inp.queues.render_queue(inp.request.complexity) if render else inp.queues.pipeline
        liveness = workflow.patched(STAGE_LIVENESS_PATCH)
        heartbeat_timeout: timedelta | None = None
        if render:
            heartbeat_timeout = timedelta(seconds=inp.render_heartbeat_timeout_seconds)
        elif liveness:
            heartbeat_timeout = timedelta(seconds=inp.stage_heartbeat_timeout_seconds)
        running = asyncio.ensure_future(
            workflow.execute_activity_method(
                STAGE_ACTIVITIES[spec.activity],
                StageInput(
                    stage=spec.name,
                    request=inp.request,
                    artifact_dir=inp.artifact_dir,
                    outbox_dir=inp.outbox_dir,
                    artifacts=dict(artifacts),
                    video_attempt=inp.attempt,
                    budget_usd=round(self._cap - self._cost, 4) if execution is not None else None,
                    estimate_usd=inp.budget.estimates_usd.get(spec.name, 0.0),
                    execution=execution or 1,
                ),
                task_queue=queue,
                start_to_close_timeout=spec.timeout,
                heartbeat_timeout=heartbeat_timeout,
                retry_policy=retry_policy(spec, infrastructure_budget=liveness),
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
        await workflow.execute_activity_method(
            PipelineActivities.finalize_video,
            FinalizeInput(
                inp.request.video_id,
                status,
                error_type,
                message,
                [inp.artifact_dir, outbox] if remove_partials else [],
                self._stage,
            ),
            task_queue=inp.queues.pipeline,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=LEDGER_RETRY,
            summary=f"ledger: {status}",
        )

    def _show(self) -> None:
        """Keep the Temporal UI readable: a person sees where the video stands and what it cost."""
        progress = self.progress()
        indexed = (progress.status, progress.stage or "")
        if self._indexed and indexed != self._upserted:
            workflow.upsert_search_attributes([VIDEO_STATUS.value_set(indexed[0]), VIDEO_STAGE.value_set(indexed[1])])
            self._upserted = indexed
        where = (progress.stage or progress.status).replace("_", " ")
        # The UI renders markdown with math: a pair of bare "$" would start a formula, so they are escaped.
        details = (
            f"**{progress.status}** · {where} {progress.percent:.0f} % · ${progress.cost_usd:.2f} so far"
            f" (cap ${self._cap:.2f})"
            + (f"\n\nhalted: {progress.halted_reason}" if progress.halted_reason else "")
            + (f"\n\nerror: {progress.error}" if progress.error else "")
        )
        workflow.set_current_details(details.replace("$", "\\$"))

    @workflow.signal(name=RENDER_PROGRESS_SIGNAL)
    def render_progress(self, fraction: float) -> None:
        """Sent by the render activity (throttled), so `progress` moves inside the render stage."""
        if self._stage == RENDER_STAGE and fraction > self._render_fraction:
            self._render_fraction = min(fraction, 1.0)
            self._show()

    @workflow.update
    def approve_budget(self, approval: BudgetApproval) -> Progress:
        """Raise the video's cap (an operator's decision, with who and why); a halted video then continues."""
        self._cap = approval.new_cap_usd
        self._approvals.append(approval)
        return self.progress()

    @approve_budget.validator
    def _check_approval(self, approval: BudgetApproval) -> None:
        if not approval.approved_by.strip() or not approval.reason.strip():
            raise ValueError("an approval needs approved_by and reason")
        for name, value in (("approved_by", approval.approved_by), ("reason", approval.reason)):
            if problem := text_problem(value):  # it goes to the ledger: a value PostgreSQL refuses never gets in
                raise ValueError(f"{name} {problem}")
        if approval.new_cap_usd <= self._cap:
            raise ValueError(f"the new cap ${approval.new_cap_usd:.2f} must be above the current cap ${self._cap:.2f}")
        if approval.new_cap_usd > self._ceiling:
            raise ValueError(f"the new cap ${approval.new_cap_usd:.2f} is above the ceiling ${self._ceiling:.2f}")

    @workflow.query
    def progress(self) -> Progress:
        if self._status == "completed":
            percent = 100.0
        else:
            fraction = self._render_fraction if self._stage == RENDER_STAGE else 0.0
            percent = percent_done(self._completed, self._stage, fraction)
        eta: int | None = None
        if self._status == "processing" and percent > 0:
            elapsed = (workflow.now() - self._started_at).total_seconds()
            eta = round(elapsed / percent * (100.0 - percent))
        return Progress(
            status=self._status,
            stage=self._stage,
            percent=percent,
            cost_usd=self._cost,
            completed_stages=list(self._completed),
            error=self._error,
            eta_seconds=eta,
            cap_usd=self._cap,
            halted_reason=self._halted_reason,
            stage_fraction=self._render_fraction if self._stage == RENDER_STAGE else 0.0,
        )

    @workflow.query
    def costs(self) -> CostBreakdown:
        by_service: dict[str, float] = {}
        for stage, amount in self._cost_by_stage.items():
            service = self._service_by_stage.get(stage, "unknown")
            by_service[service] = round(by_service.get(service, 0.0) + amount, 4)
        return CostBreakdown(
            total_usd=self._cost,
            cap_usd=self._cap,
            by_service=by_service,
            by_stage=dict(self._cost_by_stage),
            approvals=list(self._approvals),
        )


def _describe(err: ActivityError) -> tuple[str, str]:
    """The failing activity's error type and message, for scripts (type) and people (message)."""
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return cause.type or "ApplicationError", cause.message
    if isinstance(cause, StageTimeout):
        return ErrorType.STAGE_TIMEOUT, f"timed out ({cause.type.name if cause.type else 'timeout'})"
    return type(cause).__name__ if cause else "ActivityError", str(cause or err)
