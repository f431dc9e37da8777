"""Admission: a request becomes a video in the ledger and a started workflow, or a domain error says why not.

Capacity and idempotency are the ledger's (one transaction); this module checks what the schema cannot (the cost cap
this deployment allows, a language its script providers write), starts the workflow and keeps the queue metrics.
The routes map its errors to HTTP (api/errors.py).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Literal
from uuid import UUID, uuid4

from temporalio.client import Client

from api.metrics import ApiMetrics
from api.schemas import BatchEnqueueRequest, BatchEnqueueResponse, BatchItemResult, EnqueueRequest, EnqueueResponse
from api.status import position_and_eta
from core.destinations import refusal_now
from core.domain import VideoRequest, workflow_id
from core.errors import DailySpendLimitReached, InvalidVideoRequest, NotPermitted, QueueFull
from core.estimates import depth_alerts
from core.principals import Principal
from core.records import DailySpend
from core.settings import Settings
from ledger import Ledger
from workflows.client import request_problem, start_recorded, start_recorded_attempt

log = logging.getLogger(__name__)


def queue_full_message(full: QueueFull, settings: Settings) -> str:
    return f"{full}; retry after {settings.queue_retry_after_seconds} s"


@dataclass(frozen=True)
class Admitter:
    settings: Settings
    ledger: Ledger
    temporal: Client
    metrics: ApiMetrics
    principal: Principal  # whose request: its channels bound what it may queue, its idempotency keys are its own

    async def enqueue(self, body: EnqueueRequest, idempotency_key: str | None) -> tuple[EnqueueResponse, bool]:
        """Admit one video and start its workflow: (the answer, whether it is new). Raises QueueFull or
        InvalidVideoRequest. The ledger's row is written first and never undone: should Temporal not answer the
        start, the answer says `started: false`, and a resend or the reconciler starts it, once."""
        started = time.perf_counter()
        self.may_queue_for(body.channel_id)
        request = self._video_request(body)
        if request.callback_url and (
            refusal := await refusal_now(request.callback_url, self.settings.outbound_allowlist)
        ):
            raise InvalidVideoRequest(f"callback_url: {refusal}", loc=("body", "callback_url"))
        try:
            admission = await self.ledger.admit(
                request,
                {**asdict(request), "request_id": body.request_id},
                capacity=self.settings.queue_capacity,
                idempotency_key=idempotency_key or body.request_id,
                idempotency_scope=self.principal.label,
                daily_spend=self._daily_spend(request),
            )
        except QueueFull as full:
            self.metrics.enqueued.labels("rejected_full").inc()
            self.metrics.queue_depth.set(full.depth)
            raise
        row = await self.ledger.get_video(admission.video_id)
        assert row is not None
        if admission.created:
            started = await start_recorded(self.temporal, self.settings, request)
            await self._depth_alerts(admission.depth)
            self.metrics.enqueued.labels("accepted").inc()
        else:
            # A resend after an unanswered start (or a crash before it) starts the video if its run is missing.
            started = (
                row.status != "queued"
                or (await start_recorded_attempt(self.temporal, self.settings, self.ledger, row)).started
            )
            self.metrics.enqueued.labels("repeated").inc()
        self.metrics.queue_depth.set(admission.depth)
        position, eta = await position_and_eta(self.ledger, self.settings, row, 0.0, None, [])
        self.metrics.enqueue_seconds.observe(time.perf_counter() - started)
        answer = EnqueueResponse(
            video_id=UUID(admission.video_id),
            position=position,
            eta=eta or 0,
            workflow_id=workflow_id(admission.video_id),
            status_url=f"/pipeline/status/{admission.video_id}",
            started=started,
        )
        return answer, admission.created

    async def enqueue_batch(self, body: BatchEnqueueRequest, idempotency_key: str | None) -> BatchEnqueueResponse:
        """Each video admitted on its own, in order; an answer per video (created, repeated, or rejected and why).
        Video i of a batch with an idempotency key (and no request_id of its own) gets the key `<key>:<i>`."""
        for item in body.videos:  # all or nothing: a batch naming a channel it may not use queues none
            self.may_queue_for(item.channel_id)
        results: list[BatchItemResult] = []
        for index, item in enumerate(body.videos):
            key = f"{idempotency_key}:{index}" if idempotency_key and not item.request_id else None
            try:
                enqueued, created = await self.enqueue(item, key)
            except QueueFull as full:
                error, message = "queue_full", queue_full_message(full, self.settings)
            except InvalidVideoRequest as invalid:
                error, message = "invalid", str(invalid)
            except DailySpendLimitReached as spent:
                error, message = "daily_spend_limit", str(spent)
            else:
                outcome: Literal["created", "repeated"] = "created" if created else "repeated"
                results.append(
                    BatchItemResult(index=index, request_id=item.request_id, outcome=outcome, video=enqueued)
                )
                continue
            results.append(
                BatchItemResult(
                    index=index, request_id=item.request_id, outcome="rejected", error=error, message=message
                )
            )
        return BatchEnqueueResponse(
            created=sum(r.outcome == "created" for r in results),
            repeated=sum(r.outcome == "repeated" for r in results),
            rejected=sum(r.outcome == "rejected" for r in results),
            results=results,
        )

    def _daily_spend(self, request: VideoRequest) -> DailySpend:
        settings = self.settings
        return DailySpend(
            admitted_by=self.principal.label,
            principal_limit_usd=self.principal.daily_spend_limit_usd or settings.daily_spend_limit_per_principal_usd,
            channel_limit_usd=settings.daily_spend_limit_per_channel_usd,
            cap_usd=request.cost_cap_usd or settings.cost_cap_default_usd,
            default_cap_usd=settings.cost_cap_default_usd,
        )

    def may_queue_for(self, channel_id: UUID) -> None:
        if not self.principal.sees_channel(channel_id):
            raise NotPermitted(f"{self.principal.label} may not queue videos for the channel {channel_id}")

    def _video_request(self, body: EnqueueRequest) -> VideoRequest:
        settings = self.settings
        if body.cost_cap_usd is not None and body.cost_cap_usd > settings.cost_cap_max_usd:
            raise InvalidVideoRequest(
                f"cost_cap_usd may be at most {settings.cost_cap_max_usd:.2f}; "
                "an operator can approve more for a running video",
                loc=("body", "cost_cap_usd"),
                kind="less_than_equal",
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
            voice=body.voice,
            music=body.music,
        )
        if found := request_problem(settings, request):
            field, problem = found
            raise InvalidVideoRequest(problem, loc=("body", field))
        return request

    async def _depth_alerts(self, depth: int) -> None:
        settings = self.settings
        for level, threshold in depth_alerts(
            depth - 1, depth, warning=settings.queue_depth_warning, critical=settings.queue_depth_critical
        ):
            message = (
                f"queue depth {depth} reached the {level} threshold {threshold} (capacity {settings.queue_capacity})"
            )
            log.warning(message)
            self.metrics.queue_alerts.labels(level).inc()
            await self.ledger.record_event("queue_depth", level, message, {"depth": depth, "threshold": threshold})
