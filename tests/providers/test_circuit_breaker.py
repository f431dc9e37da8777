"""Circuit breakers with a fake clock: closed → open → half-open → closed/open, metrics, and the PostgreSQL store."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from prometheus_client import CollectorRegistry
from temporalio.exceptions import ApplicationError

from ledger.breakers import StateWriter, load_states, save_state
from providers.circuit_breaker import BreakerBoard, BreakerState, CircuitBreaker, CircuitOpenError


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Boom(Exception):
    pass


async def ok() -> str:
    return "ok"


async def fail() -> str:
    raise Boom("service down")


def make(clock: FakeClock, changes: list[tuple[str, str, str]] | None = None, threshold: int = 3) -> CircuitBreaker:
    return CircuitBreaker(
        "tts",
        failure_threshold=threshold,
        cooldown_seconds=30,
        clock=clock,
        on_change=(lambda *change: changes.append(change)) if changes is not None else None,
    )


async def fail_times(breaker: CircuitBreaker, n: int) -> None:
    for _ in range(n):
        with pytest.raises(Boom):
            await breaker.call(fail)


async def test_opens_after_threshold_consecutive_failures_and_fails_fast() -> None:
    clock = FakeClock()
    changes: list[tuple[str, str, str]] = []
    breaker = make(clock, changes)
    await fail_times(breaker, 2)
    assert breaker.state is BreakerState.CLOSED and breaker.failures == 2
    await fail_times(breaker, 1)
    assert breaker.state is BreakerState.OPEN
    assert changes == [("tts", "closed", "open")]

    calls = 0

    async def counted() -> str:
        nonlocal calls
        calls += 1
        return "ok"

    clock.advance(10)
    with pytest.raises(CircuitOpenError) as err:
        await breaker.call(counted)
    assert calls == 0
    assert err.value.service == "tts" and err.value.retry_in_seconds == pytest.approx(20)
    # What Temporal sees: a retryable ApplicationError typed CircuitOpen, retried when the cool-down ends.
    assert isinstance(err.value, ApplicationError) and err.value.type == "CircuitOpen" == err.value.error_type
    assert not err.value.non_retryable
    assert err.value.next_retry_delay is not None and err.value.next_retry_delay.total_seconds() == pytest.approx(20)


async def test_a_success_resets_the_consecutive_count() -> None:
    breaker = make(FakeClock())
    await fail_times(breaker, 2)
    assert await breaker.call(ok) == "ok"
    await fail_times(breaker, 2)
    assert breaker.state is BreakerState.CLOSED and breaker.failures == 2


async def test_half_open_trial_success_closes() -> None:
    clock = FakeClock()
    changes: list[tuple[str, str, str]] = []
    breaker = make(clock, changes)
    await fail_times(breaker, 3)
    clock.advance(30)
    assert breaker.state is BreakerState.HALF_OPEN
    assert await breaker.call(ok) == "ok"
    assert breaker.state is BreakerState.CLOSED and breaker.failures == 0
    assert changes == [("tts", "closed", "open"), ("tts", "open", "half_open"), ("tts", "half_open", "closed")]


async def test_half_open_trial_failure_reopens_for_a_fresh_cooldown() -> None:
    clock = FakeClock()
    breaker = make(clock)
    await fail_times(breaker, 3)
    clock.advance(31)
    await fail_times(breaker, 1)  # the one trial
    assert breaker.state is BreakerState.OPEN
    clock.advance(29)
    with pytest.raises(CircuitOpenError) as err:
        await breaker.call(ok)
    assert err.value.retry_in_seconds == pytest.approx(1)
    clock.advance(1)
    assert await breaker.call(ok) == "ok"
    assert breaker.state is BreakerState.CLOSED


async def test_half_open_lets_exactly_one_trial_through() -> None:
    clock = FakeClock()
    breaker = make(clock)
    await fail_times(breaker, 3)
    clock.advance(30)
    release = asyncio.Event()

    async def slow() -> str:
        await release.wait()
        return "slow ok"

    trial = asyncio.create_task(breaker.call(slow))
    await asyncio.sleep(0)
    with pytest.raises(CircuitOpenError):
        await breaker.call(ok)
    release.set()
    assert await trial == "slow ok"
    assert breaker.state is BreakerState.CLOSED
    assert await breaker.call(ok) == "ok"


async def test_cancelled_trial_frees_the_slot_without_judging_the_service() -> None:
    clock = FakeClock()
    breaker = make(clock)
    await fail_times(breaker, 3)
    clock.advance(30)
    trial = asyncio.create_task(breaker.call(asyncio.sleep, 3600))
    await asyncio.sleep(0)
    trial.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial
    assert breaker.state is BreakerState.HALF_OPEN
    assert await breaker.call(ok) == "ok"
    assert breaker.state is BreakerState.CLOSED


async def test_non_retryable_errors_do_not_count() -> None:
    """A rejected request (the service answered: our request was wrong) says nothing about the service's health."""
    breaker = make(FakeClock(), threshold=1)

    async def rejected() -> None:
        raise ApplicationError("400 Bad Request", type="WebhookRejected", non_retryable=True)

    for _ in range(3):
        with pytest.raises(ApplicationError):
            await breaker.call(rejected)
    assert breaker.state is BreakerState.CLOSED and breaker.failures == 0


