"""Wraps every stage activity with its ledger bookkeeping and typed error reporting."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import charge_journal, pipeline_events
from core.domain import StageInput, StageResult
from core.errors import ErrorType
from core.failed_charges import with_failed_charges
from core.records import CostLine, StageOutcome
from core.stage_table import STAGES_BY_NAME
from ledger import Ledger
from providers.billing import charges_to
from providers.errors import charge_of
from telemetry.worker_metrics import WorkerMetrics


def as_application_error(err: BaseException) -> ApplicationError:
    """Give every failure a type a script can match on; keep ApplicationErrors (and their retryability) as raised."""
    if isinstance(err, ApplicationError):
        return err
    error_type = getattr(err, "error_type", None) or type(err).__name__
    non_retryable = bool(getattr(err, "non_retryable", False))
    return ApplicationError(str(err) or error_type, type=error_type, non_retryable=non_retryable)


def final(err: ApplicationError) -> ApplicationError:
    """`err` made non-retryable: the stage's own attempts are spent (what is left is for infrastructure faults)."""
    return ApplicationError(
        err.message,
        *err.details,
        type=err.type,
        non_retryable=True,
        category=err.category,
    )


async def keep_alive(stage: str, interval_seconds: float = 1.0) -> None:
    """Heartbeat while a stage runs: a lost worker is noticed within the heartbeat timeout, not the stage's
    timeout, and a cancel reaches the stage at its next heartbeat (the worker sends one a second)."""
    started = time.monotonic()
    while True:
        activity.heartbeat({"stage": stage, "running_seconds": round(time.monotonic() - started)})
        await asyncio.sleep(interval_seconds)


async def run_stage(
    ledger: Ledger,
    inp: StageInput,
    body: Callable[[], Awaitable[StageOutcome]],
    metrics: WorkerMetrics,
    fixed_price_usd: float | None = None,
    *,
    liveness: bool = True,
) -> StageResult:
    """Mark the stage started, run it, then record its cost once or its error, in the ledger. `liveness`: heartbeat
    while the body runs (off for a body that heartbeats its own progress)."""
    info = activity.info()
    video_id = inp.request.video_id
    journal = charge_journal.journal_path(inp.artifact_dir, inp.stage)
    await _book_journal(ledger, inp, journal)
    if (done := await _already_recorded(ledger, inp)) is not None:
        # An earlier attempt succeeded and was booked, then its worker died before Temporal heard: its result stands.
        activity.logger.info("stage %s was already done and booked: not run (nor charged) again", inp.stage)
        await ledger.record_events(pipeline_events.stage_finished_events(inp, done))  # in case its writer died first
        return done
    if inp.budget_usd is not None and fixed_price_usd is None:
        billed = await billed_so_far(ledger, inp)
        if round(billed + inp.estimate_usd, 4) > inp.budget_usd:
            refusal = ApplicationError(
                f"{inp.stage}: its failed attempts were billed ${billed:.2f}; another may cost "
                f"${inp.estimate_usd:.2f}, past the ${inp.budget_usd:.2f} the cap leaves",
                type=ErrorType.STAGE_BUDGET_EXHAUSTED,
                non_retryable=True,
            )
            activity.logger.warning("%s", refusal.message)
            raise with_failed_charges(refusal, billed)
    await ledger.stage_started(video_id, inp.stage, info.attempt)
    await ledger.record_events([pipeline_events.stage_started(inp, info.attempt)])
    started = time.monotonic()
    key = inp.attempt_key(info.attempt)
    reported: list[CostLine] = []  # what this attempt's providers said they billed, in all, as they answered

    async def write_ahead(charge: CostLine) -> None:
        # A provider answered and billed: in the ledger now, so a worker lost before the stage ends still paid it.
        if fixed_price_usd is None:
            reported.append(charge)
            # On disk first: should the database be away and this worker then die, the next attempt books it.
            line = charge_journal.JournalLine(inp.video_attempt, key, charge)
            await asyncio.to_thread(charge_journal.append, journal, line)
            await _until_written(
                functools.partial(ledger.record_failed_charge, video_id, inp.stage, inp.video_attempt, key, charge)
            )

    heartbeat = asyncio.create_task(keep_alive(inp.stage)) if liveness else None
    try:
        with charges_to(write_ahead):
            outcome = await body()
    except asyncio.CancelledError:
        raise
    except Exception as err:
        app_err = as_application_error(err)
        activity.logger.warning("stage %s failed: %s", inp.stage, app_err)
        metrics.stage_failures.labels(inp.stage, app_err.type or "Error").inc()
        charge = charge_of(err) if fixed_price_usd is None else None
        if charge is not None:
            # The provider billed this attempt although it failed: the money is spent, so the video pays it.
            await ledger.record_failed_charge(video_id, inp.stage, inp.video_attempt, key, charge)
        paid = charge if charge is not None else (reported[-1] if reported else None)
        if paid is not None:
            metrics.record_cost(inp.stage, paid.service, paid.amount_usd)
        infrastructure = bool(getattr(err, "infrastructure", False))
        await ledger.stage_failed(
            video_id,
            inp.stage,
            info.attempt,
            app_err.type or "Error",
            str(app_err),
            inp.video_attempt,
            infrastructure=infrastructure,
        )
        own_attempts = STAGES_BY_NAME[inp.stage].max_attempts
        if (
            not app_err.non_retryable
            and not infrastructure
            and (await ledger.stage_failure_count(video_id, inp.stage, inp.video_attempt) >= own_attempts)
        ):
            activity.logger.warning("stage %s failed its %d own attempts: final", inp.stage, own_attempts)
            app_err = final(app_err)
        failed = pipeline_events.stage_failed(
            inp,
            info.attempt,
            app_err.type or "Error",
            str(app_err),
            final=app_err.non_retryable,
            infrastructure=infrastructure,
        )
        await pipeline_events.record_quietly(ledger, failed)
        if fixed_price_usd is None and (paid is not None or info.attempt > 1):
            # Should this be the stage's last attempt, the workflow adds what its failed attempts cost to the total.
            if charged := await billed_so_far(ledger, inp):
                raise with_failed_charges(app_err, charged) from err
        if app_err is err:
            raise
        raise app_err from err
    finally:
        if heartbeat is not None:
            heartbeat.cancel()
    seconds = round(time.monotonic() - started, 3)
    # The cost row also keeps what a whole-video retry needs to resume after this stage, and its duration for ETAs.
    cost = CostLine(
        outcome.cost.service if fixed_price_usd is None else "fixed_price",
        outcome.cost.operation,
        outcome.cost.amount_usd if fixed_price_usd is None else fixed_price_usd,
        {
            **outcome.cost.metadata,
            "seconds": seconds,
            "artifacts": outcome.artifacts,
            "details": outcome.details,
            "attempt_key": key,  # its charges written ahead are settled in this row
        },
    )
    if not await ledger.record_stage_cost(video_id, inp.stage, cost, inp.video_attempt, settles_attempt=key):
        # Another attempt of this stage booked first (its reply lost): the ledger's row is what the video paid.
        if (booked := await _already_recorded(ledger, inp)) is not None:
            await ledger.record_events(pipeline_events.stage_finished_events(inp, booked))
            return booked
    if reported:
        await asyncio.to_thread(charge_journal.forget, journal, inp.video_attempt, key)
    metrics.record_cost(inp.stage, cost.service, cost.amount_usd)
    failed_usd = await billed_so_far(ledger, inp) if info.attempt > 1 else 0.0
    metrics.stage_seconds.labels(inp.stage).observe(seconds)
    activity.logger.info("stage %s done in %.2f s ($%.4f)", inp.stage, seconds, cost.amount_usd)
    result = StageResult(
        stage=inp.stage,
        artifacts=outcome.artifacts,
        # The workflow's running total (and so its cost guard) includes what failed attempts were billed.
        cost_usd=round(cost.amount_usd + failed_usd, 4),
        details={
            **outcome.details,
            "seconds": seconds,
            "service": cost.service,
            **({"failed_attempts_usd": round(failed_usd, 4)} if failed_usd else {}),
        },
    )
    await ledger.record_events(pipeline_events.stage_finished_events(inp, result))
    return result


