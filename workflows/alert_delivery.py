"""AlertDeliveryWorkflow: deliver one webhook event, retrying a slow or failing receiver for hours if need be.

Started by VideoWorkflow as an abandoned child (`alert-<video_id>-<kind>`), so a dead receiver never holds up a video.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.alerts import AlertActivities, WebhookDelivery
    from core.errors import ErrorType

# ~2 h of attempts at most: 2, 4, 8, ... s, then every 5 min (a receiver's Retry-After overrides the interval).
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=300),
    maximum_attempts=12,
    non_retryable_error_types=[ErrorType.WEBHOOK_REJECTED, ErrorType.WEBHOOK_NOT_CONFIGURED],
)
DELIVERY_TIMEOUT = timedelta(seconds=30)


@workflow.defn(name="AlertDeliveryWorkflow")
class AlertDeliveryWorkflow:
    @workflow.run
    async def run(self, delivery: WebhookDelivery) -> int:
        """Returns the receiver's HTTP status; fails with the last attempt's error (e.g. WebhookRejected)."""
        return await workflow.execute_activity_method(
            AlertActivities.deliver_webhook,
            delivery,
            # Empty: this workflow's own queue (a child inherits its parent's, i.e. the pipeline queue).
            task_queue=delivery.task_queue or workflow.info().task_queue,
            start_to_close_timeout=DELIVERY_TIMEOUT,
            retry_policy=DELIVERY_RETRY,
        )
