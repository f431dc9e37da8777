"""The PostgreSQL pool and the base of every table module: each holds the pool it queries."""

from __future__ import annotations

import asyncpg

from core.database_login import DatabaseLogin


async def create_pool(login: DatabaseLogin, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(login.dsn, password=login.password, min_size=min_size, max_size=max_size)
    assert pool is not None
    return pool


class Table:
    """One table's queries. Every write is idempotent, so a retried activity can repeat it safely."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool
