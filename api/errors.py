"""Domain errors as HTTP answers, in one table: the services raise them, FastAPI turns them into responses."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

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
    log.warning("ledger unavailable: %s", type(err).__name__)
    return JSONResponse(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(LEDGER_RETRY_AFTER_SECONDS)},
        content={"detail": f"the ledger (PostgreSQL) is unavailable: retry in {LEDGER_RETRY_AFTER_SECONDS} s"},
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
