"""POST /events: events from n8n and other tools, one or a batch, appended to the events table beside the
pipeline's own (their `source` says who posted them). Resending an event with the same id changes nothing."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Self
from uuid import UUID

from fastapi import APIRouter, Body, Depends, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from api.audit import audit_detail
from api.auth import Operator
from api.deps import SettingsDep
from core.events import KIND_PATTERN, Event, EventLevel
from ledger.event_sink import EventSink

router = APIRouter(tags=["events"])

MAX_BATCH = 1000
MAX_DETAILS_BYTES = 8192
CLOCK_SKEW = timedelta(minutes=5)  # how far in the future a sender's clock may put an event


def get_event_sink(request: Request) -> EventSink:
    return request.app.state.event_sink  # type: ignore[no-any-return]


EventSinkDep = Annotated[EventSink, Depends(get_event_sink)]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: UUID = Field(description="the sender's id for the event: a resend with the same id is ignored")
    occurred_at: AwareDatetime = Field(description="when it happened, with its timezone")
    kind: str = Field(pattern=KIND_PATTERN.pattern, description="lower-case words: `n8n.workflow_run`")
    level: EventLevel = "info"
    video_id: UUID | None = None
    channel_id: UUID | None = None
    stage: str | None = Field(None, max_length=64)
    service: str | None = Field(None, max_length=64)
    duration_seconds: float | None = Field(None, ge=0, le=7 * 86400)
    cost_usd: float | None = Field(None, ge=0, le=1_000_000)
    details: dict[str, Any] = Field(default_factory=dict, description=f"at most {MAX_DETAILS_BYTES} bytes as JSON")

    @field_validator("details")
    @classmethod
    def _small_details(cls, details: dict[str, Any]) -> dict[str, Any]:
        try:
            size = len(json.dumps(details, allow_nan=False).encode())
        except ValueError:
            raise ValueError("details hold a number JSON cannot carry (NaN or infinity)") from None
        if size > MAX_DETAILS_BYTES:
            raise ValueError(f"details are {size} bytes as JSON, more than {MAX_DETAILS_BYTES}")
        return details

    @field_validator("duration_seconds", "cost_usd")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _ids_differ(self) -> Self:
        if len({e.event_id for e in self.events}) != len(self.events):
            raise ValueError("two events of the batch share an event_id")
        return self


class EventsAccepted(BaseModel):
    accepted: int = Field(description="events stored now or already stored (a resend): all of the request's")


def parsed_body(body: Annotated[dict[str, Any], Body()]) -> EventIn | EventBatch:
    """A batch when it has `events`, else one event: validated as that alone, so an error names its field from the
    body (`["body", "events", 3, "kind"]`), not from each shape it might have been."""
    model: type[EventIn | EventBatch] = EventBatch if "events" in body else EventIn
    try:
        return model.model_validate(body)
    except ValidationError as err:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in err.errors(include_url=False)]
        ) from None


_BODY_SCHEMA = {
    "required": True,
    "content": {
        "application/json": {"schema": {"oneOf": [EventIn.model_json_schema(), EventBatch.model_json_schema()]}}
    },
}


@router.post(
    "/events",
    response_model=EventsAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra={"requestBody": _BODY_SCHEMA},
)
async def post_events(
    body: Annotated[EventIn | EventBatch, Depends(parsed_body)],
    request: Request,
    principal: Operator,
    sink: EventSinkDep,
    settings: SettingsDep,
) -> EventsAccepted:
    """Store one event, or a batch of up to 1000 (`{"events": [...]}`), in one write; answered once they are
    stored, and readable from then on. An event is refused (422, naming it) when it happened more than
    YTEMPIRE_EVENTS_RETENTION_DAYS ago or more than five minutes ahead; a key limited to some channels must name
    one of them in each event."""
    incoming = body.events if isinstance(body, EventBatch) else [body]
    now = datetime.now(UTC)
    oldest = now - timedelta(days=settings.events_retention_days)
    for i, e in enumerate(incoming):
        where = ["body", "events", i, "occurred_at"] if isinstance(body, EventBatch) else ["body", "occurred_at"]
        if not oldest <= e.occurred_at <= now + CLOCK_SKEW:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                [{"loc": where, "type": "value_error", "msg": "occurred_at is outside what the events table keeps "
                  f"(from {settings.events_retention_days} days ago to five minutes ahead)"}],
            )  # fmt: skip
        if principal.channels is not None and (e.channel_id is None or e.channel_id not in principal.channels):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this key may post events of its own channels only")
    await sink.write([_event(e, principal.label) for e in incoming])
    audit_detail(request).update(events=len(incoming))
    return EventsAccepted(accepted=len(incoming))


def _event(e: EventIn, source: str) -> Event:
    return Event(source=source, **e.model_dump())
