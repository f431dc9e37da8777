"""A stage attempt that the provider billed but that failed anyway (an OpenAI script rejected by the content
checks) is paid by the video: one ledger row per activity attempt, in the video's totals, in the stage's result.
A charge is written to the ledger as the provider answers, so an attempt lost with its worker is paid too."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import asyncpg
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.pipeline import PipelineActivities
from activities.stage_runner import run_stage
from core.domain import StageInput
from core.records import CostLine, StageOutcome
from core.settings import Settings
from ledger import Ledger
from providers.billing import report_billed
from telemetry.worker_metrics import WorkerMetrics
from tests.admission import admitted_video
from tests.conftest import TEST_KEY_RING
from tests.fakes.openai_api import FakeOpenAI, Scripted
from tests.fakes.server import serve


async def test_a_rejected_but_billed_script_is_charged_once_and_counted(
    tmp_path: Path, ledger: Ledger, pg_pool: asyncpg.Pool
) -> None:
    fake = FakeOpenAI(narration_words=75)
    request = await admitted_video(ledger, "octopus hearts", duration_seconds=30)
    inp = StageInput("script_generation", request, str(tmp_path / "video"), str(tmp_path / "outbox"))
    metrics = WorkerMetrics()
    with serve(fake.app) as url:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp_path / "data",
            script_provider="openai",
            openai_api_key=fake.api_key,
            openai_base_url=f"{url}/v1",
        )
        activities = PipelineActivities(settings, ledger, metrics)
        env = ActivityEnvironment()
        fake.push(Scripted(words=10))  # far too short for 30 s: rejected after the tokens were billed
        with pytest.raises(ApplicationError) as info:
            await env.run(activities.generate_script, inp)
        assert info.value.type == "ScriptContentInvalid"
        env.info = dataclasses.replace(env.info, attempt=2)
        result = await env.run(activities.generate_script, inp)

    rows = await pg_pool.fetch(
        "SELECT stage, activity_attempt, service, operation, amount, metadata FROM pipeline_failed_charges "
        "WHERE video_id = $1",
        request.video_id,
    )
    assert [(r["stage"], r["activity_attempt"], r["service"], r["operation"]) for r in rows] == [
        ("script_generation", 1, "openai", "chat_completion_rejected")
    ]
    failed = float(rows[0]["amount"])
    assert failed > 0
    success = (await ledger.stage_costs(request.video_id))[0].amount_usd
    assert result.cost_usd == pytest.approx(success + failed, abs=1e-4)
    assert result.details["failed_attempts_usd"] == pytest.approx(failed, abs=1e-4)
    breakdown = await pg_pool.fetchval("SELECT cost_breakdown FROM video_queue WHERE id = $1", request.video_id)
    assert '"script_generation:failed"' in breakdown
    # The same failed attempt's bookkeeping retried (a lost worker) is not charged twice.
    again = CostLine(rows[0]["service"], rows[0]["operation"], failed)
    assert not await ledger.record_failed_charge(request.video_id, "script_generation", 1, 1, again)


async def test_a_charge_is_in_the_ledger_the_moment_the_provider_answers(tmp_path: Path, ledger: Ledger) -> None:
    """A worker lost after the provider billed, before the stage ended (its cost row never written): the charge
    was written ahead, so the retry, served from the cache for a small overhead, still adds what was paid."""
    request = await admitted_video(ledger, "octopus hearts")
    inp = StageInput("audio_synthesis", request, str(tmp_path / "video"), str(tmp_path / "outbox"))
    billed = CostLine("elevenlabs", "text_to_speech_partial", 0.12, {"characters": 400, "requests": 1})
    answered = asyncio.Event()

    async def dies_after_the_answer() -> StageOutcome:
        await report_billed(billed)
        answered.set()
        await asyncio.Event().wait()  # the worker dies here: nothing after this runs
        raise AssertionError("unreachable")

    env = ActivityEnvironment()
    doomed = asyncio.create_task(env.run(run_stage, ledger, inp, dies_after_the_answer, WorkerMetrics()))
    await asyncio.wait_for(answered.wait(), 10)
    doomed.cancel()  # CancelledError runs no bookkeeping in run_stage: as far as the ledger knows, a death
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert await ledger.failed_charges_usd(request.video_id, "audio_synthesis", 1) == pytest.approx(0.12)

    overhead = CostLine("elevenlabs", "speech_cache_hit", 0.002, {"cache": "hit"})

    async def served_from_the_cache() -> StageOutcome:
        return StageOutcome({"audio": str(tmp_path / "voice.wav")}, overhead, {"cache": "hit"})

    env.info = dataclasses.replace(env.info, attempt=2)
    result = await env.run(run_stage, ledger, inp, served_from_the_cache, WorkerMetrics())
    assert result.cost_usd == pytest.approx(0.122)
    assert await ledger.spent_usd(request.video_id) == pytest.approx(0.122)


async def test_a_successful_attempt_settles_what_it_wrote_ahead(tmp_path: Path, ledger: Ledger) -> None:
    request = await admitted_video(ledger, "octopus hearts")
    inp = StageInput("script_generation", request, str(tmp_path / "video"), str(tmp_path / "outbox"))
    call = CostLine("openai", "chat_completion", 0.004, {"prompt_tokens": 900, "completion_tokens": 300})

    async def answered_and_done() -> StageOutcome:
        await report_billed(dataclasses.replace(call, operation="chat_completion_unfinished"))
        return StageOutcome({"script": str(tmp_path / "script.json")}, call, {})

    result = await ActivityEnvironment().run(run_stage, ledger, inp, answered_and_done, WorkerMetrics())
    assert result.cost_usd == pytest.approx(0.004)
    assert await ledger.failed_charges(request.video_id) == []
    assert await ledger.spent_usd(request.video_id) == pytest.approx(0.004)


class LedgerAway(Ledger):
    """The database refusing connections, for the charge writes only."""

    async def record_failed_charge(self, *args: object, **kwargs: object) -> float:
        raise ConnectionRefusedError(111, "Connection refused")


async def test_a_charge_the_database_missed_is_booked_from_the_journal(
    tmp_path: Path, ledger: Ledger, pg_pool: asyncpg.Pool
) -> None:
    """The provider answered while the database was away, and the worker died waiting to book it: the charge was
    on local disk, and the next attempt books it before it runs (once, however often it is replayed)."""
    request = await admitted_video(ledger, "octopus hearts")
    inp = StageInput("audio_synthesis", request, str(tmp_path / "video"), str(tmp_path / "outbox"))
    billed = CostLine("elevenlabs", "text_to_speech_partial", 0.12, {"characters": 400, "requests": 1})
    answered = asyncio.Event()

    async def answered_while_the_database_is_away() -> StageOutcome:
        answered.set()
        await report_billed(billed)  # waits for the database: the worker dies first
        raise AssertionError("unreachable")

    env = ActivityEnvironment()
    doomed = asyncio.create_task(
        env.run(
            run_stage, LedgerAway(pg_pool, TEST_KEY_RING), inp, answered_while_the_database_is_away, WorkerMetrics()
        )
    )
    await asyncio.wait_for(answered.wait(), 10)
    await asyncio.sleep(0.5)
    doomed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert await ledger.spent_usd(request.video_id) == 0.0  # the ledger never heard of it

    overhead = CostLine("elevenlabs", "speech_cache_hit", 0.002, {"cache": "hit"})

    async def served_from_the_cache() -> StageOutcome:
        return StageOutcome({"audio": str(tmp_path / "voice.wav")}, overhead, {"cache": "hit"})

    env.info = dataclasses.replace(env.info, attempt=2)
    result = await env.run(run_stage, ledger, inp, served_from_the_cache, WorkerMetrics())
    assert result.cost_usd == pytest.approx(0.122)
    env.info = dataclasses.replace(env.info, attempt=3)  # a reply lost after the booking: the retry replays again
    again = await env.run(run_stage, ledger, inp, served_from_the_cache, WorkerMetrics())
    assert again.cost_usd == pytest.approx(0.122)
    assert await ledger.spent_usd(request.video_id) == pytest.approx(0.122)
