"""Value types the ledger writes and reads back: what a stage cost and produced, a video's row, GPU readings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from core.domain import VideoRequest
from core.errors import retry_worthwhile


@dataclass(frozen=True)
class CostLine:
    service: str
    operation: str
    amount_usd: float
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CostRow:
    stage: str
    service: str
    operation: str
    amount_usd: float
    video_attempt: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StageOutcome:
    """What a stage's provider produced (artifact paths) and what it cost; the activity books it."""

    artifacts: dict[str, str]
    cost: CostLine
    details: dict[str, str | float] = field(default_factory=dict)


@dataclass(frozen=True)
class GpuReading:
    """One GPU in a sample; None where NVML could not give the value (the worker's gauge is left out too)."""

    gpu: str  # NVML index, as in the gauges' `gpu` label
    name: str | None = None
    utilization_percent: float | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    encoder_sessions: int | None = None
    encoder_utilization_percent: float | None = None


@dataclass(frozen=True)
class GpuSnapshot:
    """The sampler's latest view: available with one reading per GPU, or not with the reason of ytempire_gpu_available.

    `monotonic_at` is time.monotonic() when it was taken, so a reader can tell a sampler that stopped sampling.
    """

    available: bool
    reason: str
    readings: list[GpuReading] = field(default_factory=list)
    monotonic_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Admission:
    """The answer to an admission: the video (new, or the one an idempotency key made earlier)."""

    video_id: str
    created: bool  # False: an earlier request with the same idempotency key made this video
    depth: int  # waiting videos after this admission


@dataclass(frozen=True)
class DailySpend:
    """What an admission counts against the daily limits: the caps its principal and its channel queued today."""

    admitted_by: str  # the principal's label
    principal_limit_usd: float
    channel_limit_usd: float
    cap_usd: float  # this video's cap (its own, or the default)
    default_cap_usd: float  # the cap of videos that named none


@dataclass(frozen=True)
class Failure:
    """Why a video failed, for people and scripts alike: the error's type, the stage it failed in, the message,
    and whether retrying it (POST /pipeline/retry) can succeed where it failed."""

    type: str
    stage: str | None
    message: str
    retry_worthwhile: bool


@dataclass(frozen=True)
class VideoRow:
    video_id: str
    channel_id: str
    status: str
    stage: str | None
    priority: int
    complexity: str
    actual_cost: float | None
    created_at: datetime
    processing_started_at: datetime | None
    completed_at: datetime | None
    processing_time_seconds: int | None
    retry_count: int
    error_log: list[dict[str, Any]]
    request_data: dict[str, Any]
    attempts: int

    @property
    def failure(self) -> Failure | None:
        """A failed video's final error (the ledger's last error-log entry: finalize appends it when no activity
        raised it, a lost worker's timeout, say); None unless the video failed."""
        if self.status != "failed" or not self.error_log:
            return None
        last = self.error_log[-1]
        error_type = str(last.get("type") or "Error")
        stage = last.get("stage")
        return Failure(
            error_type,
            str(stage) if stage else self.stage,
            str(last.get("message") or ""),
            retry_worthwhile(error_type),
        )

    @property
    def request(self) -> VideoRequest:
        """The request the video was admitted with (request_data also keeps the client's request_id)."""
        known = {f.name for f in fields(VideoRequest)}
        return VideoRequest(**{k: v for k, v in self.request_data.items() if k in known})
