"""Request and response models of the HTTP API (validation errors are FastAPI's own 422s)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from core.languages import LANGUAGE_PATTERN
from core.records import VideoRow
from core.text import text_problem


def _plain(value: str) -> str:
    if problem := text_problem(value):
        raise ValueError(problem)
    return value


# Free text that is stored and shown: a NUL or a lone surrogate is a 422 here, never a failed write later.
PlainText = Annotated[str, AfterValidator(_plain)]


class EnqueueRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "topic": "octopus hearts",
                    "channel_id": "3f1c2d9e-8a51-4c53-9a8e-2f4b8d1e7a10",
                    "user_id": "9b2e4f6a-1c3d-4e5f-8a7b-6c5d4e3f2a1b",
                    "priority": 7,
                    "complexity": "simple",
                }
            ]
        },
    )

    topic: PlainText = Field(min_length=3, max_length=200, description="What the video is about.")
    channel_id: UUID
    user_id: UUID
    priority: int = Field(5, ge=1, le=10, description="1..10, 10 most urgent.")
    complexity: Literal["simple", "complex", "premium"] = "simple"
    duration_seconds: int = Field(60, ge=30, le=180, description="Target narration length.")
    orientation: Literal["portrait", "landscape"] = Field(
        "portrait", description="portrait = 1080x1920 (Shorts), landscape = 1920x1080."
    )
    cost_cap_usd: float | None = Field(
        None, gt=0, description="This video's budget (default and maximum: YTEMPIRE_COST_CAP_DEFAULT_USD/_MAX_USD)."
    )
    language: str = Field(
        "en",
        pattern=LANGUAGE_PATTERN,
        description="BCP 47 language of the script and narration (en, es, pt-BR, ...). The offline template writer "
        "writes en, es, pt, fr and de; others need a cloud script provider (YTEMPIRE_SCRIPT_PROVIDER=openai). "
        "Piper (where a Piper voice speaks it), espeak-ng, Google TTS and ElevenLabs speak it.",
    )
    voice: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="A Piper voice of the server's YTEMPIRE_PIPER_VOICES_DIR by name (the file name without .onnx, "
        "e.g. en_US-lessac-medium) to speak this video with the local speech provider; it must speak the video's "
        "language. Unset: the language's own offline voice (Piper's en_US-joe-medium for English, espeak-ng for a "
        "language without a Piper voice).",
    )
    music: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        pattern=r"^\w[\w .+-]*(/\w[\w .+-]*)*$",
        description="The music under this video, from the server's YTEMPIRE_MUSIC_DIR: a mood (e.g. calm, the name "
        "of a folder or a music.json tag), a file (its path in the library, or its name where that is unique, e.g. "
        "calm/piano.mp3), or none for no music. Unset: the channel's choice (YTEMPIRE_CHANNEL_MUSIC), else any track "
        "of the library; no library, no music.",
    )
    callback_url: AnyHttpUrl | None = Field(
        None,
        description="Receives a signed JSON event (X-Ytempire-Signature, HMAC-SHA256 of the timestamp, this URL and "
        "the body) when the video completes, fails, is cancelled or halts; e.g. an n8n Wait node's "
        "$execution.resumeUrl.",
    )
    request_id: PlainText | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Idempotency key (or send the `Idempotency-Key` header): a repeat returns the same video_id.",
    )

    @field_validator("topic")
    @classmethod
    def topic_has_words(cls, value: str) -> str:
        value = " ".join(value.split())
        if sum(ch.isalnum() for ch in value) < 3:
            raise ValueError("topic needs at least 3 letters or digits")
        return value


class EnqueueResponse(BaseModel):
    video_id: UUID
    position: int = Field(description="Rank among queued videos (priority DESC, created_at ASC); 0 = started.")
    eta: int = Field(description="Estimated seconds until the video is done.")
    workflow_id: str
    status_url: str
    started: bool = Field(
        True,
        description="False when Temporal did not answer the start: the video is recorded all the same, and the "
        "reconciler starts it (once) within YTEMPIRE_RECONCILE_INTERVAL_SECONDS",
    )


class BatchEnqueueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    videos: list[EnqueueRequest] = Field(
        min_length=1, max_length=100, description="Up to 100 videos (the queue's capacity), admitted in this order."
    )


class BatchItemResult(BaseModel):
    index: int = Field(description="The video's position in the request's `videos`.")
    request_id: str | None
    outcome: Literal["created", "repeated", "rejected"]
    video: EnqueueResponse | None = Field(None, description="Set unless rejected.")
    error: Literal["queue_full", "invalid", "daily_spend_limit"] | None = Field(
        None,
        description="Why it was rejected: the queue is full (retry later), the request cannot be made here "
        "(e.g. a language the configured script writer cannot write), or its principal or channel has queued its "
        "daily limit of caps (retry tomorrow, UTC).",
    )
    message: str | None = None


class BatchEnqueueResponse(BaseModel):
    created: int
    repeated: int
    rejected: int
    results: list[BatchItemResult]


class StageCost(BaseModel):
    stage: str
    service: str
    operation: str
    amount_usd: float
    attempt: int = Field(1, description="the whole-video attempt this cost belongs to")
    failed_attempt: bool = Field(
        False, description="billed by the provider for a stage attempt that failed anyway (e.g. a rejected script)"
    )


class QueueFullResponse(BaseModel):
    error: Literal["queue_full"] = "queue_full"
    message: str
    depth: int
    capacity: int
    retry_after_seconds: int


class ApproveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_cap_usd: float = Field(gt=0, description="The new budget; above the current cap, at most the ceiling.")
    approved_by: PlainText | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="on whose behalf, as the caller says; the ledger records the signed-in principal first "
        "(`api_key:n8n for maria`)",
    )
    reason: PlainText = Field(min_length=1, max_length=500)


class ApproveResponse(BaseModel):
    video_id: UUID
    status: str
    cap_usd: float
    cost_usd: float


class CancelResponse(BaseModel):
    video_id: UUID
    status: Literal["cancelling"]


class RetryResponse(BaseModel):
    video_id: UUID
    attempt: int = Field(description="1 for the first run; a video gets at most YTEMPIRE_MAX_VIDEO_ATTEMPTS")
    resume_from: str | None = Field(description="the first stage this attempt runs")
    reused_stages: list[str] = Field(description="stages that succeeded before and are not run or paid again")
    started: bool = Field(
        True,
        description="False when Temporal did not answer the start: the video is recorded all the same, and the "
        "reconciler starts it (once) within YTEMPIRE_RECONCILE_INTERVAL_SECONDS",
    )


class FailureInfo(BaseModel):
    """Why a video failed."""

    type: str = Field(description="the error type scripts match on (StageTimeout, ProviderUnavailable, ...)")
    stage: str | None = Field(description="the stage it failed in")
    message: str = Field(description="what went wrong; server paths in it are relative to the data directory")
    retry_worthwhile: bool = Field(
        description="whether POST /pipeline/retry can succeed where it failed (false for a refused request, a "
        "failed QA, a cost limit, bad credentials)"
    )

    @classmethod
    def of(cls, row: VideoRow, shown: Callable[[str], str]) -> FailureInfo | None:
        """The row's failure, its message passed through `shown` (what an answer may show of it)."""
        failure = row.failure
        if failure is None:
            return None
        return cls(
            type=failure.type,
            stage=failure.stage,
            message=shown(failure.message),
            retry_worthwhile=failure.retry_worthwhile,
        )


