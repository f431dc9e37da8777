"""Signed outbound webhooks: HMAC-SHA256 signatures a receiver can verify, and one delivery attempt over HTTP.

The signature covers the timestamp, the destination URL and the body, so an event can neither be replayed later nor
to another receiver that shares the secret (another caller's callback URL, the alert webhook). A receiver checks
`X-Ytempire-Signature` with `verify(raw_body, secret, X-Ytempire-Timestamp, signature, its own URL)`; one that cannot
know the URL string its senders use (behind a proxy) checks that `X-Ytempire-Destination` names it and passes that.
It de-duplicates on `Idempotency-Key` (the event id: every retry of one event carries the same key).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from temporalio.exceptions import ApplicationError

from core.errors import ErrorType
from providers.circuit_breaker import CircuitBreaker
from providers.errors import retry_after_seconds
from providers.redaction import redact_url

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Ytempire-Signature"
TIMESTAMP_HEADER = "X-Ytempire-Timestamp"
EVENT_HEADER = "X-Ytempire-Event"
DESTINATION_HEADER = "X-Ytempire-Destination"
IDEMPOTENCY_HEADER = "Idempotency-Key"

RETRYABLE_STATUSES = frozenset({408, 429})  # plus every 5xx
# A receiver's Retry-After is honoured up to this; a longer one would park the delivery for good.
MAX_RETRY_AFTER_SECONDS = 3600.0


def destination_of(url: str) -> str:
    """The destination a signature covers: `url` as its receiver is reached, without userinfo (a credential, sent as
    an Authorization header, never echoed in ours) or fragment (never sent)."""
    parts = urlsplit(url)  # drops tabs and line breaks: the signed string below splits one way only
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, ""))


def sign(body: bytes, secret: str, timestamp: int, destination: str) -> str:
    """ "sha256=" + hex HMAC-SHA256 of f"{timestamp}\n{destination_of(destination)}\n" + body.

    The timestamp stops replays of old events, the destination replays to another receiver."""
    signed = f"{timestamp}\n{destination_of(destination)}\n".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(
    body: bytes,
    secret: str,
    timestamp: int | str,
    signature: str,
    destination: str,
    *,
    tolerance_seconds: float = 300,
    now: float | None = None,
) -> bool:
    """True when `signature` is `sign(body, secret, timestamp, destination)` and the timestamp is within the
    tolerance of now; `destination` is the URL this receiver is reached at (an event signed for another URL fails)."""
    try:
        ts = int(timestamp)
        expected = sign(body, secret, ts, destination)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance_seconds:
        return False
    return hmac.compare_digest(expected.encode(), signature.encode())


def build_request(
    event: dict[str, Any], *, url: str, event_id: str, kind: str, secret: str | None, timestamp: int
) -> tuple[bytes, dict[str, str]]:
    """The exact body bytes and the headers of one delivery to `url` (the signature covers the body and the URL)."""
    body = json.dumps(event, separators=(",", ":"), sort_keys=True, default=str).encode()
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: kind,
        TIMESTAMP_HEADER: str(timestamp),
        IDEMPOTENCY_HEADER: event_id,
    }
    if secret:
        headers[DESTINATION_HEADER] = destination_of(url)
        headers[SIGNATURE_HEADER] = sign(body, secret, timestamp, url)
    return body, headers


async def deliver(
    client: httpx.AsyncClient,
    url: str,
    event: dict[str, Any],
    *,
    secret: str | None,
    breaker: CircuitBreaker | None,
    event_id: str,
    kind: str | None = None,
    timeout: float = 10,
) -> int:
    """POST the event once; returns the 2xx status.

    Raises a retryable ApplicationError ("WebhookUnavailable": 5xx, 408, timeout, connection error;
    "WebhookRateLimited": 429) carrying the receiver's Retry-After as `next_retry_delay`, a non-retryable
    "WebhookRejected" for any other answer, or CircuitOpenError while the receiver's breaker is open.
    """
    kind = kind or str(event.get("kind", "event"))
    safe_url = redact_url(url)
    try:
        body, headers = build_request(
            event, url=url, event_id=event_id, kind=kind, secret=secret, timestamp=int(time.time())
        )
    except ValueError:
        raise ApplicationError(
            f"webhook {safe_url} is not a URL an event can be signed for; give a plain http(s) URL",
            type=ErrorType.WEBHOOK_DESTINATION_REFUSED,
            non_retryable=True,
        ) from None
    guard = breaker.guard() if breaker is not None else contextlib.nullcontext()
    async with guard:
        try:
            response = await client.post(url, content=body, headers=headers, timeout=timeout)
        except httpx.TimeoutException as err:
            # `from None`: httpx's own message may quote the full URL, credentials included.
            raise ApplicationError(
                f"webhook {safe_url} did not answer within {timeout:g} s ({type(err).__name__}); will retry",
                type=ErrorType.WEBHOOK_UNAVAILABLE,
            ) from None
        except httpx.HTTPError as err:
            raise ApplicationError(
                f"webhook {safe_url} could not be reached ({type(err).__name__}); will retry",
                type=ErrorType.WEBHOOK_UNAVAILABLE,
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            log.info("webhook %s event %s (%s) delivered: HTTP %d", safe_url, event_id, kind, status)
            return status
        reason = response.reason_phrase or "no reason given"
        if status >= 500 or status in RETRYABLE_STATUSES:
            delay = retry_after_seconds(response.headers.get("Retry-After"), cap_seconds=MAX_RETRY_AFTER_SECONDS)
            log.warning("webhook %s event %s: HTTP %d %s, will retry", safe_url, event_id, status, reason)
            raise ApplicationError(
                f"webhook {safe_url} answered HTTP {status} {reason}"
                + (f"; retrying after {delay:g} s as it asked" if delay is not None else "; will retry"),
                type=ErrorType.WEBHOOK_RATE_LIMITED if status == 429 else ErrorType.WEBHOOK_UNAVAILABLE,
                next_retry_delay=timedelta(seconds=delay) if delay is not None else None,
            )
        log.warning("webhook %s rejected event %s: HTTP %d %s", safe_url, event_id, status, reason)
        raise ApplicationError(
            f"webhook {safe_url} rejected event {event_id} with HTTP {status} {reason}; not retrying — "
            "check the receiver's URL, its signing secret and what it accepts",
            type=ErrorType.WEBHOOK_REJECTED,
            non_retryable=True,
        )
