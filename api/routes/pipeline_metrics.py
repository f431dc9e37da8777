"""GET /pipeline/metrics: queue depth, throughput, error rate, cost per video and breaker states, as JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from core.errors import NotPermitted
from core.principals import Principal
from ledger.analytics import pipeline_metrics

router = APIRouter(prefix="/pipeline", tags=["metrics"])

BreakerStateName = Literal["closed", "half_open", "open"]


def get_pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool  # type: ignore[no-any-return]


PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]


class PipelineMetricsResponse(BaseModel):
    window_hours: float = Field(description="Length of the window the rates and costs cover.")
    generated_at: datetime
    queue_depth: int = Field(ge=0, description="Videos waiting: queued, or preparing before their render starts.")
    processing: int = Field(ge=0, description="Videos in status processing (preparing or rendering).")
    halted: int = Field(ge=0, description="Videos stopped at their cost cap, waiting for an operator.")
    completed_in_window: int = Field(ge=0)
    failed_in_window: int = Field(ge=0)
    processing_rate_per_hour: float = Field(ge=0, description="Videos completed in the window per hour.")
    error_rate: float = Field(ge=0, le=1, description="failed / (completed + failed) in the window; 0 when none.")
    avg_cost_usd: float | None = Field(description="Mean cost of the videos completed in the window; null if none.")
    p95_cost_usd: float | None = Field(description="95th percentile of that cost; null if none.")
    videos_by_status: dict[str, int] = Field(description="All videos in the ledger per status.")
    circuit_breakers: dict[str, BreakerStateName] = Field(
        description="Last reported circuit breaker state per external service."
    )


@router.get("/metrics", response_model=PipelineMetricsResponse)
async def get_pipeline_metrics(
    request: Request,
    pool: PoolDep,
    window_hours: Annotated[float, Query(gt=0, le=24 * 31, description="Window for rates and costs.")] = 1.0,
    channel_id: Annotated[UUID | None, Query(description="Only this channel's videos.")] = None,
) -> PipelineMetricsResponse:
    """Pipeline health from the ledger (for Prometheus series see GET /metrics). A principal limited to channels
    names one of them (403 otherwise)."""
    principal: Principal | None = getattr(request.state, "principal", None)  # put there by the app's role check
    if (
        principal is not None
        and principal.channels is not None
        and (channel_id is None or not principal.sees_channel(channel_id))
    ):
        raise NotPermitted(f"{principal.label} sees only its channels: name one with ?channel_id=")
    figures = await pipeline_metrics(
        pool, window_hours=window_hours, channel_id=str(channel_id) if channel_id is not None else None
    )
    return PipelineMetricsResponse.model_validate(figures, from_attributes=True)
