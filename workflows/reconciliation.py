"""ReconcileWorkflow: one round of the reconciler, started by the `ytempire-reconciler` Temporal Schedule (see
`ensure_reconcile_schedule` in workflows/client.py) every YTEMPIRE_RECONCILE_INTERVAL_SECONDS; a round still
running when the next is due makes the next one skip."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.reconciliation import ReconcileActivities, ReconcileReport

ROUND_TIMEOUT = timedelta(minutes=5)


@workflow.defn(name="ReconcileWorkflow")
class ReconcileWorkflow:
    @workflow.run
    async def run(self) -> ReconcileReport:
        """The round's report: videos checked, repairs by kind, starts Temporal did not confirm."""
        return await workflow.execute_activity_method(
            ReconcileActivities.reconcile_videos,
            start_to_close_timeout=ROUND_TIMEOUT,
            heartbeat_timeout=timedelta(seconds=30),
            # The next round comes soon: a failing round is retried a few times, not for ever.
            retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=5)),
        )