class VideoSummary(BaseModel):
    video_id: UUID
    channel_id: UUID
    topic: str
    language: str
    status: str
    stage: str | None
    priority: int
    complexity: str
    cost_usd: float = Field(description="the ledger's total so far, to the cent")
    created_at: datetime
    completed_at: datetime | None
    last_error_type: str | None = Field(None, description="the type of the latest stage error, if any")
    failure: FailureInfo | None = Field(None, description="why it failed (failed videos only)")
    status_url: str


class VideoListResponse(BaseModel):
    videos: list[VideoSummary]
    next_cursor: str | None = Field(
        None, description="pass as `cursor` for the next page (older videos); null on the last page"
    )


class VideoOutputs(BaseModel):
    """The finished video's files, relative to the data directory (YTEMPIRE_DATA_DIR), never the server's absolute
    paths: join them with that directory on the machine that shares it."""

    mp4_path: str = Field(examples=["outbox/3f1c2d9e-8a51-4c53-9a8e-2f4b8d1e7a10/video.mp4"])
    metadata_path: str = Field(examples=["outbox/3f1c2d9e-8a51-4c53-9a8e-2f4b8d1e7a10/metadata.json"])
    thumbnail_path: str = Field(examples=["outbox/3f1c2d9e-8a51-4c53-9a8e-2f4b8d1e7a10/thumbnail.jpg"])


class StageRunOut(BaseModel):
    stage: str
    outcome: Literal["finished", "failed"]
    at: datetime = Field(description="when it finished or failed")
    duration_seconds: float | None = Field(description="how long the stage took (finished runs)")
    cost_usd: float | None = Field(description="what the stage charged (finished runs)")
    error_type: str | None = Field(description="the error's type (failed runs)")
    final: bool = Field(description="false for a failed attempt Temporal retried")


class StatusResponse(BaseModel):
    video_id: UUID
    topic: str = Field("", description="what the video is about, as requested")
    status: str
    stage: str | None
    progress: float = Field(description="0..100, weighted by typical stage durations.")
    eta: int | None
    position: int
    attempts: int
    cost_usd: float
    costs: list[StageCost]
    retry_count: int
    errors: list[dict[str, object]] = Field(
        description="each failed attempt (stage, type, message, ...); server paths in messages are relative to the "
        "data directory"
    )
    created_at: datetime
    processing_started_at: datetime | None
    completed_at: datetime | None
    processing_time_seconds: int | None
    workflow_id: str
    temporal_ui: str
    outputs: VideoOutputs | None = None
    cost_cap_usd: float = Field(description="the video's budget (raised by approvals)")
    halted_reason: str | None = Field(None, description="why a halted video waits for a budget approval")
    failure: FailureInfo | None = Field(None, description="why it failed (failed videos only)")
    stages: list[StageRunOut] = Field(
        default_factory=list, description="what each stage did, in order: finished stages and failed attempts"
    )
