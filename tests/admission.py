"""Put a video in the queue the way the API admits one, for tests that start its workflow themselves."""

from __future__ import annotations

import sys
import uuid
from typing import Any

from core.domain import VideoRequest
from ledger import Ledger


async def admit(ledger: Ledger, request: VideoRequest, request_data: dict[str, Any] | None = None) -> None:
    """No capacity limit: the tests share one database, so another test's waiting videos must not refuse this one."""
    await ledger.admit(request, request_data or {}, capacity=sys.maxsize, idempotency_key=None)


async def admitted_video(
    ledger: Ledger, topic: str, *, duration_seconds: int = 60, channel_id: str | None = None
) -> VideoRequest:
    """A new video of its own channel (or `channel_id`) and user, admitted; its workflow is the test's to start."""
    request = VideoRequest(
        video_id=str(uuid.uuid4()),
        topic=topic,
        channel_id=channel_id or str(uuid.uuid4()),
        user_id=str(uuid.uuid4()),
        duration_seconds=duration_seconds,
    )
    await admit(ledger, request, {"topic": topic})
    return request


async def finished_video(ledger: Ledger, topic: str, *, channel_id: str | None = None) -> VideoRequest:
    """A video that has completed: in the ledger without holding a place in the queue (the tests share one
    database, and the queue's capacity counts every waiting video of it)."""
    request = await admitted_video(ledger, topic, channel_id=channel_id)
    await ledger.finalize(request.video_id, "completed")
    return request
