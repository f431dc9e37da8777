"""GET /audit: who did what through the API, newest first, for admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from api.auth import Admin
from api.deps import LedgerDep

router = APIRouter(tags=["audit"])


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="`api_key:<name>`, `user:<name>` or `anonymous`")
    action: str = Field(description="method and route, e.g. `POST /pipeline/cancel/{video_id}`")
    target: str | None = Field(description="the video the call named")
    client: str = Field(description="the client's address")
    outcome: int = Field(description="the HTTP status answered")
    detail: dict[str, Any]


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    next_cursor: int | None = Field(description="pass as `cursor` for the next (older) page; null on the last")


@router.get("/audit", response_model=AuditPage)
async def audit_log(
    request: Request,
    ledger: LedgerDep,
    _admin: Admin,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=200, description="e.g. `POST /pipeline/approve/{video_id}`")] = None,
    target: Annotated[str | None, Query(max_length=100, description="a video id")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Audit entries, newest first, filtered by actor, action, target and time, a page at a time. Entries are kept
    a year and can be neither changed nor removed before."""
    rows = await ledger.audit_entries(
        actor=actor, action=action, target=target, since=since, until=until, before_id=cursor, limit=limit + 1
    )
    page = rows[:limit]
    return AuditPage(
        entries=[AuditEntryOut(**vars(row)) for row in page],
        next_cursor=page[-1].id if len(rows) > limit else None,
    )
