"""Circuit breakers for external services: stop calling a receiver that keeps failing, try again after a cool-down.

closed --(N consecutive failures)--> open --(cool-down elapsed, next call)--> half_open (one trial call)
half_open --(trial succeeds)--> closed;  half_open --(trial fails)--> open (a fresh cool-down).

A breaker lives in one worker process and is driven by its event loop (no threads): every state change
happens between awaits, so no lock is needed. Each worker process keeps its own breakers; `on_change` lets
the worker persist transitions for dashboards (`ledger.breakers`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from enum import StrEnum
from typing import ParamSpec, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge
from temporalio.exceptions import ApplicationError

from core.errors import ErrorType

P = ParamSpec("P")
T = TypeVar("T")


class BreakerState(StrEnum):
    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"


STATE_VALUES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}

OnChange = Callable[[str, str, str], None]
"""`on_change(service, old_state, new_state)`, called synchronously right after a transition."""


class CircuitOpenError(ApplicationError):
    """The service's breaker is open: the call was not made. Retryable; retry after `retry_in_seconds`.

    An `ApplicationError` of type "CircuitOpen" with `next_retry_delay` set, so an activity that lets it
    propagate has Temporal retry it once the cool-down is over rather than on the policy's own schedule.
    """

    error_type = ErrorType.CIRCUIT_OPEN

    def __init__(self, service: str, retry_in_seconds: float) -> None:
        retry_in = max(0.0, retry_in_seconds)
        super().__init__(
            f"circuit breaker for {service} is open after repeated failures; not calling it for another "
            f"{retry_in:.1f} s (the call will be retried then)",
            type=self.error_type,
            non_retryable=False,
            next_retry_delay=timedelta(seconds=max(retry_in, 1.0)),
        )
        self.service = service
        self.retry_in_seconds = retry_in


def counts_as_failure(err: BaseException) -> bool:
    """Default failure test: any exception except non-retryable ones (the service answered; the request was bad)."""
    return isinstance(err, Exception) and not getattr(err, "non_retryable", False)


class CircuitBreaker:
    """One breaker for one external service."""

    def __init__(
        self,
        service: str,
        *,
        failure_threshold: int,
        cooldown_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: OnChange | None = None,
        is_failure: Callable[[BaseException], bool] = counts_as_failure,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be at least 1, got {failure_threshold}")
        if cooldown_seconds < 0:
            raise ValueError(f"cooldown_seconds must not be negative, got {cooldown_seconds}")
        self.service = service
        self.failure_threshold = failure_threshold
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._on_change = on_change
        self._is_failure = is_failure
        self._state = BreakerState.CLOSED
        self._failures = 0  # consecutive failures since the last success
        self._opened_at = 0.0
        self._trial_in_flight = False
        # Bumped on every transition: an outcome of a call admitted under an earlier state is ignored
        # (a slow call that started before the breaker opened must not close it again).
        self._generation = 0

    @property
    def state(self) -> BreakerState:
        """Current state; an open breaker whose cool-down is over reads (and becomes) half-open."""
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.cooldown_seconds:
            self._transition(BreakerState.HALF_OPEN)
        return self._state

    @property
    def failures(self) -> int:
        """Consecutive failures counted since the last success."""
        return self._failures

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a trial call through (0 when it would let one through now)."""
        if self._state is BreakerState.OPEN:
            return max(0.0, self.cooldown_seconds - (self._clock() - self._opened_at))
        if self._state is BreakerState.HALF_OPEN and self._trial_in_flight:
            return self.cooldown_seconds
        return 0.0

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """`async with breaker.guard(): ...` — raises CircuitOpenError instead of entering while open."""
        trial, generation = self._admit()
        try:
            yield
        except BaseException as err:
            self._settle(generation, trial, failed=self._is_failure(err), counted=isinstance(err, Exception))
            raise
        else:
            self._settle(generation, trial, failed=False, counted=True)

    async def call(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Await `fn(*args, **kwargs)` through the breaker."""
        async with self.guard():
            return await fn(*args, **kwargs)

    def _admit(self) -> tuple[bool, int]:
        state = self.state
        if state is BreakerState.OPEN or (state is BreakerState.HALF_OPEN and self._trial_in_flight):
            raise CircuitOpenError(self.service, self.retry_in())
        trial = state is BreakerState.HALF_OPEN
        if trial:
            self._trial_in_flight = True
        return trial, self._generation

    def _settle(self, generation: int, trial: bool, *, failed: bool, counted: bool) -> None:
        if trial:
            self._trial_in_flight = False
        if generation != self._generation:
            return
        if not counted:  # cancelled (or interpreter exit): says nothing about the service; the trial slot is free again
            return
        if not failed:
            self._failures = 0
            if self._state is not BreakerState.CLOSED:
                self._transition(BreakerState.CLOSED)
            return
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
            self._transition(BreakerState.OPEN)

    def _transition(self, new: BreakerState) -> None:
        old = self._state
        if old is new:
            return
        self._state = new
        self._generation += 1
        if new is not BreakerState.HALF_OPEN:
            self._trial_in_flight = False
        if self._on_change is not None:
            self._on_change(self.service, old.value, new.value)


OVERFLOW_SERVICE = "other"


class BreakerBoard:
    """One breaker per service name, created on first use, with their states exported to Prometheus. Names come
    from callers' callback URLs too, so there are at most `max_breakers`: services beyond share one breaker (and one
    label, one ledger row) named `other`."""

    def __init__(
        self,
        failure_threshold: int,
        cooldown_seconds: float,
        registry: CollectorRegistry | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: OnChange | None = None,
        max_breakers: int = 100,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.max_breakers = max_breakers
        self.cooldown_seconds = cooldown_seconds
        self.registry = registry if registry is not None else CollectorRegistry()
        self._clock = clock
        self._on_change = on_change
        self._breakers: dict[str, CircuitBreaker] = {}
        self._state_gauge = Gauge(
            "ytempire_circuit_breaker_state",
            "Circuit breaker state per external service (0 closed, 1 half_open, 2 open)",
            ["service"],
            registry=self.registry,
        )
        self._trips = Counter(
            "ytempire_circuit_breaker_trips",
            "Times a service's circuit breaker opened",
            ["service"],
            registry=self.registry,
        )

    def get(self, service: str) -> CircuitBreaker:
        if service not in self._breakers and len(self._breakers) >= self.max_breakers:
            service = OVERFLOW_SERVICE
        breaker = self._breakers.get(service)
        if breaker is None:
            breaker = CircuitBreaker(
                service,
                failure_threshold=self.failure_threshold,
                cooldown_seconds=self.cooldown_seconds,
                clock=self._clock,
                on_change=self._changed,
            )
            self._breakers[service] = breaker
            self._state_gauge.labels(service).set(STATE_VALUES[BreakerState.CLOSED])
            self._trips.labels(service)  # export 0 from the start, so rate() sees the first trip
        return breaker

    def states(self) -> dict[str, str]:
        """Every known service's current state ("closed", "half_open" or "open")."""
        return {service: breaker.state.value for service, breaker in sorted(self._breakers.items())}

    def _changed(self, service: str, old: str, new: str) -> None:
        self._state_gauge.labels(service).set(STATE_VALUES[BreakerState(new)])
        if new == BreakerState.OPEN:
            self._trips.labels(service).inc()
        if self._on_change is not None:
            self._on_change(service, old, new)
