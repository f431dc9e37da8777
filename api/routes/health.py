"""Liveness and readiness."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import LedgerDep, TemporalDep

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)
CHECK_TIMEOUT_SECONDS = 3.0


async def _check(probe: Awaitable[Any]) -> str:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_SECONDS)
    except Exception as err:  # any failure is an answer here, never a 500
        log.warning("health check failed: %s", err)
        return f"unavailable: {type(err).__name__}"
    return "ok"


@router.get(
    "/healthz",
    responses={503: {"description": "PostgreSQL or Temporal is unreachable; the body says which"}},
)
async def healthz(ledger: LedgerDep, temporal: TemporalDep) -> JSONResponse:
    """Ready (200) when PostgreSQL answers and Temporal is reachable; 503 naming what is not."""
    postgres = await _check(ledger.count_active())
    temporal_state = await _check(temporal.service_client.check_health())
    ok = postgres == temporal_state == "ok"
    return JSONResponse(
        status_code=200 if ok else 503,
        content={"status": "ok" if ok else "unavailable", "postgres": postgres, "temporal": temporal_state},
    )
