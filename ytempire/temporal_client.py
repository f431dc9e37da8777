"""One place that connects to Temporal (address, namespace, data converter)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.runtime import Runtime

from ytempire.settings import Settings


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace, runtime=runtime)
