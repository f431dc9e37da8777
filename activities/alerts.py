"""Alert delivery activity: one signed webhook POST per attempt, through the receiver's circuit breaker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core import activity_names
from core.destinations import refusal_now
from core.errors import ErrorType
from ledger.breakers import SERVICE_MAX_LEN
from providers.circuit_breaker import BreakerBoard
from providers.redaction import redact_url
from providers.webhooks import deliver


@dataclass
class WebhookDelivery:
    """One outbound event. `event_id` is the receiver's idempotency key: keep it stable across retries.

    `url` empty means the worker's configured receiver (keeps a URL with credentials out of workflow history).
    `task_queue` is where AlertDeliveryWorkflow schedules the activity (empty: the workflow's own queue).
    """

    event_id: str
    kind: str
    url: str
    payload: dict[str, Any] = field(default_factory=dict)
    task_queue: str = ""


def breaker_service(url: str) -> str:
    """One breaker per receiver host: a dead receiver must not stop deliveries to another."""
    try:
        parts = urlsplit(url)
        host = f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname or "unknown"
    except ValueError:
        host = "unknown"
    return f"webhook:{host}"[:SERVICE_MAX_LEN]


class AlertActivities:
    def __init__(
        self,
        client: httpx.AsyncClient,
        secret: str | None,
        breakers: BreakerBoard,
        *,
        default_url: str | None = None,
        timeout_seconds: float = 10.0,
        allowed: list[str] | None = None,
        callback_secret: str | None = None,
    ) -> None:
        """`allowed`: the destinations on this machine or a private network it may reach (None: no check at all,
        for tests of delivery alone)."""
        self._client = client
        self._secret = secret
        self._breakers = breakers
        self._default_url = default_url
        self._timeout = timeout_seconds
        self._allowed = allowed
        # A caller's callback (a delivery with its own url) is signed with a secret of its own: replayed to the alert
        # receiver, it would not verify. None (tests of delivery alone): the alert secret signs both.
        self._callback_secret = callback_secret

    @activity.defn(name=activity_names.DELIVER_WEBHOOK)
    async def deliver_webhook(self, delivery: WebhookDelivery) -> int:
        """POST the event to its receiver; returns the HTTP status (2xx) or raises a typed ApplicationError."""
        url = delivery.url or self._default_url
        if not url:
            raise ApplicationError(
                f"no webhook URL for event {delivery.event_id} ({delivery.kind}): set YTEMPIRE_ALERT_WEBHOOK_URL "
                "or give the delivery a url",
                type=ErrorType.WEBHOOK_NOT_CONFIGURED,
                non_retryable=True,
            )
        if self._allowed is not None and (refusal := await refusal_now(url, self._allowed)):
            # Checked again at each delivery: the name may resolve elsewhere than when the video was admitted.
            raise ApplicationError(
                f"webhook {redact_url(url)} refused: {refusal}",
                type=ErrorType.WEBHOOK_DESTINATION_REFUSED,
                non_retryable=True,
            )
        activity.logger.debug("delivering %s event %s to %s", delivery.kind, delivery.event_id, redact_url(url))
        event = {"id": delivery.event_id, "kind": delivery.kind, "payload": delivery.payload}
        return await deliver(
            self._client,
            url,
            event,
            secret=self._callback_secret if delivery.url and self._callback_secret else self._secret,
            breaker=self._breakers.get(breaker_service(url)),
            event_id=delivery.event_id,
            kind=delivery.kind,
            timeout=self._timeout,
        )
