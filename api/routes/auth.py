"""/auth: people sign in for a short-lived access token and a refresh token (OAuth2's password and refresh grants)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Form, HTTPException, Request, Response, status
from pydantic import BaseModel, Field

from api.auth import SESSION_COOKIE, Authenticator, Viewer, client_address
from api.credentials import REFRESH_TOKEN_PREFIX, new_refresh_token, new_stream_ticket, split_secret
from api.deps import SettingsDep
from api.rate_limit import RateLimiter
from core.principals import Principal

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds the access token is valid")
    refresh_token: str = Field(description="use once at POST /auth/token (grant_type=refresh_token) for the next pair")
    role: str


class WhoAmI(BaseModel):
    kind: str
    id: str
    name: str
    role: str
    channels: list[UUID] | None


def _refused(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, reason, headers={"WWW-Authenticate": "Bearer"})


@router.post(
    "/token",
    response_model=TokenResponse,
    responses={401: {"description": "wrong username or password, or a refresh token that is not live"}},
)
async def issue_token(
    request: Request,
    settings: SettingsDep,
    grant_type: Annotated[Literal["password", "refresh_token"], Form()] = "password",
    username: Annotated[str | None, Form(max_length=100)] = None,
    password: Annotated[str | None, Form(max_length=1024)] = None,
    refresh_token: Annotated[str | None, Form(max_length=200)] = None,
) -> TokenResponse:
    """Sign in (`grant_type=password` with `username` and `password`, form-encoded as OAuth2 says), or trade a
    refresh token for the next access/refresh pair (`grant_type=refresh_token`). Each refresh token works once; a
    used one presented again signs that session out."""
    authenticator: Authenticator = request.app.state.authenticator
    store = authenticator.store
    limiter: RateLimiter = request.app.state.rate_limiter
    allowance = await limiter.count(f"sign-in:{client_address(request)}", settings.sign_in_rate_per_minute)
    if allowance.exceeded:
        raise allowance.refusal(f"{client_address(request)} (sign-in)")
    if grant_type == "password":
        if not username or password is None:
            raise _refused("grant_type=password needs username and password")
        principal = await authenticator.sign_in(username, password)
        if principal is None:
            raise _refused("wrong username or password, or the user is disabled")
        family = uuid.uuid4()
    else:
        parsed = split_secret(refresh_token or "", REFRESH_TOKEN_PREFIX)
        used = await store.use_refresh_token(UUID(hex=parsed[0]), parsed[1]) if parsed and _hex(parsed[0]) else None
        if used is None:
            raise _refused("the refresh token is invalid, expired, revoked or was used already: sign in again")
        user_id, family = used
        user = await store.user_by_id(user_id)
        if user is None or user.disabled_at is not None:
            raise _refused("the user is disabled")
        principal = user.principal()
    return await _token_pair(authenticator, principal, family, timedelta(days=settings.refresh_token_days))


async def _token_pair(
    authenticator: Authenticator, principal: Principal, family: UUID, refresh_lifetime: timedelta
) -> TokenResponse:
    refresh = new_refresh_token()
    await authenticator.store.issue_refresh_token(
        UUID(hex=refresh.id), family, UUID(principal.id), refresh.sha256, refresh_lifetime
    )
    return TokenResponse(
        access_token=authenticator.tokens.issue(principal),
        expires_in=int(authenticator.tokens.lifetime.total_seconds()),
        refresh_token=refresh.value,
        role=principal.role.value,
    )


def _hex(value: str) -> bool:
    try:
        UUID(hex=value)
    except ValueError:
        return False
    return True


@router.get("/me", response_model=WhoAmI)
async def who_am_i(principal: Viewer) -> WhoAmI:
    """The principal this request's credential names, and its role."""
    return WhoAmI(
        kind=principal.kind.value,
        id=principal.id,
        name=principal.name,
        role=principal.role.value,
        channels=None if principal.channels is None else sorted(principal.channels),
    )


class StreamTicket(BaseModel):
    ticket: str = Field(description="open one WS /pipeline/stream/{video_id}?ticket=… with it, within `expires_in`")
    expires_in: int


STREAM_TICKET_SECONDS = 60


@router.post("/stream-ticket", response_model=StreamTicket)
async def stream_ticket(request: Request, principal: Viewer) -> StreamTicket:
    """A browser's WebSocket cannot send a token: this ticket, asked for with one, opens one status stream as the
    same principal, once, within a minute."""
    authenticator: Authenticator = request.app.state.authenticator
    ticket = new_stream_ticket()
    await authenticator.store.issue_stream_ticket(
        ticket.id, ticket.sha256, principal.to_json(), timedelta(seconds=STREAM_TICKET_SECONDS)
    )
    return StreamTicket(ticket=ticket.value, expires_in=STREAM_TICKET_SECONDS)


class Session(BaseModel):
    who: WhoAmI
    expires_in: int = Field(description="seconds the session cookie is valid; sign in again after it")


@router.post("/session", response_model=Session)
async def open_session(request: Request, response: Response, principal: Viewer) -> Session:
    """A browser session for the principal this request's credential names: an HttpOnly, same-site cookie holding a
    short-lived access token, which GET requests and the codec endpoint read (the Temporal UI decodes payloads
    through it), never a request that changes something."""
    authenticator: Authenticator = request.app.state.authenticator
    lifetime = int(authenticator.tokens.lifetime.total_seconds())
    response.set_cookie(
        SESSION_COOKIE,
        authenticator.tokens.issue(principal),
        max_age=lifetime,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return Session(who=await who_am_i(principal), expires_in=lifetime)


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT)
async def close_session(response: Response) -> None:
    """Sign the browser out (the cookie is removed)."""
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict")
