"""The PostgreSQL pool and the base of every table module: each holds the pool it queries."""

from __future__ import annotations

import asyncpg

from core.database_login import DatabaseLogin
from core.encryption import KeyRing


async def create_pool(login: DatabaseLogin, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(login.dsn, password=login.password, min_size=min_size, max_size=max_size)
    assert pool is not None
    return pool


class Table:
    """One table's queries. Every write is idempotent, so a retried activity can repeat it safely. Secrets are
    stored sealed under `key_ring` (core.encryption)."""

    def __init__(self, pool: asyncpg.Pool, key_ring: KeyRing) -> None:
        self._pool = pool
        self.key_ring = key_ring

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool
