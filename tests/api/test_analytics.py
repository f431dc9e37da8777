"""GET /analytics through the real app, over rollups of a channel's videos: series by hour and day, videos ranked by
margin, cost reports as JSON and CSV, bad windows refused with where, and a channel-limited key kept to its own."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from api.auth import API_KEY_HEADER
from api.credentials import new_api_key
from core.principals import Role
from core.settings import Settings
from core.youtube_metrics import UploadedVideo
from ledger import Ledger
from ledger.rollups import bucket_start
from tests.integration import conftest as integration
from tests.integration.conftest import api_client
from tests.ledger.test_rollups import T0, filled  # noqa: F401 - the fixture, by name

settings = integration.settings
DAY = bucket_start(T0, "day")


async def test_series_rankings_and_cost_reports(
    settings: Settings,
    dev_env: WorkflowEnvironment,
    ledger: Ledger,
    pg_pool: asyncpg.Pool,
    filled: tuple[str, list[UploadedVideo]],  # noqa: F811
) -> None:
    channel, (one, two) = filled
    await ledger.roll_up("hour", DAY, DAY + timedelta(days=1))
    await ledger.roll_up("day", DAY, DAY + timedelta(days=1))
    window = {"since": DAY.isoformat(), "until": (DAY + timedelta(days=1)).isoformat()}
    async with api_client(settings) as http:
        hourly = await http.get(f"/analytics/channels/{channel}/series", params={**window, "granularity": "hour"})
        daily = await http.get(f"/analytics/channels/{channel}/series", params=window)
        video = await http.get(f"/analytics/videos/{one.video_id}/series", params=window)
        top = await http.get("/analytics/videos/ranked", params={**window, "channel_id": channel})
        bottom = await http.get("/analytics/videos/ranked", params={**window, "channel_id": channel, "order": "bottom"})
        by_service = await http.get("/analytics/costs", params={**window, "channel_id": channel, "group_by": "service"})
        as_csv = await http.get(
            "/analytics/costs", params={**window, "channel_id": channel, "group_by": "video", "format": "csv"}
        )
        unknown = await http.get(f"/analytics/videos/{uuid.uuid4()}/series", params=window)
        totals = await http.get("/analytics/channels", params={**window, "granularity": "day"})

    assert hourly.status_code == 200, hourly.text
    assert [(b["views"], b["videos_completed"], b["videos_failed"]) for b in hourly.json()["buckets"]] == [
        (150, 1, 0),
        (60, 0, 1),
    ]
    [day] = daily.json()["buckets"]
    assert (day["views"], day["revenue_usd"], day["cost_usd"]) == (200, 1.25, 0.6)
    assert abs(day["margin_usd"] - 0.65) < 1e-9
    [video_day] = video.json()["buckets"]
    assert (video_day["views"], video_day["watch_minutes"], video_day["videos_completed"]) == (150, 300.0, None)
    assert [v["video_id"] for v in top.json()["videos"]] == [one.video_id, two.video_id]
    assert [v["video_id"] for v in bottom.json()["videos"]] == [two.video_id, one.video_id]
    report = by_service.json()
    assert [(r["key"], r["charges"]) for r in report["rows"]] == [("elevenlabs", 1), ("openai", 2)]
    assert abs(report["total_usd"] - 0.6) < 1e-9
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert {r["key"]: r["cost_usd"] for r in rows} == {one.video_id: "0.4000", two.video_id: "0.2000"}
    assert unknown.status_code == 404
    [ours] = [c for c in totals.json()["channels"] if c["channel_id"] == channel]
    assert (ours["views"], ours["revenue_usd"], ours["videos_completed"], ours["videos_failed"]) == (200, 1.25, 1, 1)


async def test_bad_windows_are_refused_with_where(settings: Settings, dev_env: WorkflowEnvironment) -> None:
    channel = uuid.uuid4()
    async with api_client(settings) as http:
        naive = await http.get(f"/analytics/channels/{channel}/series", params={"since": "2026-12-01T00:00:00"})
        backwards = await http.get(
            f"/analytics/channels/{channel}/series",
            params={"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"},
        )
        too_long = await http.get(
            f"/analytics/channels/{channel}/series",
            params={"granularity": "hour", "since": "2026-01-01T00:00:00Z", "until": "2026-12-01T00:00:00Z"},
        )
        grouping = await http.get("/analytics/costs", params={"group_by": "planet"})
    for answer in (naive, backwards, too_long):
        assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["query", "since"], answer.text
    assert grouping.status_code == 422


async def test_a_key_limited_to_channels_reads_its_channels_only(
    settings: Settings, dev_env: WorkflowEnvironment, ledger: Ledger
) -> None:
    channel = uuid.uuid4()
    key = new_api_key()
    await ledger.create_key(key.id, f"analytics-{key.id}", key.sha256, Role.VIEWER, channels=[channel])
    headers = {API_KEY_HEADER: key.value}
    async with api_client(settings, signed_in=False) as http:
        own = await http.get(f"/analytics/channels/{channel}/series", headers=headers)
        other = await http.get(f"/analytics/channels/{uuid.uuid4()}/series", headers=headers)
        everyone = await http.get("/analytics/costs", headers=headers)
        own_costs = await http.get("/analytics/costs", params={"channel_id": str(channel)}, headers=headers)
        listed = await http.get("/analytics/channels", params={"granularity": "day"}, headers=headers)
    assert (own.status_code, own_costs.status_code, listed.status_code) == (200, 200, 200), own.text
    assert {c["channel_id"] for c in listed.json()["channels"]} <= {str(channel)}  # only its own, if any
    assert (other.status_code, everyone.status_code) == (403, 403)
