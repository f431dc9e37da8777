"""Error types, written once: every raise site, the retry policy and scripts matching `ApplicationError.type` use
these names; plus the domain errors the ledger and the API's services raise and its routes map to HTTP."""

from __future__ import annotations


class ErrorType:
    """The `type` of an `ApplicationError`: what a script (or `temporal workflow list`) matches on."""

    # The request itself can never succeed: retrying cannot fix these.
    INVALID_REQUEST = "InvalidRequest"
    INVALID_CONFIGURATION = "InvalidConfiguration"
    QUALITY_CHECK_FAILED = "QualityCheckFailed"
    COST_LIMIT_EXCEEDED = "CostLimitExceeded"
    # A video's end states and halts, as the workflow reports them.
    CANCELLED = "Cancelled"
    COST_HALT = "CostHalt"
    STAGE_TIMEOUT = "StageTimeout"
    # A stage refused an attempt that could cross the cap (its failed attempts were billed, a render ran long): the
    # workflow halts for an approval and then runs the stage again.
    STAGE_BUDGET_EXHAUSTED = "StageBudgetExhausted"
    # Ends decided outside the workflow (the CLI, the UI, a run timeout), as the reconciler records them.
    WORKFLOW_TERMINATED = "WorkflowTerminated"
    WORKFLOW_TIMED_OUT = "WorkflowTimedOut"
    # A stage's own failures.
    MISSING_ARTIFACT = "MissingArtifact"
    NARRATION_TOO_LONG = "NarrationTooLong"
    SCRIPT_REFUSED = "ScriptRefused"
    SCRIPT_CONTENT_INVALID = "ScriptContentInvalid"
    # A provider's answers.
    PROVIDER_AUTH_FAILED = "ProviderAuthFailed"
    PROVIDER_RATE_LIMITED = "ProviderRateLimited"
    PROVIDER_REQUEST_INVALID = "ProviderRequestInvalid"
    PROVIDER_RESPONSE_INVALID = "ProviderResponseInvalid"
    PROVIDER_UNAVAILABLE = "ProviderUnavailable"
    CIRCUIT_OPEN = "CircuitOpen"
    YOUTUBE_QUOTA_EXHAUSTED = "YouTubeQuotaExhausted"
    YOUTUBE_UPLOAD_REJECTED = "YouTubeUploadRejected"
    # Outbound webhooks and callbacks.
    WEBHOOK_NOT_CONFIGURED = "WebhookNotConfigured"
    WEBHOOK_RATE_LIMITED = "WebhookRateLimited"
    WEBHOOK_REJECTED = "WebhookRejected"
    WEBHOOK_DESTINATION_REFUSED = "WebhookDestinationRefused"
    WEBHOOK_UNAVAILABLE = "WebhookUnavailable"


# What every stage's retry policy refuses to retry (raise sites of these also mark themselves non-retryable).
NON_RETRYABLE_ERRORS: tuple[str, ...] = (
    ErrorType.INVALID_REQUEST,
    ErrorType.QUALITY_CHECK_FAILED,
    ErrorType.COST_LIMIT_EXCEEDED,
    ErrorType.INVALID_CONFIGURATION,
    ErrorType.STAGE_BUDGET_EXHAUSTED,
)


# Failures a whole-video retry cannot fix: the request, the configuration or a person decided. Anything else (a stage
# that timed out or lost its worker, a provider that stayed down through the stage's own attempts) is worth one.
RETRY_NOT_WORTHWHILE: frozenset[str] = frozenset(
    {
        *NON_RETRYABLE_ERRORS,
        ErrorType.CANCELLED,
        ErrorType.COST_HALT,
        ErrorType.PROVIDER_AUTH_FAILED,
        ErrorType.PROVIDER_REQUEST_INVALID,
        ErrorType.SCRIPT_REFUSED,
        # The writer got the length or the content wrong on every attempt: the topic or prompt, not luck.
        ErrorType.SCRIPT_CONTENT_INVALID,
        ErrorType.NARRATION_TOO_LONG,
        ErrorType.YOUTUBE_UPLOAD_REJECTED,
        ErrorType.WORKFLOW_TERMINATED,
    }
)


def retry_worthwhile(error_type: str | None) -> bool:
    """Whether retrying a video that failed with `error_type` can succeed where it failed."""
    return error_type is not None and error_type not in RETRY_NOT_WORTHWHILE


class UnknownVideo(LookupError):
    """No video with this id in the ledger."""

    def __init__(self, video_id: object) -> None:
        super().__init__(f"no video with id {video_id}")


class VideoFinished(Exception):
    """The video is already completed, failed or cancelled: it can no longer be changed."""

    def __init__(self, video_id: object, status: str) -> None:
        super().__init__(f"video {video_id} is already {status}")
        self.status = status


class InvalidVideoRequest(ValueError):
    """A request the schema accepts but this deployment cannot serve; `loc` is where in the request the fault is
    (("body", "cost_cap_usd"), ("query", "cursor"); the whole body when no one part is)."""

    def __init__(self, message: str, *, loc: tuple[str, ...] = ("body",), kind: str = "value_error") -> None:
        super().__init__(message)
        self.loc = loc
        self.kind = kind


class NotPermitted(Exception):
    """The principal's role allows less than this request asks (e.g. an approval above its role's ceiling)."""


class ApprovalRefused(ValueError):
    """The workflow refused a budget approval (not above the current cap, above the ceiling, no reason given)."""


class QueueFull(Exception):
    """The queue already holds `capacity` waiting videos."""

    def __init__(self, depth: int, capacity: int) -> None:
        super().__init__(f"the queue is full: {depth} videos waiting (capacity {capacity})")
        self.depth = depth
        self.capacity = capacity


class DailySpendLimitReached(Exception):
    """Admitting the video would take its principal's or its channel's caps queued today past the daily limit."""

    def __init__(self, who: str, queued_usd: float, cap_usd: float, limit_usd: float, setting: str) -> None:
        super().__init__(
            f"{who} has ${queued_usd:.2f} of video caps queued today (UTC); another ${cap_usd:.2f} would pass its "
            f"daily limit of ${limit_usd:.2f} ({setting}): try tomorrow, or ask an admin to raise it"
        )


class RetryRefused(Exception):
    """A whole-video retry that is not allowed (wrong status, or out of attempts)."""
