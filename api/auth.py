"""Who is calling, and may they: every route but /healthz and sign-in names a principal and the least role it needs.

Credentials, in any of these places:
- `Authorization: Bearer <access token>`: a person, signed in at `POST /auth/token` (short-lived JWT);
- `Authorization: Bearer <API key>` or `X-API-Key: <API key>`: a machine (n8n, scripts), a key from
  `python -m api.accounts keys create`;
- `YTEMPIRE_API_KEY`, when the server sets one, is accepted as an admin key, so scripts written for it keep working;
- the `ytempire_session` cookie (`POST /auth/session`), a browser's: read by GET requests and by the routes that
  say so (the codec's), never by one that changes anything, so another page cannot forge a change with it.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response, Security, WebSocket, WebSocketException, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
from starlette.requests import HTTPConnection

from api.credentials import (
    API_KEY_PREFIX,
    STREAM_TICKET_PREFIX,
    AccessTokens,
    Passwords,
    same_digest,
    split_secret,
)
from api.rate_limit import Allowance, RateLimiter
from core.principals import Principal, PrincipalKind, Role
from ledger.principals import PrincipalStore

API_KEY_HEADER = "X-API-Key"
ENV_KEY_NAME = "YTEMPIRE_API_KEY"
SESSION_COOKIE = "ytempire_session"
_READS = frozenset({"GET", "HEAD"})

api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,  # either scheme will do: the dependency decides
    description="An API key (`ytk_…`, from `python -m api.accounts keys create`), or the server's YTEMPIRE_API_KEY.",
)
bearer = HTTPBearer(
    auto_error=False,
    description="An access token from `POST /auth/token`, or an API key.",
)


class Authenticator:
    """Turns a presented credential into a principal; one per API process (on app.state)."""

    def __init__(
        self, store: PrincipalStore, tokens: AccessTokens, passwords: Passwords, env_key: SecretStr | None
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.passwords = passwords
        self._env_key = env_key

    async def principal(self, credential: str) -> Principal | None:
        if credential.startswith(f"{API_KEY_PREFIX}_"):
            return await self._api_key(credential)
        if self._env_key is not None and hmac.compare_digest(
            credential.encode(), self._env_key.get_secret_value().encode()
        ):
            return Principal(PrincipalKind.API_KEY, "env", ENV_KEY_NAME, Role.ADMIN)
        return self.tokens.verify(credential)

    async def _api_key(self, credential: str) -> Principal | None:
        parsed = split_secret(credential, API_KEY_PREFIX)
        if parsed is None:
            return None
        key_id, secret_sha256 = parsed
        row = await self.store.key_by_id(key_id)
        if row is None or not same_digest(row.secret_sha256, secret_sha256) or not row.live_at(datetime.now(UTC)):
            return None
        await self.store.key_used(key_id)
        return row.principal()

    async def ticket_holder(self, ticket: str) -> Principal | None:
        """Whom a stream ticket was issued to; the ticket is spent."""
        parsed = split_secret(ticket, STREAM_TICKET_PREFIX)
        if parsed is None:
            return None
        issued_to = await self.store.use_stream_ticket(*parsed)
        return None if issued_to is None else Principal.from_json(issued_to)

    async def sign_in(self, username: str, password: str) -> Principal | None:
        user = await self.store.user_by_name(username)
        ok = self.passwords.verify(user.password_hash if user else None, password)
        if user is None or not ok or user.disabled_at is not None:
            return None
        return user.principal()


def _credential(connection: HTTPConnection, session_cookie: bool = False) -> str | None:
    authorization = connection.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if connection.scope["type"] == "websocket" and (ticket := connection.query_params.get("ticket")):
        return ticket  # a browser's WebSocket cannot send headers: a ticket from POST /auth/stream-ticket
    if key := connection.headers.get(API_KEY_HEADER):
        return key
    if connection.scope["type"] == "http" and (session_cookie or connection.scope["method"] in _READS):
        return connection.cookies.get(SESSION_COOKIE) or None
    return None


async def _authenticate(connection: HTTPConnection, session_cookie: bool = False) -> Principal | str:
    """The principal, or why there is none (found once per request, however many role checks ask)."""
    if isinstance(known := getattr(connection.state, "principal", None), Principal):
        return known
    credential = _credential(connection, session_cookie)
    if credential is None:
        return f"sign in: send an access token (Authorization: Bearer …) or an API key ({API_KEY_HEADER})"
    authenticator: Authenticator = connection.app.state.authenticator
    if connection.scope["type"] == "websocket" and credential.startswith(f"{STREAM_TICKET_PREFIX}_"):
        principal = await authenticator.ticket_holder(credential)
    else:
        principal = await authenticator.principal(credential)
    if principal is None:
        return "the credential is invalid, expired or revoked"
    connection.state.principal = principal
    return principal


def client_address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else "unknown"


@dataclass(frozen=True)
class RateBucket:
    """Requests counted apart from the principal's others, with `times` its limit: the Temporal UI decodes each
    event's payloads with a call of its own, so one page can cost a hundred calls."""

    name: str
    times: int


