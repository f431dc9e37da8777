"""`api_users`, `api_keys`, `refresh_tokens`: who may call the API. Secrets arrive here already hashed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from core.principals import ApiKeyRow, Role, UserRow
from ledger.tables import Table

_KEY_COLUMNS = (
    "id, name, secret_sha256, role, channels, created_at, last_used_at, expires_at, revoked_at, rate_per_minute, "
    "daily_spend_limit_usd"
)
_USER_COLUMNS = "id, username, password_hash, role, channels, created_at, disabled_at"
# last_used_at is written at most this often per key: a write on every request would cost more than the request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class UsernameTaken(Exception):
    pass


def _channels(value: Iterable[UUID] | None) -> list[UUID] | None:
    return None if value is None else sorted(set(value))


def _user(row: asyncpg.Record) -> UserRow:
    return UserRow(
        id=row["id"],
        username=row["username"],
        password_hash=row["password_hash"],
        role=Role(row["role"]),
        channels=None if row["channels"] is None else frozenset(row["channels"]),
        created_at=row["created_at"],
        disabled_at=row["disabled_at"],
    )


def _key(row: asyncpg.Record) -> ApiKeyRow:
    return ApiKeyRow(
        id=row["id"],
        name=row["name"],
        secret_sha256=bytes(row["secret_sha256"]),
        role=Role(row["role"]),
        channels=None if row["channels"] is None else frozenset(row["channels"]),
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        rate_per_minute=row["rate_per_minute"],
        daily_spend_limit_usd=None if row["daily_spend_limit_usd"] is None else float(row["daily_spend_limit_usd"]),
    )


class PrincipalStore(Table):
    # --- users -------------------------------------------------------------------------------------------------------
    async def create_user(
        self, username: str, password_hash: str, role: Role, channels: Iterable[UUID] | None = None
    ) -> UserRow:
        try:
            row = await self._pool.fetchrow(
                f"""INSERT INTO api_users (id, username, password_hash, role, channels)
                    VALUES ($1, $2, $3, $4, $5) RETURNING {_USER_COLUMNS}""",
                uuid.uuid4(),
                username,
                password_hash,
                role.value,
                _channels(channels),
            )
        except asyncpg.UniqueViolationError as exc:
            raise UsernameTaken(username) from exc
        return _user(row)

    async def user_by_name(self, username: str) -> UserRow | None:
        row = await self._pool.fetchrow(f"SELECT {_USER_COLUMNS} FROM api_users WHERE username = $1", username)
        return None if row is None else _user(row)

    async def user_by_id(self, user_id: UUID) -> UserRow | None:
        row = await self._pool.fetchrow(f"SELECT {_USER_COLUMNS} FROM api_users WHERE id = $1", user_id)
        return None if row is None else _user(row)

    async def list_users(self) -> list[UserRow]:
        return [_user(r) for r in await self._pool.fetch(f"SELECT {_USER_COLUMNS} FROM api_users ORDER BY username")]

    async def set_password(self, username: str, password_hash: str) -> bool:
        """A new password signs the user out everywhere: every refresh token of theirs is revoked."""
        async with self._pool.acquire() as conn, conn.transaction():
            user_id = await conn.fetchval(
                "UPDATE api_users SET password_hash = $2 WHERE username = $1 RETURNING id", username, password_hash
            )
            if user_id is not None:
                await self._revoke_user_tokens(conn, user_id)
        return user_id is not None

    async def disable_user(self, username: str) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            user_id = await conn.fetchval(
                "UPDATE api_users SET disabled_at = COALESCE(disabled_at, NOW()) WHERE username = $1 RETURNING id",
                username,
            )
            if user_id is not None:
                await self._revoke_user_tokens(conn, user_id)
        return user_id is not None

    @staticmethod
    async def _revoke_user_tokens(conn: Any, user_id: UUID) -> None:
        await conn.execute(
            "UPDATE refresh_tokens SET revoked_at = NOW() WHERE user_id = $1 AND revoked_at IS NULL", user_id
        )

    # --- API keys ----------------------------------------------------------------------------------------------------
    async def create_key(
        self,
        key_id: str,
        name: str,
        secret_sha256: bytes,
        role: Role,
        channels: Iterable[UUID] | None = None,
        expires_at: datetime | None = None,
        rate_per_minute: int | None = None,
        daily_spend_limit_usd: float | None = None,
    ) -> ApiKeyRow:
        row = await self._pool.fetchrow(
            f"""INSERT INTO api_keys
                    (id, name, secret_sha256, role, channels, expires_at, rate_per_minute, daily_spend_limit_usd)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_KEY_COLUMNS}""",
            key_id,
            name,
            secret_sha256,
            role.value,
            _channels(channels),
            expires_at,
            rate_per_minute,
            daily_spend_limit_usd,
        )
        return _key(row)

    async def rotate_key(self, name: str, key_id: str, secret_sha256: bytes, grace: timedelta) -> ApiKeyRow | None:
        """A new key for `name` with the newest live one's role and channels; that one stays live for `grace`, any
        older one ends now (two live at most). None when `name` has no live key."""
        async with self._pool.acquire() as conn, conn.transaction():
            live = await conn.fetch(
                f"""SELECT {_KEY_COLUMNS} FROM api_keys
                    WHERE name = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > NOW())
                    ORDER BY created_at DESC FOR UPDATE""",
                name,
            )
            if not live:
                return None
            newest = _key(live[0])
            await conn.execute(
                """UPDATE api_keys SET expires_at = LEAST(COALESCE(expires_at, 'infinity'), NOW() + $2::interval)
                   WHERE id = $1""",
                newest.id,
                grace,
            )
            for older in live[1:]:
                await conn.execute("UPDATE api_keys SET revoked_at = NOW() WHERE id = $1", older["id"])
            row = await conn.fetchrow(
                f"""INSERT INTO api_keys
                        (id, name, secret_sha256, role, channels, rate_per_minute, daily_spend_limit_usd)
                    VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_KEY_COLUMNS}""",
                key_id,
                name,
                secret_sha256,
                newest.role.value,
                _channels(newest.channels),
                newest.rate_per_minute,
                newest.daily_spend_limit_usd,
            )
        return _key(row)

    async def key_by_id(self, key_id: str) -> ApiKeyRow | None:
        row = await self._pool.fetchrow(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE id = $1", key_id)
        return None if row is None else _key(row)

    async def list_keys(self, *, include_ended: bool = False) -> list[ApiKeyRow]:
        where = "" if include_ended else "WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > NOW())"
        rows = await self._pool.fetch(f"SELECT {_KEY_COLUMNS} FROM api_keys {where} ORDER BY name, created_at")
        return [_key(r) for r in rows]

    async def revoke_key(self, key_id_or_name: str) -> int:
        """Revoke a key by id, or every live key of a name; how many were live."""
        status = await self._pool.execute(
            """UPDATE api_keys SET revoked_at = NOW()
               WHERE (id = $1 OR name = $1) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > NOW())""",
            key_id_or_name,
        )
        return int(status.split()[-1])

    async def has_live_admin_key(self) -> bool:
        return bool(
            await self._pool.fetchval(
                """SELECT EXISTS (SELECT 1 FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL
                                  AND (expires_at IS NULL OR expires_at > NOW()))"""
            )
        )

    async def key_used(self, key_id: str) -> None:
        await self._pool.execute(
            """UPDATE api_keys SET last_used_at = NOW()
               WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < NOW() - $2::interval)""",
            key_id,
            LAST_USED_RESOLUTION,
        )

    # --- refresh tokens ----------------------------------------------------------------------------------------------
    async def issue_refresh_token(
        self, token_id: UUID, family: UUID, user_id: UUID, secret_sha256: bytes, lifetime: timedelta
    ) -> None:
        await self._pool.execute(
            """INSERT INTO refresh_tokens (id, family, user_id, secret_sha256, expires_at)
               VALUES ($1, $2, $3, $4, NOW() + $5::interval)""",
            token_id,
            family,
            user_id,
            secret_sha256,
            lifetime,
        )

    async def use_refresh_token(self, token_id: UUID, secret_sha256: bytes) -> tuple[UUID, UUID] | None:
        """Spend a refresh token once: (user id, family) when it was live and its secret matches. A token used before
        is a replay: its whole family is revoked, and None."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                """SELECT family, user_id, secret_sha256, used_at, revoked_at, expires_at > NOW() AS fresh
                   FROM refresh_tokens WHERE id = $1 FOR UPDATE""",
                token_id,
            )
            if row is None or bytes(row["secret_sha256"]) != secret_sha256:
                return None
            if row["used_at"] is not None:
                await conn.execute(
                    "UPDATE refresh_tokens SET revoked_at = NOW() WHERE family = $1 AND revoked_at IS NULL",
                    row["family"],
                )
                return None
            if row["revoked_at"] is not None or not row["fresh"]:
                return None
            await conn.execute("UPDATE refresh_tokens SET used_at = NOW() WHERE id = $1", token_id)
        return row["user_id"], row["family"]

    # --- stream tickets ----------------------------------------------------------------------------------------------
    async def issue_stream_ticket(
        self, ticket_id: str, secret_sha256: bytes, principal: dict[str, Any], lifetime: timedelta
    ) -> None:
        await self._pool.execute(
            """INSERT INTO stream_tickets (id, secret_sha256, principal, expires_at)
               VALUES ($1, $2, $3::jsonb, NOW() + $4::interval)""",
            ticket_id,
            secret_sha256,
            json.dumps(principal),
            lifetime,
        )
        await self._pool.execute("DELETE FROM stream_tickets WHERE expires_at < NOW() - INTERVAL '1 hour'")

    async def use_stream_ticket(self, ticket_id: str, secret_sha256: bytes) -> dict[str, Any] | None:
        """The principal a live, unused ticket was issued to; the ticket is spent."""
        row = await self._pool.fetchrow(
            """UPDATE stream_tickets SET used_at = NOW()
               WHERE id = $1 AND secret_sha256 = $2 AND used_at IS NULL AND expires_at > NOW()
               RETURNING principal""",
            ticket_id,
            secret_sha256,
        )
        return None if row is None else dict(json.loads(row["principal"]))
