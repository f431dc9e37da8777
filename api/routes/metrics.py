"""GET /metrics: the API's series in Prometheus text format, ledger figures read fresh at each scrape."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import MetricsDep

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response)
async def prometheus_metrics(request: Request, metrics: MetricsDep) -> Response:
    """Prometheus exposition; the ledger figures are refreshed first (see `ytempire_ledger_up`)."""
    await metrics.refresh_from_ledger(request.app.state.pool)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
