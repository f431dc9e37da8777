"""What a stage's failed attempts were billed, carried on the stage's final error to the workflow's running total.

A stage whose every attempt failed still cost money (an OpenAI script rejected after its tokens were billed); the
ledger has those rows, and the error the workflow sees says how much, so the video's reported total matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio.exceptions import ApplicationError

FAILED_ATTEMPTS_KEY = "failed_attempts_usd"


def with_failed_charges(err: ApplicationError, charged_usd: float) -> ApplicationError:
    """`err` (type, message, retryability, retry delay kept) with `charged_usd` added to its details."""
    return ApplicationError(
        err.message,
        *err.details,
        {FAILED_ATTEMPTS_KEY: round(charged_usd, 4)},
        type=err.type,
        non_retryable=err.non_retryable,
        next_retry_delay=err.next_retry_delay,
        category=err.category,
    )


def failed_charges_of(err: BaseException | None) -> float:
    """The amount `with_failed_charges` put on `err` (or on the ApplicationError it wraps); 0 when none."""
    while err is not None and not isinstance(err, ApplicationError):
        err = err.__cause__ if err.__cause__ is not None else getattr(err, "cause", None)
    if err is None:
        return 0.0
    details: Sequence[Any] = err.details
    for item in reversed(details):
        if isinstance(item, dict) and isinstance(item.get(FAILED_ATTEMPTS_KEY), int | float):
            return float(item[FAILED_ATTEMPTS_KEY])
    return 0.0
