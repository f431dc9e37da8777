"""Applies sql/NNN_*.sql once each, in order, under an advisory lock (API and workers may start together)."""

from __future__ import annotations

import logging
from pathlib import Path

import asyncpg

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
_LOCK_KEY = 7_233_001  # any constant shared by every process of this app

log = logging.getLogger(__name__)


async def apply_migrations(pool: asyncpg.Pool, sql_dir: Path = SQL_DIR) -> list[str]:
    """Apply pending migrations; returns the names applied now (empty when up to date)."""
    applied: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
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
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied
