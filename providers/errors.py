"""One translation of a provider's HTTP failure into a Temporal ApplicationError a script can match on.

- 429: retryable `ProviderRateLimited`, next attempt after the provider's `Retry-After` (seconds or HTTP date);
- 5xx, timeouts, dropped connections: retryable `ProviderUnavailable` (Temporal's retry policy backs off);
- 401/403: non-retryable `ProviderAuthFailed`, naming the setting that holds the credential;
- other 4xx: non-retryable `ProviderRequestInvalid`;
- a 2xx whose body is not what the API documents: `ProviderResponseInvalid` (retryable: a glitch may pass;
  the bad body is never passed on).
Messages go through `redact()` so that no key, token or signed URL reaches logs, payloads or the Temporal UI.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError

from core.errors import ErrorType
from core.records import CostLine
from providers.redaction import redact

MAX_RETRY_AFTER_SECONDS = 300.0  # a provider's Retry-After is honoured up to this; past it, the retry policy backs off
_BODY_EXCERPT = 300


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A header's value, whatever the case of its name (plain dicts of response headers keep the server's case)."""
    return next((v for k, v in (headers or {}).items() if k.lower() == name.lower()), None)


def retry_after_seconds(value: str | None, *, cap_seconds: float, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` value (delta-seconds or an HTTP date), at most `cap_seconds`; None when absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), cap_seconds)


def http_error(
    service: str,
    status: int,
    *,
    setting: str,
    headers: Mapping[str, str] | None = None,
    body: str = "",
    secrets: Iterable[SecretStr | str | None] = (),
    hint: str | None = None,
) -> ApplicationError:
    """The ApplicationError for an HTTP error `status` from `service`; `setting` names the credential's env var, and
    `hint` (what the user may change) ends the message of an error that is not about credentials or rate."""
    excerpt = redact(body.strip().replace("\n", " ")[:_BODY_EXCERPT], secrets)
    detail = f": {excerpt}" if excerpt else ""
    if status == 429:
        delay = retry_after_seconds(header(headers, "Retry-After"), cap_seconds=MAX_RETRY_AFTER_SECONDS)
        return ApplicationError(
            f"{service} rate-limited the request (HTTP 429){detail}",
            {"service": service, "status": status, "retry_after_seconds": delay},
            type=ErrorType.PROVIDER_RATE_LIMITED,
            next_retry_delay=timedelta(seconds=delay) if delay is not None else None,
        )
    if status in (401, 403):
        return ApplicationError(
            f"{service} refused the credentials (HTTP {status}): check {setting}{detail}",
            {"service": service, "status": status, "setting": setting},
            type=ErrorType.PROVIDER_AUTH_FAILED,
            non_retryable=True,
        )
    if hint:
        detail += f" ({hint})"
    if status >= 500 or status in (408, 409, 425):
        return ApplicationError(
            f"{service} is unavailable (HTTP {status}){detail}",
            {"service": service, "status": status},
            type=ErrorType.PROVIDER_UNAVAILABLE,
        )
    return ApplicationError(
        f"{service} rejected the request (HTTP {status}){detail}",
        {"service": service, "status": status},
        type=ErrorType.PROVIDER_REQUEST_INVALID,
        non_retryable=True,
    )


def unavailable(service: str, err: BaseException, secrets: Iterable[SecretStr | str | None] = ()) -> ApplicationError:
    """A timeout or connection failure: retryable."""
    return ApplicationError(
        f"{service} could not be reached: {redact(f'{type(err).__name__}: {err}', secrets)}",
        {"service": service},
        type=ErrorType.PROVIDER_UNAVAILABLE,
    )


def invalid_response(service: str, why: str) -> ApplicationError:
    return ApplicationError(
        f"{service} returned a malformed response: {why}",
        {"service": service},
        type=ErrorType.PROVIDER_RESPONSE_INVALID,
    )


def missing_credential(service: str, setting: str) -> ApplicationError:
    return ApplicationError(
        f"{service} is selected but no credential is configured: set {setting}",
        {"service": service, "setting": setting},
        type=ErrorType.PROVIDER_AUTH_FAILED,
        non_retryable=True,
    )


_CHARGE_ATTRIBUTE = "ytempire_charge"


def attach_charge(err: BaseException, cost: CostLine) -> BaseException:
    """Mark `err` with what its failed attempt was still billed, for run_stage to record (never serialized)."""
    setattr(err, _CHARGE_ATTRIBUTE, cost)
    return err


def charge_of(err: BaseException) -> CostLine | None:
    charge = getattr(err, _CHARGE_ATTRIBUTE, None)
    return charge if isinstance(charge, CostLine) else None


_UNBILLED_ATTRIBUTE = "ytempire_unbilled"


def mark_unbilled(err: ApplicationError) -> ApplicationError:
    """Mark `err` as a call the provider cannot have billed: it answered with an error status, or the request never
    reached it. Any other failure of a call (a timeout, a dropped connection, a 200 that does not parse) may have
    been billed, and is charged as if it had been."""
    setattr(err, _UNBILLED_ATTRIBUTE, True)
    return err


def is_unbilled(err: BaseException) -> bool:
    return bool(getattr(err, _UNBILLED_ATTRIBUTE, False))


def never_connected(err: BaseException) -> bool:
    """Whether `err`, or an error it was raised from, says the request never reached the server."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, httpx.ConnectError | httpx.ConnectTimeout):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
