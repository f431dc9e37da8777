"""GET /analytics/...: how videos perform against what they cost, from the hourly and daily rollups. A key limited
to some channels sees only those (403 otherwise); cost reports come as JSON or CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import LedgerDep
from core.errors import InvalidVideoRequest, NotPermitted, UnknownVideo
from core.principals import Principal
from ledger import performance
from ledger.rollups import Granularity

router = APIRouter(prefix="/analytics", tags=["analytics"])

MAX_SPAN = {"hour": timedelta(days=31), "day": timedelta(days=3660)}
DEFAULT_SPAN = {"hour": timedelta(days=2), "day": timedelta(days=30)}

GranularityQuery = Annotated[Literal["hour", "day"], Query(description="hourly or daily buckets (UTC)")]
SinceQuery = Annotated[datetime | None, Query(description="first bucket, inclusive (default: 2 days or 30 back)")]
UntilQuery = Annotated[datetime | None, Query(description="end, exclusive (default: now)")]
ChannelQuery = Annotated[UUID | None, Query(description="only this channel (a channel-limited key must name one)")]


class BucketOut(BaseModel):
    bucket: datetime
    views: int
    likes: int
    comments: int
    watch_minutes: float
    revenue_usd: float | None = Field(description="null: YouTube reported no revenue (hours; no revenue access)")
    cost_usd: float
    margin_usd: float = Field(description="revenue - cost, unknown revenue counted as none")
    videos_completed: int | None = None
    videos_failed: int | None = None


class SeriesOut(BaseModel):
    granularity: Literal["hour", "day"]
    since: datetime
    until: datetime
    buckets: list[BucketOut]


class ChannelTotalOut(BaseModel):
    channel_id: str
    views: int
    watch_minutes: float
    revenue_usd: float | None
    cost_usd: float
    margin_usd: float
    videos_completed: int
    videos_failed: int


class ChannelsOut(BaseModel):
    granularity: Literal["hour", "day"]
    since: datetime
    until: datetime
    channels: list[ChannelTotalOut] = Field(description="best margin first")


class VideoMarginOut(BaseModel):
    video_id: str
    channel_id: str
    views: int
    revenue_usd: float | None
    cost_usd: float
    margin_usd: float


class RankedOut(BaseModel):
    order: Literal["top", "bottom"]
    since: datetime
    until: datetime
    videos: list[VideoMarginOut]


class CostRowOut(BaseModel):
    key: str = Field(description="the video id, service, channel id or day (YYYY-MM-DD) of the row")
    cost_usd: float
    charges: int | None


class CostReportOut(BaseModel):
    group_by: Literal["video", "service", "channel", "day"]
    since: datetime
    until: datetime
    total_usd: float
    rows: list[CostRowOut]


def _window(granularity: Granularity, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    end = _aware(until, "until") if until else datetime.now(UTC)
    start = _aware(since, "since") if since else end - DEFAULT_SPAN[granularity]
    if start >= end:
        raise InvalidVideoRequest("since must be before until", loc=("query", "since"))
    if end - start > MAX_SPAN[granularity]:
        raise InvalidVideoRequest(
            f"at most {MAX_SPAN[granularity].days} days of {granularity} buckets at once", loc=("query", "since")
        )
    return start, end


def _series_out(
    granularity: Granularity, start: datetime, end: datetime, buckets: list[performance.Bucket]
) -> SeriesOut:
    return SeriesOut(granularity=granularity, since=start, until=end, buckets=[BucketOut(**vars(b)) for b in buckets])


def _aware(at: datetime, name: str) -> datetime:
    if at.tzinfo is None:
        raise InvalidVideoRequest(f"{name} needs a timezone (2026-12-01T00:00:00Z)", loc=("query", name))
    return at


def _principal(request: Request) -> Principal | None:
    return getattr(request.state, "principal", None)  # put there by the router's role check


def _check_channel(request: Request, channel_id: UUID | None) -> None:
    principal = _principal(request)
    if principal is not None and principal.channels is not None:
        if channel_id is None or not principal.sees_channel(channel_id):
            raise NotPermitted(f"{principal.label} sees only its channels: name one with ?channel_id=")


@router.get("/channels", response_model=ChannelsOut)
async def channels(
    request: Request,
    ledger: LedgerDep,
    granularity: Annotated[Literal["hour", "day"], Query(description="which buckets to sum")] = "hour",
    since: SinceQuery = None,
    until: UntilQuery = None,
) -> ChannelsOut:
    """Every channel's views, watch minutes, revenue, cost, margin and videos over the window, best margin first
    (a channel-limited key sees its channels)."""
    start, end = _window(granularity, since, until)
    principal = _principal(request)
    limited = principal.channels if principal is not None else None
    totals = await performance.channel_totals(ledger.pool, granularity, start, end, limited)
    return ChannelsOut(
        granularity=granularity, since=start, until=end, channels=[ChannelTotalOut(**vars(t)) for t in totals]
    )


@router.get("/channels/{channel_id}/series", response_model=SeriesOut)
async def channel_series(
    request: Request,
    ledger: LedgerDep,
    channel_id: UUID,
    granularity: GranularityQuery = "day",
    since: SinceQuery = None,
    until: UntilQuery = None,
) -> SeriesOut:
    """A channel's views, watch minutes, revenue, cost, margin and completed/failed videos per hour or day."""
    _check_channel(request, channel_id)
    start, end = _window(granularity, since, until)
    return _series_out(
        granularity, start, end, await performance.channel_series(ledger.pool, channel_id, granularity, start, end)
    )


@router.get("/videos/{video_id}/series", response_model=SeriesOut)
async def video_series(
    request: Request,
    ledger: LedgerDep,
    video_id: UUID,
    granularity: GranularityQuery = "day",
    since: SinceQuery = None,
    until: UntilQuery = None,
) -> SeriesOut:
    """A video's views, likes, comments, watch minutes, revenue, cost and margin per hour or day."""
    channel_id = await performance.video_channel(ledger.pool, video_id)
    if channel_id is None:
        raise UnknownVideo(video_id)
    _check_channel(request, channel_id)
    start, end = _window(granularity, since, until)
    buckets = await performance.video_series(ledger.pool, video_id, granularity, start, end)
    return _series_out(granularity, start, end, buckets)


@router.get("/videos/ranked", response_model=RankedOut)
async def ranked_videos(
    request: Request,
    ledger: LedgerDep,
    order: Annotated[Literal["top", "bottom"], Query(description="highest or lowest margin first")] = "top",
    channel_id: ChannelQuery = None,
    since: SinceQuery = None,
    until: UntilQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 10,
) -> RankedOut:
    """The videos that earned the most (or least) over what they cost, over the days of the window."""
    _check_channel(request, channel_id)
    start, end = _window("day", since, until)
    videos = await performance.ranked_videos(ledger.pool, channel_id, start, end, order, limit)
    return RankedOut(order=order, since=start, until=end, videos=[VideoMarginOut(**vars(v)) for v in videos])


@router.get(
    "/costs",
    response_model=CostReportOut,
    responses={200: {"content": {"text/csv": {"example": "key,cost_usd,charges\nopenai,1.2300,42\n"}}}},
)
async def cost_report(
    request: Request,
    ledger: LedgerDep,
    group_by: Annotated[Literal["video", "service", "channel", "day"], Query()] = "day",
    channel_id: ChannelQuery = None,
    since: SinceQuery = None,
    until: UntilQuery = None,
    format: Annotated[Literal["json", "csv"], Query(description="json, or csv (with a header row)")] = "json",  # noqa: A002
) -> CostReportOut | Response:
    """What was spent, per video, service, channel or day, over the days of the window."""
    _check_channel(request, channel_id)
    start, end = _window("day", since, until)
    rows = await performance.cost_report(ledger.pool, group_by, channel_id, start, end)
    if format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["key", "cost_usd", "charges"])
        writer.writerows([r.key, f"{r.cost_usd:.4f}", "" if r.charges is None else r.charges] for r in rows)
        filename = f"costs-by-{group_by}-{start.date()}-{end.date()}.csv"
        return Response(
            out.getvalue(), media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
        )
    return CostReportOut(
        group_by=group_by,
        since=start,
        until=end,
        total_usd=round(sum(r.cost_usd for r in rows), 4),
        rows=[CostRowOut(**vars(r)) for r in rows],
    )
