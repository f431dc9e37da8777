"""The HTTP API: wires the routers; the lifespan owns the Temporal client and the PostgreSQL pool."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from api import errors
from api.audit import AuditTrail
from api.auth import Authenticator, require, require_ws
from api.body_limit import BodyLimit
from api.console import routes as console
from api.credentials import AccessTokens, Passwords
from api.local_admin import ensure_local_admin_key
from api.mcp import endpoint as mcp
from api.metrics import ApiMetrics
from api.path_cors import PathCors, origins_of
from api.rate_limit import RateLimiter
from api.routes import (
    analytics,
    audit,
    auth,
    codec,
    events,
    health,
    metrics,
    pipeline,
    pipeline_metrics,
    sign_in,
    stream,
)
from api.stream import StatusHub
from core.principals import Role
from core.secret_files import secret_file
from core.settings import Settings
from ledger import Ledger, create_pool
from ledger.event_sink import EventSink
from ledger.migrations import migrate
from workflows.client import connect


def create_app(settings: Settings | None = None) -> FastAPI:
    config = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = config
        app.state.metrics = ApiMetrics(
            {
                "youtube": config.youtube_daily_quota_units,
                "youtube.videos.insert": config.youtube_daily_upload_limit,
                "youtube.analytics": config.youtube_analytics_daily_queries,
            }
        )
        pool = await create_pool(app.state.settings.app_database)
        await migrate(app.state.settings.owner_database, pool)
        app.state.pool = pool
        app.state.ledger = Ledger(pool, app.state.settings.key_ring)
        app.state.authenticator = _authenticator(app.state.settings, app.state.ledger)
        app.state.rate_limiter = RateLimiter(app.state.ledger)
        app.state.open_streams = Counter[str]()  # status streams open per principal, in this process
        if app.state.settings.local_admin_key:
            await ensure_local_admin_key(app.state.ledger, app.state.settings.admin_key_path)
        app.state.temporal = await connect(app.state.settings)
        app.state.stream = StatusHub(
            app.state.settings, app.state.ledger, app.state.temporal, interval=app.state.settings.stream_poll_seconds
        )
        try:
            async with (
                EventSink(app.state.ledger) as app.state.event_sink,
                mcp.serving(app, _allowed_hosts(config)),
            ):
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
    app.add_middleware(AuditTrail)
    app.add_middleware(BodyLimit)
    if config.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=config.api_cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-API-Key"],
            expose_headers=["Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"],
        )
    app.add_middleware(
        PathCors,
        prefix="/codec/",
        origins=origins_of([config.temporal_ui_url, *config.codec_cors_origins]),
        headers=["Authorization", "Content-Type", "X-Namespace", "X-API-Key"],
    )
    # Outermost: a request for another host name (DNS rebinding) never reaches a route.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=_allowed_hosts(config))
    # Every route names the least role it needs (api/auth.py); only /healthz and sign-in are open.
    app.include_router(pipeline.router)
    app.include_router(pipeline_metrics.router, dependencies=[Depends(require(Role.VIEWER))])
    app.include_router(stream.router, dependencies=[Depends(require_ws(Role.VIEWER))])
    app.include_router(auth.router)
    app.include_router(audit.router)
    app.include_router(events.router)
    app.include_router(codec.router)
    app.include_router(sign_in.router)
    app.include_router(console.router)
    app.include_router(health.router)
    app.include_router(mcp.router)
    app.include_router(metrics.router, dependencies=[Depends(require(Role.VIEWER))])
    app.include_router(analytics.router, dependencies=[Depends(require(Role.VIEWER))])
    return app


def _allowed_hosts(settings: Settings) -> list[str]:
    hosts = list(settings.api_allowed_hosts)
    if settings.api_host not in ("0.0.0.0", "::", *hosts):  # noqa: S104 - compared, not bound
        hosts.append(settings.api_host)
    return hosts


def _authenticator(settings: Settings, ledger: Ledger) -> Authenticator:
    signing_key = (
        settings.jwt_secret.get_secret_value().encode()
        if settings.jwt_secret is not None
        else secret_file(settings.secrets_dir / "jwt.key")
    )
    tokens = AccessTokens(signing_key, timedelta(minutes=settings.access_token_minutes))
    return Authenticator(ledger, tokens, Passwords(), settings.api_key)


app = create_app()
