"""The reconciler's activity: the ledger's unfinished videos against what Temporal says of each, and every
disagreement repaired (core/reconciliation.py decides which repair), with a metric and an event per repair."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from temporalio import activity
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
)
from temporalio.exceptions import ApplicationError, CancelledError, TerminatedError, TimeoutError
from temporalio.service import RPCError, RPCStatusCode

from core import activity_names
from core.domain import video_id_of_workflow, workflow_id
from core.errors import ErrorType
from core.reconciliation import ATTEMPT_MEMO_KEY, ExecutionStatus, LatestRun, Repair, repair_for
from core.records import VideoRow
from ledger import Ledger
from telemetry.worker_metrics import WorkerMetrics

# Starts the row's current whole-video attempt; whether Temporal confirmed it (workflows/client.py).
StartRecorded = Callable[[VideoRow], Awaitable[bool]]

_STATUS: dict[WorkflowExecutionStatus, ExecutionStatus] = {
    WorkflowExecutionStatus.RUNNING: "running",
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "continued",
}


@dataclass
class ReconcileReport:
    checked: int = 0
    repairs: dict[str, int] = field(default_factory=dict)  # by kind
    start_failures: int = 0  # starts Temporal did not confirm: tried again next round


class ReconcileActivities:
    def __init__(
        self,
        ledger: Ledger,
        temporal: Client,
        start: StartRecorded,
        metrics: WorkerMetrics,
        *,
        task_queue: str,
        grace_seconds: float,
    ) -> None:
        self.ledger = ledger
        self.temporal = temporal
        self.start = start
        self.metrics = metrics
        self.task_queue = task_queue  # the pipeline queue whose video workflows this reconciler answers for
        self.grace_seconds = grace_seconds

    @activity.defn(name=activity_names.RECONCILE_VIDEOS)
    async def reconcile_videos(self) -> ReconcileReport:
        """One round: each unfinished video whose status has not moved for the grace period, then each running
        video workflow of this queue that has no row at all."""
        report = ReconcileReport()
        for row in await self.ledger.unfinished_since(self.grace_seconds):
            activity.heartbeat(row.video_id)
            report.checked += 1
            repair = repair_for(row.status, row.attempts, await self._latest_run(row))
            if repair is not None:
                await self._apply(row, repair, report)
        await self._terminate_orphans(report)
        return report

    async def _latest_run(self, row: VideoRow) -> LatestRun | None:
        handle = self.temporal.get_workflow_handle(workflow_id(row.video_id))
        try:
            described = await handle.describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return None
            raise
        status = _STATUS.get(described.status or WorkflowExecutionStatus.RUNNING, "running")
        attempt = int(await described.memo_value(ATTEMPT_MEMO_KEY, default=row.attempts))
        if status not in ("failed", "terminated", "timed_out"):
            return LatestRun(status, attempt)
        error_type, message = await self._how_it_ended(row.video_id, described.run_id, status)
        return LatestRun(status, attempt, error_type, message)

    async def _how_it_ended(self, video_id: str, run_id: str, status: ExecutionStatus) -> tuple[str, str]:
        handle = self.temporal.get_workflow_handle(workflow_id(video_id), run_id=run_id)
        try:
            await handle.result(follow_runs=False)
        except WorkflowFailureError as failure:
            cause = failure.cause
            if isinstance(cause, TerminatedError):
                return ErrorType.WORKFLOW_TERMINATED, f"terminated from outside the pipeline: {cause.message}"
            if isinstance(cause, TimeoutError):
                return ErrorType.WORKFLOW_TIMED_OUT, "the workflow run timed out"
            if isinstance(cause, CancelledError):
                return ErrorType.CANCELLED, "cancelled"
            if isinstance(cause, ApplicationError):
                return cause.type or "Error", cause.message
            return type(cause).__name__, str(cause)
        return "Error", f"the workflow {status}"

    async def _apply(self, row: VideoRow, repair: Repair, report: ReconcileReport) -> None:
        if repair.kind == "started":
            if not await self.start(row):
                report.start_failures += 1
                return
        elif repair.kind == "finalized":
            assert repair.final_status is not None
            await self.ledger.finalize(row.video_id, repair.final_status, repair.error_type, repair.error_message)
        await self._count(repair, report, row.video_id, {"was": row.status, "attempt": row.attempts})

    async def _terminate_orphans(self, report: ReconcileReport) -> None:
        """A video workflow without a ledger row would bill providers it can never book: stop it."""
        started_before = datetime.now(UTC) - timedelta(seconds=self.grace_seconds)
        running: dict[str, str] = {}
        query = f"WorkflowType = 'VideoWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '{self.task_queue}'"
        async for execution in self.temporal.list_workflows(query):
            video_id = video_id_of_workflow(execution.id)
            if video_id is not None and execution.start_time < started_before:
                running[video_id] = execution.run_id
        known = await self.ledger.known_videos(list(running))
        for video_id, run_id in running.items():
            if video_id in known:
                continue
            reason = "the ledger has no row for this video (reconciler)"
            handle = self.temporal.get_workflow_handle(workflow_id(video_id), run_id=run_id)
            try:
                await handle.terminate(reason=reason)
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:  # it closed meanwhile
                    raise
                continue
            await self._count(Repair("terminated", reason), report, None, {"workflow_id": workflow_id(video_id)})

    async def _count(
        self, repair: Repair, report: ReconcileReport, video_id: str | None, details: dict[str, object]
    ) -> None:
        report.repairs[repair.kind] = report.repairs.get(repair.kind, 0) + 1
        self.metrics.reconciler_repairs.labels(repair.kind).inc()
        activity.logger.warning("reconciler %s video %s: %s", repair.kind, video_id or details, repair.reason)
        await self.ledger.record_event(
            "reconciled",
            "warning",
            f"{repair.kind}: {repair.reason}",
            {
                "repair": repair.kind,
                **details,
                **({"final_status": repair.final_status} if repair.final_status else {}),
            },
            video_id=video_id,
        )
