"""What the speech fakes share: scripted faults answered instead of the real thing, and a record of each request."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import JSONResponse, Response


@dataclass(frozen=True)
class Fault:
    """A scripted answer to the next request: a status with a JSON (dict/list) or raw (str) body."""

    status: int  # 0: answer this request normally (to script a fault on a later one)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


@dataclass(frozen=True)
class Recorded:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]


async def scripted_answer(faults: deque[Fault]) -> Response | None:
    """The next scripted fault's response, or None when the request is to be answered normally."""
    fault = faults.popleft() if faults else None
    if fault is None or not fault.status:
        return None
    if fault.delay_seconds:
        await asyncio.sleep(fault.delay_seconds)
    if isinstance(fault.body, str):
        return Response(fault.body, fault.status, fault.headers, media_type="text/plain")
    return JSONResponse(fault.body, fault.status, fault.headers)
