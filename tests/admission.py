"""Put a video in the queue the way the API admits one, for tests that start its workflow themselves."""

from __future__ import annotations

import sys
from typing import Any

from core.domain import VideoRequest
from ledger import Ledger


async def admit(ledger: Ledger, request: VideoRequest, request_data: dict[str, Any] | None = None) -> None:
    """No capacity limit: the tests share one database, so another test's waiting videos must not refuse this one."""
    await ledger.admit(request, request_data or {}, capacity=sys.maxsize, idempotency_key=None)
