"""The secrets principals present, made and checked: API keys, passwords (argon2) and signed access tokens (JWT).

An API key reads `ytk_<id>_<secret>`; a refresh token `ytr_<id>_<secret>`. The id finds the row, the SHA-256 of the
secret proves it (256 random bits need no slow hash). Passwords are people's, so they get argon2.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.principals import Principal, PrincipalKind, Role

API_KEY_PREFIX = "ytk"
REFRESH_TOKEN_PREFIX = "ytr"
STREAM_TICKET_PREFIX = "yts"
_JWT_ALGORITHM = "HS256"
_JWT_ISSUER = "ytempire"


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


@dataclass(frozen=True)
class NewSecret:
    """A freshly made key or token: `value` is shown once, only `id` and `sha256` are stored."""

    id: str
    value: str
    sha256: bytes


def new_api_key() -> NewSecret:
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewSecret(key_id, f"{API_KEY_PREFIX}_{key_id}_{secret}", digest(secret))


def new_refresh_token() -> NewSecret:
    token_id = uuid.uuid4().hex
    secret = secrets.token_urlsafe(32)
    return NewSecret(token_id, f"{REFRESH_TOKEN_PREFIX}_{token_id}_{secret}", digest(secret))


def new_stream_ticket() -> NewSecret:
    ticket_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(24)
    return NewSecret(ticket_id, f"{STREAM_TICKET_PREFIX}_{ticket_id}_{secret}", digest(secret))


def split_secret(value: str, prefix: str) -> tuple[str, bytes] | None:
    """(id, digest of the secret) of a presented key or token, or None when it does not have the shape."""
    parts = value.split("_", 2)
    if len(parts) != 3 or parts[0] != prefix or not parts[1] or not parts[2]:
        return None
    return parts[1], digest(parts[2])


def same_digest(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


class Passwords:
    """argon2id with the library's defaults (RFC 9106's second recommendation)."""

    MIN_LENGTH = 12

    def __init__(self) -> None:
        self._hasher = PasswordHasher()
        # Compared against when the user does not exist, so a missing user takes as long as a wrong password.
        self._decoy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        if len(password) < self.MIN_LENGTH:
            raise ValueError(f"a password needs at least {self.MIN_LENGTH} characters")
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._decoy, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False


class AccessTokens:
    """Short-lived signed access tokens for people: who, which role, which channels, until when."""

    def __init__(self, signing_key: bytes, lifetime: timedelta) -> None:
        self._key = signing_key
        self.lifetime = lifetime

    def issue(self, principal: Principal, now: datetime | None = None) -> str:
        issued = now or datetime.now(UTC)
        claims = {
            "iss": _JWT_ISSUER,
            "sub": principal.id,
            "name": principal.name,
            "role": principal.role.value,
            "channels": None if principal.channels is None else sorted(str(c) for c in principal.channels),
            "iat": issued,
            "exp": issued + self.lifetime,
        }
        return jwt.encode(claims, self._key, algorithm=_JWT_ALGORITHM)

    def verify(self, token: str) -> Principal | None:
        """The principal a valid, unexpired token names; None for anything else."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_JWT_ALGORITHM],
                issuer=_JWT_ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
            channels = claims.get("channels")
            return Principal(
                PrincipalKind.USER,
                str(claims["sub"]),
                str(claims["name"]),
                Role(claims["role"]),
                None if channels is None else frozenset(UUID(c) for c in channels),
            )
        except (jwt.InvalidTokenError, KeyError, ValueError, TypeError):
            return None
