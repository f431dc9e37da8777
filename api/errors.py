"""Domain errors as HTTP answers, in one table: the services raise them, FastAPI turns them into responses.

A failure that is not the caller's (PostgreSQL or Temporal away, a bug) answers with what to do and a type a script
can match (`error`), never the exception's own text: it quotes addresses, server paths and SQL. That goes to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from temporalio.service import RPCError, RPCStatusCode

from api.admission import queue_full_message
from api.schemas import QueueFullResponse
from core.errors import (
    ApprovalRefused,
    DailySpendLimitReached,
    InvalidVideoRequest,
    NotPermitted,
    QueueFull,
    RetryRefused,
    UnknownVideo,
    VideoFinished,
)
from core.settings import Settings
from core.text import storable_json

log = logging.getLogger(__name__)

STATUS_OF: dict[type[Exception], int] = {
    UnknownVideo: status.HTTP_404_NOT_FOUND,
    VideoFinished: status.HTTP_409_CONFLICT,
    RetryRefused: status.HTTP_409_CONFLICT,
    NotPermitted: status.HTTP_403_FORBIDDEN,
}


def _detail(code: int) -> Callable[[Request, Exception], JSONResponse]:
    def handler(_request: Request, err: Exception) -> JSONResponse:
        return JSONResponse(status_code=code, content={"detail": str(err)})

    return handler


def _unprocessable(loc: list[str], kind: str, message: str) -> JSONResponse:
    """A 422 in FastAPI's own shape (a list of {loc, msg, type}), the one the OpenAPI document gives every route."""
    detail = [{"loc": loc, "msg": message, "type": kind}]
    return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": detail})


def _invalid(_request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, InvalidVideoRequest)
    return _unprocessable(list(err.loc), err.kind, str(err))


def _approval_refused(_request: Request, err: Exception) -> JSONResponse:
    return _unprocessable(["body"], "value_error", str(err))


def _queue_full(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, QueueFull)
    settings: Settings = request.app.state.settings
    body = QueueFullResponse(
        message=queue_full_message(err, settings),
        depth=err.depth,
        capacity=err.capacity,
        retry_after_seconds=settings.queue_retry_after_seconds,
    )
    return JSONResponse(
        status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        headers={"Retry-After": str(settings.queue_retry_after_seconds)},
        content=body.model_dump(),
    )


def _daily_limit(_request: Request, err: Exception) -> JSONResponse:
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return JSONResponse(
        status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        headers={"Retry-After": str(max(1, int((midnight - now).total_seconds())))},
        content={"detail": str(err)},
    )


LEDGER_RETRY_AFTER_SECONDS = 5


def _ledger_unavailable(_request: Request, err: Exception) -> JSONResponse:
    """PostgreSQL away (an outage, a restart): every call needs it (a credential, a rate count), so the answer is
    a 503 to retry, never a 500 nor the driver's text."""
    log.warning("ledger unavailable: %s: %s", type(err).__name__, err)
    return JSONResponse(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(LEDGER_RETRY_AFTER_SECONDS)},
        content={
            "error": "ledger_unavailable",
            "detail": f"the ledger (PostgreSQL) is unavailable: retry in {LEDGER_RETRY_AFTER_SECONDS} s",
        },
    )


TEMPORAL_RETRY_AFTER_SECONDS = 5
# What a wait can cure; any other status (permission denied, an internal error) needs the operator.
TEMPORAL_TRANSIENT = frozenset(
    {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED}
)


def _temporal_failed(request: Request, err: Exception) -> JSONResponse:
    """A Temporal call the services did not turn into a domain error: 503 to retry when Temporal is away or busy,
    502 when it refused the call."""
    assert isinstance(err, RPCError)
    code = err.status.name
    if err.status in TEMPORAL_TRANSIENT:
        log.warning("%s %s: Temporal unavailable (%s): %s", request.method, request.url.path, code, err)
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(TEMPORAL_RETRY_AFTER_SECONDS)},
            content={
                "error": "temporal_unavailable",
                "detail": f"Temporal did not answer ({code}): retry in {TEMPORAL_RETRY_AFTER_SECONDS} s; if it "
                "lasts, the operator should check that Temporal is running (GET /healthz says which service is down)",
            },
        )
    log.error("%s %s: Temporal refused the call (%s)", request.method, request.url.path, code, exc_info=err)
    return JSONResponse(
        status_code=status.HTTP_502_BAD_GATEWAY,
        content={
            "error": "temporal_error",
            "detail": f"Temporal refused the call ({code}); the server logged why: tell its operator",
        },
    )


def _unexpected(request: Request, err: Exception) -> JSONResponse:
    """Any other exception (a bug): a 500 that names its type, the traceback in the log."""
    log.error("%s %s failed: %s", request.method, request.url.path, type(err).__name__, exc_info=err)
    return JSONResponse(
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
        content={
            "error": "internal_error",
            "detail": f"the server failed on this request ({type(err).__name__}) and logged why: retry; if it fails "
            "again, tell its operator the time of the request",
        },
    )


def _validation_failed(_request: Request, err: Exception) -> JSONResponse:
    """FastAPI's own 422, but it echoes the input it refused: text JSON cannot carry (a lone surrogate) is replaced,
    so the answer is a 422, never a 500 while encoding it."""
    assert isinstance(err, RequestValidationError)
    detail = storable_json(jsonable_encoder(err.errors()))
    return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": detail})


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_failed)
    for error, code in STATUS_OF.items():
        app.add_exception_handler(error, _detail(code))
    app.add_exception_handler(InvalidVideoRequest, _invalid)
    app.add_exception_handler(ApprovalRefused, _approval_refused)
    app.add_exception_handler(QueueFull, _queue_full)
    app.add_exception_handler(DailySpendLimitReached, _daily_limit)
    for unavailable in (ConnectionError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError):
        app.add_exception_handler(unavailable, _ledger_unavailable)
    app.add_exception_handler(RPCError, _temporal_failed)
    # Starlette answers it from its outermost middleware, then raises the exception again for the server to log.
    app.add_exception_handler(Exception, _unexpected)