async def _until_written(write: Callable[[], Awaitable[object]], longest_wait_seconds: float = 5.0) -> None:
    """Run a charge's ledger write, again while the database is away: the stage waits (heartbeating) rather than go on
    with a charge only this process knows of (were it lost, its retry would bill the provider again, unbooked)."""
    wait = 0.25
    while True:
        try:
            await write()
            return
        except (
            OSError,
            asyncpg.PostgresConnectionError,
            asyncpg.OperatorInterventionError,
            asyncpg.InterfaceError,
        ) as err:
            activity.logger.warning("the ledger is unreachable (%s): the charge is written when it is back", err)
            await asyncio.sleep(wait)
            wait = min(wait * 2, longest_wait_seconds)


async def _book_journal(ledger: Ledger, inp: StageInput, journal: Path) -> None:
    """Book what earlier attempts of this stage wrote to the journal but maybe not to the ledger (the database away,
    then the worker lost): rows already there are left as they are, and the attempt a cost row settled is skipped."""
    written = await asyncio.to_thread(charge_journal.read, journal)
    # An attempt's last report is its word (each replaces the one before).
    last = {line.attempt_key: line for line in written if line.video_attempt == inp.video_attempt}
    lines = list(last.values())
    if not lines:
        return
    booked = await ledger.recorded_stage(inp.request.video_id, inp.stage, inp.video_attempt)
    settled = booked.metadata.get("attempt_key") if booked is not None else None
    for line in lines:
        if line.attempt_key != settled:
            await ledger.record_failed_charge(
                inp.request.video_id, inp.stage, inp.video_attempt, line.attempt_key, line.cost, replace=False
            )


async def billed_so_far(ledger: Ledger, inp: StageInput) -> float:
    """What this execution's failed attempts of the stage were billed."""
    return await ledger.failed_charges_usd(inp.request.video_id, inp.stage, inp.video_attempt, inp.attempt_floor)


async def _already_recorded(ledger: Ledger, inp: StageInput) -> StageResult | None:
    """The stage's result as the ledger booked it in this whole-video attempt, when its artifacts are still there."""
    row = await ledger.recorded_stage(inp.request.video_id, inp.stage, inp.video_attempt)
    if row is None:
        return None
    artifacts = row.metadata.get("artifacts")
    if not isinstance(artifacts, dict) or not all(Path(str(p)).exists() for p in artifacts.values()):
        return None
    failed_usd = await billed_so_far(ledger, inp)
    return StageResult(
        stage=inp.stage,
        artifacts={str(k): str(v) for k, v in artifacts.items()},
        cost_usd=round(row.amount_usd + failed_usd, 4),
        details={
            **row.metadata.get("details", {}),
            "seconds": float(row.metadata.get("seconds", 0.0)),
            "service": row.service,
            "booked_earlier": 1.0,
            **({"failed_attempts_usd": round(failed_usd, 4)} if failed_usd else {}),
        },
    )
