"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import LedgerDep, TemporalDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(ledger: LedgerDep, temporal: TemporalDep) -> dict[str, str]:
    """Ready when PostgreSQL answers and Temporal is reachable."""
    await ledger.count_active()
    await temporal.service_client.check_health()
    return {"status": "ok"}
