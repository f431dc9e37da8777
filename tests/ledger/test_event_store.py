"""The events table on real PostgreSQL: appended by COPY in batches, a resend skipped inside its day, a day's
partition made when first needed, old days dropped whole (never the last week), rows the app's role cannot change,
and the sink that groups concurrent writers into batches and tells each what failed its batch."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from core.events import Event
from ledger import Ledger
from ledger.event_sink import EventSink, EventSinkClosed
from ledger.event_store import EventStore

NOW = datetime.now(UTC)


def event(at: datetime = NOW, **fields: object) -> Event:
    return Event(
        event_id=fields.pop("event_id", uuid.uuid4()),  # type: ignore[arg-type]
        occurred_at=at,
        kind=fields.pop("kind", "stage_finished"),  # type: ignore[arg-type]
        source="pipeline",
        **fields,  # type: ignore[arg-type]
    )


async def test_events_are_appended_once_and_read_back(ledger: Ledger) -> None:
    video = uuid.uuid4()
    first = event(
        NOW - timedelta(seconds=2),
        video_id=video,
        channel_id=uuid.uuid4(),
        stage="video_rendering",
        service="compute",
        duration_seconds=14.9,
        cost_usd=0.0125,
        details={"encoder": "libx264", "nul": "a\x00b"},
    )
    second = event(NOW, video_id=video, kind="upload_completed", level="warning")
    assert await ledger.record_events([first, second]) == 2
    resent_elsewhere_in_the_day = Event(**{**first.__dict__, "occurred_at": first.occurred_at - timedelta(seconds=1)})
    assert await ledger.record_events([first, second, resent_elsewhere_in_the_day, first]) == 0

    stored = await ledger.stored_events(since=NOW - timedelta(minutes=1), video_id=video)
    assert [s.event.kind for s in stored] == ["stage_finished", "upload_completed"]
    back = stored[0].event
    assert (back.event_id, back.stage, back.service, back.duration_seconds, back.cost_usd) == (
        first.event_id, "video_rendering", "compute", 14.9, 0.0125,
    )  # fmt: skip
    assert back.details == {"encoder": "libx264", "nul": "a\ufffdb"}
    assert stored[1].event.level == "warning"
    assert all(s.recorded_at >= s.event.occurred_at for s in stored)


async def test_a_day_without_a_partition_gets_one_when_its_first_event_comes(ledger: Ledger) -> None:
    long_ago = NOW - timedelta(days=40)
    assert long_ago.date() not in await ledger.event_partition_days()
    e = event(long_ago)
    assert await ledger.record_events([e, event(NOW)]) == 2
    assert long_ago.astimezone(UTC).date() in await ledger.event_partition_days()
    [back] = await ledger.stored_events(since=long_ago, until=long_ago + timedelta(seconds=1))
    assert back.event.event_id == e.event_id


async def test_partitions_are_made_ahead_and_old_days_dropped_whole(own_ledger: Ledger) -> None:
    today = NOW.date()
    days = await own_ledger.event_partition_days()
    assert {today + timedelta(days=n) for n in range(-1, 8)} <= set(days)  # the migration made the next week's
    assert await own_ledger.ensure_event_partitions(today, today + timedelta(days=7)) == 0
    old = [event(NOW - timedelta(days=n)) for n in (100, 95, 91, 89, 10)]
    assert await own_ledger.record_events(old) == 5

    dropped = await own_ledger.drop_event_partitions_before(today - timedelta(days=90))
    assert dropped == [(NOW - timedelta(days=n)).date() for n in (100, 95, 91)]
    left = await own_ledger.stored_events(since=NOW - timedelta(days=200))
    assert [s.event.event_id for s in left] == [old[3].event_id, old[4].event_id]
    for too_recent in (today, today - timedelta(days=6)):
        with pytest.raises(asyncpg.RaiseError, match="last seven days"):
            await own_ledger.drop_event_partitions_before(too_recent)


async def test_the_app_role_cannot_change_or_remove_an_event(ledger: Ledger, pg_pool: asyncpg.Pool) -> None:
    e = event()
    await ledger.record_events([e])
    for statement in (
        "UPDATE events SET kind = 'forged' WHERE event_id = $1",
        "DELETE FROM events WHERE event_id = $1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await pg_pool.execute(statement, e.event_id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pg_pool.execute("TRUNCATE events")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pg_pool.execute(
            "CREATE TABLE events_p20991231 PARTITION OF events FOR VALUES FROM ('2099-12-31') TO ('2100-01-01')"
        )


class CountingStore(EventStore):
    """The real store, counting the batches it is given and failing the ones that hold a poisoned kind."""

    def __init__(self, ledger: Ledger) -> None:
        super().__init__(ledger.pool, ledger.key_ring)
        self.batches: list[int] = []

    async def record_events(self, events: Sequence[Event]) -> int:
        self.batches.append(len(events))
        if any(e.kind == "poison" for e in events):
            raise asyncpg.DataError("poisoned batch")
        return await super().record_events(events)


async def test_the_sink_groups_concurrent_writers_and_each_learns_its_batch_s_fate(ledger: Ledger) -> None:
    store = CountingStore(ledger)
    video = uuid.uuid4()
    async with EventSink(store, max_batch=500) as sink:
        await asyncio.gather(*(sink.write([event(video_id=video) for _ in range(10)]) for _ in range(100)))
        assert sum(store.batches) == 1000 and len(store.batches) < 100  # grouped, never past max_batch
        assert max(store.batches) <= 500

        outcome = await asyncio.gather(sink.write([event(kind="poison")]), return_exceptions=True)
        assert isinstance(outcome[0], asyncpg.DataError)
        await sink.write([event(video_id=video)])  # the sink goes on after a failed batch
    stored = await ledger.stored_events(since=NOW - timedelta(minutes=1), video_id=video, limit=5000)
    assert len(stored) == 1001
    with pytest.raises(EventSinkClosed):
        await sink.write([event()])
