"""The HTTP API: wires the routers; the lifespan owns the Temporal client and the PostgreSQL pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.metrics import ApiMetrics
from api.routes import health, metrics, pipeline
from ytempire.ledger import Ledger, create_pool
from ytempire.migrations import apply_migrations
from ytempire.settings import Settings
from ytempire.temporal_client import connect


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings or Settings()
        app.state.metrics = ApiMetrics()
        pool = await create_pool(app.state.settings.database_url)
        await apply_migrations(pool)
        app.state.ledger = Ledger(pool)
        app.state.temporal = await connect(app.state.settings)
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(
        title="YTEMPIRE Pipeline API",
        version="0.1.0",
        description="Queue videos, follow their progress, fetch the results. Each video is a Temporal workflow.",
        lifespan=lifespan,
    )
    app.include_router(pipeline.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    return app


app = create_app()
