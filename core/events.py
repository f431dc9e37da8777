"""An event: something that happened to a video or in the pipeline, at a time, appended to the events table once
(its id makes a resend harmless). The pipeline writes them as it works; other tools post them to /events."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final, Literal
from uuid import UUID, uuid5

EventLevel = Literal["debug", "info", "warning", "error", "critical"]
EVENT_LEVELS: Final = ("debug", "info", "warning", "error", "critical")
# Lower-case words joined by `_`, `.`, `:` or `-`: `stage_finished`, `n8n.workflow_run`.
KIND_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
PIPELINE_SOURCE: Final = "pipeline"
_PIPELINE_EVENTS: Final = UUID("0b6f3c52-2f7e-4d1a-9a43-6c1f0e9d8b27")


def pipeline_event_id(*parts: object) -> UUID:
    """The id of the event `parts` name (video, attempt, stage, what happened): a retried activity writing the same
    event again gives the same id, which its day then skips."""
    return uuid5(_PIPELINE_EVENTS, "/".join(str(part) for part in parts))


@dataclass(frozen=True)
class Event:
    event_id: UUID
    occurred_at: datetime  # timezone-aware
    kind: str
    source: str  # PIPELINE_SOURCE, or the principal that posted it
    level: EventLevel = "info"
    video_id: UUID | None = None
    channel_id: UUID | None = None
    stage: str | None = None
    service: str | None = None
    duration_seconds: float | None = None
    cost_usd: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None:
            raise ValueError("an event's occurred_at needs a timezone")
        if not KIND_PATTERN.match(self.kind):
            raise ValueError(f"event kind {self.kind!r} is not lower-case words joined by _ . : or -")

    @property
    def day(self) -> date:
        """The UTC day it happened: the partition it lives in."""
        return self.occurred_at.astimezone(UTC).date()
