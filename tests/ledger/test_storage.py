"""What the analytics take on disk: a day of events against its aggregates, on a database of the test's own, and the
storage command's before/after report."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.events import PIPELINE_SOURCE, Event
from core.settings import Settings
from devstack.postgres import PostgresServer
from ledger import Ledger
from ledger.storage import analytics_storage
from tests.conftest import database_settings
from workers.housekeeping.analytics_storage import main, report

STAGES = ("script_generation", "audio_synthesis", "media_collection", "video_rendering", "quality_validation")


async def test_a_days_aggregates_take_a_tenth_of_its_events(own_ledger: Ledger) -> None:
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    channels = [uuid.uuid4() for _ in range(5)]
    events = [
        Event(uuid.uuid4(), day + timedelta(seconds=7 * n), "stage_finished", PIPELINE_SOURCE,
              video_id=uuid.uuid4(), channel_id=channels[n % 5], stage=STAGES[n % 5], service="compute",
              duration_seconds=1.0 + n % 13, cost_usd=0.002, details={"video_attempt": 1, "execution": 1})
        for n in range(12_000)
    ]  # fmt: skip
    await own_ledger.record_events(events)
    await own_ledger.roll_up("hour", day, day + timedelta(days=1))
    await own_ledger.roll_up("day", day, day + timedelta(days=1))

    storage = await analytics_storage(own_ledger.pool)
    assert storage.compared_days == 1 and storage.event_days >= 9  # yesterday to a week ahead
    assert storage.events_bytes_of_compared > 2_000_000
    assert storage.reduction is not None and storage.reduction >= 0.9
    assert storage.lines()[2].endswith(f"reduction {storage.reduction:.1%}")


async def test_the_command_reports_before_and_after_the_retention(
    pg_server: PostgresServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, **database_settings(pg_server))  # type: ignore[call-arg]
    measured = await report(settings, dry_run=True)
    assert measured[0] == "before:" and "after:" not in measured and measured[1].startswith("  events: ")
    applied = await report(settings, dry_run=False)
    assert applied[5] == "after:" and applied[4].startswith("retention: dropped ")
    with pytest.raises(SystemExit) as usage:
        main(["--help"])
    assert usage.value.code == 0 and "reduction" in capsys.readouterr().out