async def _limited(connection: HTTPConnection, found: Principal | str, bucket: RateBucket | None = None) -> Allowance:
    """Count this request against its principal's limit, or an invalid credential against its client address."""
    limiter: RateLimiter = connection.app.state.rate_limiter
    settings = connection.app.state.settings
    if isinstance(found, str):
        allowance = await limiter.count(f"refused:{client_address(connection)}", settings.sign_in_rate_per_minute)
        if allowance.exceeded:
            raise allowance.refusal(f"{client_address(connection)} (invalid credentials)")
        return allowance
    limit = found.rate_per_minute or settings.rate_limit_per_minute
    key = f"principal:{found.label}"
    if bucket is not None:
        key, limit = f"{key}:{bucket.name}", limit * bucket.times
    allowance = await limiter.count(key, limit)
    if allowance.exceeded:
        raise allowance.refusal(found.label)
    return allowance


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, reason, headers={"WWW-Authenticate": "Bearer"})


def _forbidden(principal: Principal, required: Role) -> str:
    return f"{principal.label} has the role {principal.role.value}; this needs {required.value}"


@functools.cache  # one callable per role: FastAPI runs a dependency once per request, however often it is named
def require(
    role: Role, *, session_cookie: bool = False, bucket: RateBucket | None = None
) -> Callable[..., Awaitable[Principal]]:
    """The dependency of an HTTP route that needs at least `role` (401 without a valid credential, 403 below it).
    `session_cookie`: a POST route that changes nothing may be called with the browser's session cookie; `bucket`:
    its calls count apart (RateBucket)."""

    async def dependency(
        request: Request,
        response: Response,
        _key: Annotated[str | None, Security(api_key_header)],
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    ) -> Principal:
        counted = getattr(request.state, "principal", None) is not None  # by an earlier role check of this request
        found = await _authenticate(request, session_cookie)
        if not counted and _credential(request, session_cookie) is not None:  # none at all: a 401 that costs nothing
            response.headers.update((await _limited(request, found, bucket)).headers())
        if isinstance(found, str):
            raise _unauthorized(found)
        if not found.may(role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, _forbidden(found, role))
        return found

    return dependency


@functools.cache
def require_ws(role: Role) -> Callable[..., Awaitable[Principal]]:
    """The dependency of a WebSocket route: the handshake is refused (policy violation) without `role`."""

    async def dependency(websocket: WebSocket) -> Principal:
        found = await _authenticate(websocket)
        if _credential(websocket) is not None:
            try:
                await _limited(websocket, found)
            except HTTPException as limited:
                raise WebSocketException(status.WS_1008_POLICY_VIOLATION, str(limited.detail)) from None
        if isinstance(found, str):
            raise WebSocketException(status.WS_1008_POLICY_VIOLATION, found)
        if not found.may(role):
            raise WebSocketException(status.WS_1008_POLICY_VIOLATION, _forbidden(found, role))
        return found

    return dependency


ViewerWs = Annotated[Principal, Depends(require_ws(Role.VIEWER))]
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
