"""Every call that changes something (POST, PUT, PATCH, DELETE; so every start, signal, update and cancel the API
sends Temporal) leaves an audit entry once it is answered: who (the principal, or `anonymous`), what (the route),
which video, from where, and the status answered, refusals included. A route adds details through `audit_detail`."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.principals import Principal
from core.text import masked

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
NOT_AUDITED = {"/auth/token"}  # sign-in attempts are counted by the rate limit; passwords never go near a log

log = logging.getLogger(__name__)


def audit_detail(connection: HTTPConnection) -> dict[str, Any]:
    """The details this request's audit entry will carry; a route adds to it."""
    detail: dict[str, Any] = connection.scope.setdefault("state", {}).setdefault("audit_detail", {})
    return detail


class AuditTrail:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING or scope["path"] in NOT_AUDITED:
            await self.app(scope, receive, send)
            return
        answered = 500  # what a crash before the answer amounts to

        async def noting_status(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            await self._record(scope, answered)

    async def _record(self, scope: Scope, outcome: int) -> None:
        state = scope.get("state", {})
        principal = state.get("principal")
        route = scope.get("route")
        action = f"{scope['method']} {getattr(route, 'path', None) or scope['path']}"
        target = (scope.get("path_params") or {}).get("video_id")
        client = scope["client"][0] if scope.get("client") else "unknown"
        actor = principal.label if isinstance(principal, Principal) else "anonymous"
        app = scope.get("app")
        ledger = getattr(getattr(app, "state", None), "ledger", None)
        if ledger is None:
            return  # the app is not serving yet (its lifespan has not run)
        try:
            await ledger.record_audit(
                actor, action, str(target) if target else None, client, outcome, state.get("audit_detail", {})
            )
        except Exception:  # the call has happened: its entry must not turn its answer into an error
            log.exception("audit entry lost: %s %s by %s answered %s", action, target or "", masked(actor), outcome)
