"""The HTTP API: wires the routers; the lifespan owns the Temporal client and the PostgreSQL pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from api import errors
from api.auth import require_api_key, require_api_key_ws
from api.body_limit import BodyLimit
from api.metrics import ApiMetrics
from api.routes import health, metrics, pipeline, pipeline_metrics, stream
from api.stream import StatusHub
from core.settings import Settings
from ledger import Ledger, create_pool
from ledger.migrations import apply_migrations
from workflows.client import connect


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings or Settings()
        app.state.metrics = ApiMetrics()
        pool = await create_pool(app.state.settings.database_url)
        await apply_migrations(pool)
        app.state.pool = pool
        app.state.ledger = Ledger(pool)
        app.state.temporal = await connect(app.state.settings)
        app.state.stream = StatusHub(
            app.state.settings, app.state.ledger, app.state.temporal, interval=app.state.settings.stream_poll_seconds
        )
        try:
            yield
        finally:
            await app.state.stream.close()
            await pool.close()

    app = FastAPI(
        title="YTEMPIRE Pipeline API",
        version="0.1.0",
        description="Queue videos, follow their progress, fetch the results. Each video is a Temporal workflow.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.add_middleware(BodyLimit)
    # /pipeline needs YTEMPIRE_API_KEY when one is set; /healthz and the Prometheus /metrics stay open.
    app.include_router(pipeline.router, dependencies=[Depends(require_api_key)])
    app.include_router(pipeline_metrics.router, dependencies=[Depends(require_api_key)])
    app.include_router(stream.router, dependencies=[Depends(require_api_key_ws)])
    app.include_router(health.router)
    app.include_router(metrics.router)
    return app


app = create_app()