async def test_late_outcome_of_a_call_admitted_before_the_trip_is_ignored() -> None:
    clock = FakeClock()
    breaker = make(clock, threshold=2)
    release = asyncio.Event()

    async def slow_success() -> str:
        await release.wait()
        return "late"

    straggler = asyncio.create_task(breaker.call(slow_success))
    await asyncio.sleep(0)
    await fail_times(breaker, 2)
    assert breaker.state is BreakerState.OPEN
    release.set()
    assert await straggler == "late"
    assert breaker.state is BreakerState.OPEN  # one slow success from before the trip does not close it


async def test_guard_context_manager() -> None:
    clock = FakeClock()
    breaker = make(clock, threshold=1)
    with pytest.raises(Boom):
        async with breaker.guard():
            raise Boom("down")
    with pytest.raises(CircuitOpenError):
        async with breaker.guard():
            pytest.fail("the body must not run while the breaker is open")
    clock.advance(30)
    async with breaker.guard():
        pass
    assert breaker.state is BreakerState.CLOSED


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker("x", failure_threshold=0, cooldown_seconds=1)
    with pytest.raises(ValueError, match="cooldown_seconds"):
        CircuitBreaker("x", failure_threshold=1, cooldown_seconds=-1)


async def test_board_exports_state_gauge_trip_counter_and_states() -> None:
    clock = FakeClock()
    registry = CollectorRegistry()
    seen: list[tuple[str, str, str]] = []
    board = BreakerBoard(2, 30, registry, clock=clock, on_change=lambda *c: seen.append(c))
    assert board.get("tts") is board.get("tts")
    board.get("llm")

    def sample(name: str, service: str) -> float | None:
        return registry.get_sample_value(name, {"service": service})

    assert sample("ytempire_circuit_breaker_state", "tts") == 0
    assert sample("ytempire_circuit_breaker_trips_total", "tts") == 0
    await fail_times(board.get("tts"), 2)
    assert sample("ytempire_circuit_breaker_state", "tts") == 2
    assert sample("ytempire_circuit_breaker_trips_total", "tts") == 1
    assert board.states() == {"llm": "closed", "tts": "open"}
    clock.advance(30)
    assert board.states() == {"llm": "closed", "tts": "half_open"}
    assert sample("ytempire_circuit_breaker_state", "tts") == 1
    await fail_times(board.get("tts"), 1)
    assert sample("ytempire_circuit_breaker_trips_total", "tts") == 2
    assert seen == [("tts", "closed", "open"), ("tts", "open", "half_open"), ("tts", "half_open", "open")]
    assert sample("ytempire_circuit_breaker_state", "llm") == 0


def test_board_without_registry_gets_its_own() -> None:
    first, second = BreakerBoard(1, 1), BreakerBoard(1, 1)  # no duplicate-series error: separate registries
    assert first.registry is not second.registry


async def test_store_upserts_and_loads(pg_pool: asyncpg.Pool) -> None:
    service = f"test-{uuid.uuid4().hex[:12]}"
    await save_state(pg_pool, service, "open", 5)
    await save_state(pg_pool, service, "half_open", 5)
    assert (await load_states(pg_pool))[service] == "half_open"
    row = await pg_pool.fetchrow("SELECT state, failures FROM circuit_breakers WHERE service = $1", service)
    assert row is not None and (row["state"], row["failures"]) == ("half_open", 5)
    with pytest.raises(asyncpg.CheckViolationError):
        await save_state(pg_pool, service, "ajar", 0)


async def test_state_writer_persists_transitions_in_order(pg_pool: asyncpg.Pool) -> None:
    clock = FakeClock()
    service = f"test-{uuid.uuid4().hex[:12]}"
    writer = StateWriter(pg_pool, failures=lambda name: board.get(name).failures)
    board = BreakerBoard(2, 30, clock=clock, on_change=writer)
    await fail_times(board.get(service), 2)
    clock.advance(30)
    await fail_times(board.get(service), 1)  # open → half_open → open
    await writer.aclose()
    row = await pg_pool.fetchrow("SELECT state, failures FROM circuit_breakers WHERE service = $1", service)
    assert row is not None and (row["state"], row["failures"]) == ("open", 3)
    clock.advance(30)
    assert await board.get(service).call(ok) == "ok"
    await writer.aclose()
    assert (await load_states(pg_pool))[service] == "closed"


def test_callers_cannot_grow_the_breakers_without_bound() -> None:
    """Every caller-chosen callback host would be a breaker, a metric label and a ledger row: past the bound they
    share one."""
    board = BreakerBoard(3, 60, max_breakers=2)
    first, second = board.get("webhook:a.example"), board.get("webhook:b.example")
    beyond = [board.get(f"webhook:{n}.example") for n in range(50)]
    assert board.get("webhook:a.example") is first and board.get("webhook:b.example") is second
    assert all(b is beyond[0] for b in beyond) and beyond[0].service == "other"
    metrics = board.registry.collect()
    labels = {sample.labels["service"] for metric in metrics for sample in metric.samples if "service" in sample.labels}
    assert labels == {"webhook:a.example", "webhook:b.example", "other"}
