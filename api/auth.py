"""Optional API key: when YTEMPIRE_API_KEY is set, every /pipeline request must send it in the X-API-Key header."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import HTTPException, Security, WebSocket, WebSocketException, status
from fastapi.security import APIKeyHeader
from pydantic import SecretStr

from api.deps import SettingsDep

API_KEY_HEADER = "X-API-Key"

api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,  # no key configured means an open API: the dependency decides, not the scheme
    description="The value of YTEMPIRE_API_KEY; required on /pipeline when the server sets one.",
)


def _refusal(expected: SecretStr | None, presented: str | None) -> str | None:
    """Why the request is refused, or None when it may pass."""
    if expected is None:
        return None
    if not presented:
        return f"missing {API_KEY_HEADER} header: this API requires its key (YTEMPIRE_API_KEY on the server)"
    # Constant time: the comparison must not tell an attacker how many leading characters were right.
    if not hmac.compare_digest(presented.encode(), expected.get_secret_value().encode()):
        return f"invalid API key in the {API_KEY_HEADER} header"
    return None


async def require_api_key(settings: SettingsDep, presented: Annotated[str | None, Security(api_key_header)]) -> None:
    """HTTP routes: 401 unless the configured key (if any) was sent."""
    if reason := _refusal(settings.api_key, presented):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, reason, headers={"WWW-Authenticate": API_KEY_HEADER})


async def require_api_key_ws(websocket: WebSocket) -> None:
    """WebSocket routes: the handshake is refused (policy violation) unless the configured key (if any) was sent."""
    settings = websocket.app.state.settings
    if reason := _refusal(settings.api_key, websocket.headers.get(API_KEY_HEADER)):
        raise WebSocketException(status.WS_1008_POLICY_VIOLATION, reason)
