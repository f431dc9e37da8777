"""Who is calling: a person signed in with a token, or a machine with an API key, and what its role lets it do."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


class Role(enum.StrEnum):
    """Each role may do what the roles before it may: a viewer reads, an operator spends, an admin manages."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def includes(self, required: Role) -> bool:
        return self.rank >= required.rank


class PrincipalKind(enum.StrEnum):
    USER = "user"
    API_KEY = "api_key"


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    id: str  # a user's id, or an API key's public id
    name: str  # a user's name, or a key's name (a rotated key keeps its name)
    role: Role
    channels: frozenset[UUID] | None = None  # None: every channel
    rate_per_minute: int | None = None  # None: the deployment's default
    daily_spend_limit_usd: float | None = None  # None: the deployment's default

    def may(self, required: Role) -> bool:
        return self.role.includes(required)

    def sees_channel(self, channel_id: UUID) -> bool:
        return self.channels is None or channel_id in self.channels

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "channels": None if self.channels is None else sorted(str(c) for c in self.channels),
            "rate_per_minute": self.rate_per_minute,
            "daily_spend_limit_usd": self.daily_spend_limit_usd,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Principal:
        channels = data.get("channels")
        return cls(
            PrincipalKind(data["kind"]),
            str(data["id"]),
            str(data["name"]),
            Role(data["role"]),
            None if channels is None else frozenset(UUID(c) for c in channels),
            data.get("rate_per_minute"),
            data.get("daily_spend_limit_usd"),
        )

    @property
    def label(self) -> str:
        """What records name as the actor, e.g. `user:alice` or `api_key:n8n`."""
        return f"{self.kind.value}:{self.name}"


@dataclass(frozen=True)
class UserRow:
    id: UUID
    username: str
    password_hash: str
    role: Role
    channels: frozenset[UUID] | None
    created_at: datetime
    disabled_at: datetime | None

    def principal(self) -> Principal:
        return Principal(PrincipalKind.USER, str(self.id), self.username, self.role, self.channels)


@dataclass(frozen=True)
class ApiKeyRow:
    id: str
    name: str
    secret_sha256: bytes
    role: Role
    channels: frozenset[UUID] | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    rate_per_minute: int | None = None
    daily_spend_limit_usd: float | None = None

    def live_at(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def principal(self) -> Principal:
        return Principal(
            PrincipalKind.API_KEY,
            self.id,
            self.name,
            self.role,
            self.channels,
            self.rate_per_minute,
            self.daily_spend_limit_usd,
        )
