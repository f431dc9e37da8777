"""Applies sql/NNN_*.sql once each, in order, under an advisory lock (API and workers may start together), as the
role that owns the tables; then grants the app's role what it needs (`ledger/privileges.py`)."""

from __future__ import annotations

import logging
from pathlib import Path

import asyncpg

from core.database_login import DatabaseLogin
from ledger.privileges import grant_app_role, granted
from ledger.tables import create_pool

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
_LOCK_KEY = 7_233_001  # any constant shared by every process of this app

log = logging.getLogger(__name__)


async def migrate(owner: DatabaseLogin, app: asyncpg.Pool, sql_dir: Path = SQL_DIR) -> list[str]:
    """Apply pending migrations as `owner` and grant the role of the app's pool `app`; the names applied now."""
    app_role = await app.fetchval("SELECT current_user")
    pool = await create_pool(owner, max_size=1)
    try:
        return await apply_migrations(pool, sql_dir, app_role=app_role)
    finally:
        await pool.close()


async def apply_migrations(pool: asyncpg.Pool, sql_dir: Path = SQL_DIR, *, app_role: str | None = None) -> list[str]:
    """Apply pending migrations, then grant `app_role` (when another role) what it needs; returns the names applied
    now (empty when up to date). Up to date, it changes nothing, so the app's role itself may call it."""
    applied: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
                await conn.execute(
                    "CREATE TABLE schema_migrations ("
                    " name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW())"
                )
            done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
            for path in sorted(sql_dir.glob("[0-9][0-9][0-9]_*.sql")):
                if path.name in done:
                    continue
                async with conn.transaction():
                    await conn.execute(path.read_text())
                    await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", path.name)
                log.info("applied migration %s", path.name)
                applied.append(path.name)
            if app_role is not None and app_role != await conn.fetchval("SELECT current_user"):
                if applied or not await granted(conn, app_role):
                    await grant_app_role(conn, app_role)
                    log.info("granted the role %s what the app needs", app_role)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied
