"""YouTube upload through google-api-python-client against a fake Data API on 127.0.0.1 (resumable sessions, chunk
PUTs, status queries, thumbnails, OAuth refresh), with the quota guard on the real PostgreSQL ledger."""

from __future__ import annotations

import asyncio
import json
import logging
import stat
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from PIL import Image
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from core.domain import StageInput, VideoRequest
from core.records import StageOutcome
from core.settings import Settings
from engines.script.writer import Script
from ledger import Ledger
from providers.cache import ContentCache
from providers.context import ProviderContext
from providers.youtube_quota import INSERT, THUMBNAIL, pacific, quota_day, quota_resets_at
from providers.youtube_upload import STATE_FILE, UploadState, discovery_document
from stages.upload import prepare_upload
from telemetry.worker_metrics import WorkerMetrics
from tests.fakes.server import serve
from tests.fakes.youtube_api import FakeYouTube

CLIENT_ID = "1234-fake.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-client-secret-never-print"
REFRESH_TOKEN = "1//refresh-token-never-print-0042"
CHUNK = 256 * 1024
VIDEO_BYTES = 5 * CHUNK + 12_345  # six chunks, the last one short


@dataclass
class Rig:
    fake: FakeYouTube
    base_url: str
    tmp: Path
    ledger: Ledger
    video: Path
    title_card: Path
    script: Script
    metrics: WorkerMetrics

    def settings(self, **overrides: Any) -> Settings:
        creds = self.fake.credentials_file(self.tmp / "youtube-credentials.json", self.base_url)
        values: dict[str, Any] = {
            "data_dir": self.tmp / "data",
            "upload_provider": "youtube",
            "youtube_base_url": self.base_url,
            "youtube_credentials_file": creds,
            "youtube_chunk_bytes": CHUNK,
            "provider_timeout_seconds": 10,
            **overrides,
        }
        return Settings(**values)

    def ctx(self, settings: Settings | None = None, *, ledger: bool = True) -> ProviderContext:
        settings = settings or self.settings()
        cache = ContentCache(settings.provider_cache_dir, enabled=False)
        return ProviderContext(settings, cache, self.metrics, self.ledger if ledger else None)

    def stage_input(self, video_id: str = "vid-1") -> StageInput:
        request = VideoRequest(video_id=video_id, topic="octopuses", channel_id="chan-1", user_id="user-1")
        return StageInput("upload_preparation", request, str(self.tmp / "artifacts"), str(self.tmp / "data" / "outbox"))

    async def upload(self, ctx: ProviderContext | None = None, video_id: str = "vid-1") -> StageOutcome:
        return await prepare_upload(
            ctx or self.ctx(), self.stage_input(video_id), self.video, self.script, self.title_card
        )

    def outbox(self, video_id: str = "vid-1") -> Path:
        return self.tmp / "data" / "outbox" / video_id

    def state(self, video_id: str = "vid-1") -> dict[str, Any]:
        return json.loads((self.outbox(video_id) / STATE_FILE).read_text())

    def calls(self, outcome: str) -> float:
        return self.metrics.provider_calls.labels("youtube", outcome)._value.get()


@pytest.fixture
def fake() -> FakeYouTube:
    return FakeYouTube(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN)


@pytest.fixture
async def clean_quota(pg_pool: asyncpg.Pool) -> AsyncIterator[None]:
    """Each test starts with an unspent YouTube quota (the table is shared by the test session)."""
    await pg_pool.execute("DELETE FROM provider_quota WHERE service LIKE 'youtube%'")
    yield


@pytest.fixture
def rig(fake: FakeYouTube, tmp_path: Path, ledger: Ledger, clean_quota: None) -> Iterator[Rig]:
    video = tmp_path / "final.mp4"
    # An MP4 header and then bytes that differ everywhere, so a misplaced chunk cannot go unnoticed.
    payload = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + uuid.uuid4().bytes * (VIDEO_BYTES // 16)
    video.write_bytes(payload[:VIDEO_BYTES])
    title_card = tmp_path / "title.png"
    Image.new("RGB", (1080, 1920), (30, 90, 160)).save(title_card)
    script = Script(
        title="Octopuses have three hearts",
        hook="Here is something about octopuses.",
        segments=["One.", "Two."],
        call_to_action="Follow for more.",
        description="Why octopuses need three hearts.",
        tags=["octopus", "biology"],
    )
    with serve(fake.app) as base_url:
        yield Rig(fake, base_url, tmp_path, ledger, video, title_card, script, WorkerMetrics())


def today() -> Any:
    return quota_day(datetime.now(UTC))


async def test_upload_sends_every_byte_with_metadata_then_the_thumbnail_and_records_quota(rig: Rig) -> None:
    beats: list[dict[str, int]] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details[0])

    outcome = await env.run(rig.upload)

    fake = rig.fake
    assert fake.uploaded() == rig.video.read_bytes()
    assert len(fake.calls("insert")) == 1 and len(fake.calls("chunk")) == 6
    session = next(iter(fake.sessions.values()))
    assert session.metadata["snippet"]["title"] == rig.script.title
    assert session.metadata["snippet"]["tags"] == rig.script.tags
    assert session.metadata["status"]["privacyStatus"] == "private"
    assert "publishAt" not in session.metadata["status"]
    assert session.content_type == "video/mp4" and session.total == VIDEO_BYTES
    insert = fake.calls("insert")[0]
    assert insert.query["part"] == "snippet,status" and insert.query["uploadType"] == "resumable"
    # Every API request carries a token the fake's /token handed out; the refresh went to the file's token_uri.
    assert len(fake.calls("token")) == 1
    api_calls = [r for r in fake.requests if r.where != "token"]
    assert all(r.headers["authorization"] == f"Bearer {fake.access_tokens[0]}" for r in api_calls)

    youtube_id = outcome.details["youtube_video_id"]
    assert fake.thumbnails[str(youtube_id)] == (rig.outbox() / "thumbnail.jpg").read_bytes()
    assert outcome.details["provider"] == "youtube" and outcome.details["quota_units"] == 51
    assert outcome.cost.service == "youtube" and outcome.cost.operation == "videos.insert"
    assert outcome.cost.metadata["quota_units"] == {"videos.insert": 1, "thumbnails.set": 50}
    assert outcome.cost.metadata["upload_sessions"] == 1 and outcome.cost.metadata["resumed_from_bytes"] == 0
    assert outcome.cost.amount_usd < 0.01  # the API costs quota units, not dollars
    assert await rig.ledger.quota_used(INSERT.bucket, today()) == 1
    assert await rig.ledger.quota_used(THUMBNAIL.bucket, today()) == 50
    assert rig.calls("ok") == 2  # videos.insert and thumbnails.set

    sent = [beat["bytes_sent"] for beat in beats]
    assert sent == sorted(sent) and sent[-1] == VIDEO_BYTES and len(sent) == 6
    assert all(beat["total_bytes"] == VIDEO_BYTES for beat in beats)
    state = rig.state()
    assert state["youtube_video_id"] == youtube_id and state["thumbnail_set"] is True
    assert state["bytes_sent"] == VIDEO_BYTES
    assert Path(outcome.artifacts["youtube_upload"]) == rig.outbox() / STATE_FILE


async def test_a_503_mid_upload_resumes_the_same_session_from_the_servers_range(rig: Rig) -> None:
    fake = rig.fake
    # The third chunk fails after the server kept part of it: the next attempt must ask, not assume.
    kept = 2 * CHUNK + 1000
    fake.fail("chunk", 503, keep_until=kept)
    fake.fail("chunk", 503, keep_until=kept)  # googleapiclient must not retry by itself: this one is unused

    with pytest.raises(ApplicationError) as failed:
        await rig.upload()
    assert failed.value.type == "ProviderUnavailable" and not failed.value.non_retryable
    assert len(fake.calls("chunk")) == 3
    state = rig.state()
    assert state["session_uri"] and state["youtube_video_id"] is None
    assert rig.calls("ProviderUnavailable") == 1

    fake.faults.clear()
    before = len(fake.requests)
    outcome = await rig.upload()

    retried = fake.requests[before:]
    assert [r.where for r in retried][:2] == ["token", "status"]
    assert retried[1].headers["content-range"] == f"bytes */{VIDEO_BYTES}"
    first_chunk = next(r for r in retried if r.where == "chunk")
    assert first_chunk.headers["content-range"].startswith(f"bytes {kept}-")
    assert fake.uploaded() == rig.video.read_bytes()
    assert len(fake.calls("insert")) == 1 and len(fake.sessions) == 1
    assert outcome.cost.metadata["resumed_from_bytes"] == kept
    assert outcome.cost.metadata["upload_sessions"] == 1
    assert outcome.cost.metadata["quota_units"]["videos.insert"] == 1
    assert await rig.ledger.quota_used(INSERT.bucket, today()) == 1


async def test_a_retry_after_success_uploads_nothing(rig: Rig) -> None:
    first = await rig.upload()
    before = len(rig.fake.requests)

    again = await rig.upload()

    assert len(rig.fake.requests) == before  # not even an OAuth refresh
    assert again.details["youtube_video_id"] == first.details["youtube_video_id"]
    assert again.cost.metadata["quota_units"] == first.cost.metadata["quota_units"]
    assert await rig.ledger.quota_used(INSERT.bucket, today()) == 1


async def test_a_thumbnail_failure_after_the_upload_retries_only_the_thumbnail(rig: Rig) -> None:
    rig.fake.fail("thumbnail", 500)
    with pytest.raises(ApplicationError) as failed:
        await rig.upload()
    assert failed.value.type == "ProviderUnavailable"
    assert rig.state()["youtube_video_id"] and not rig.state()["thumbnail_set"]

    outcome = await rig.upload()

    assert len(rig.fake.calls("insert")) == 1 and len(rig.fake.calls("chunk")) == 6
    assert len(rig.fake.calls("thumbnail")) == 2
    assert outcome.cost.metadata["quota_units"] == {"videos.insert": 1, "thumbnails.set": 100}


async def test_an_expired_session_starts_a_new_upload(rig: Rig) -> None:
    rig.fake.fail("chunk", 503, keep_until=CHUNK)
    with pytest.raises(ApplicationError):
        await rig.upload()
    rig.fake.sessions.clear()  # a week later: YouTube answers 404 for the old session

    outcome = await rig.upload()

    assert rig.fake.uploaded() == rig.video.read_bytes()
    assert len(rig.fake.calls("insert")) == 2
    assert outcome.cost.metadata["upload_sessions"] == 2
    assert outcome.cost.metadata["quota_units"]["videos.insert"] == 2


async def test_the_quota_guard_refuses_before_any_request_and_says_when_it_resets(rig: Rig) -> None:
    assert await rig.ledger.reserve_quota(INSERT.bucket, today(), 2, limit=2)

    with pytest.raises(ApplicationError) as refused:
        await rig.upload(rig.ctx(rig.settings(youtube_daily_upload_limit=2)))

    err = refused.value
    assert err.type == "YouTubeQuotaExhausted" and err.non_retryable
    assert "midnight Pacific time" in str(err) and "YTEMPIRE_YOUTUBE_DAILY_UPLOAD_LIMIT" in str(err)
    assert quota_resets_at(datetime.now(UTC)).isoformat() in str(err)
    assert rig.fake.requests == []
    assert await rig.ledger.quota_used(INSERT.bucket, today()) == 2


async def test_the_thumbnail_units_are_guarded_too_and_the_upload_is_kept(rig: Rig) -> None:
    await rig.ledger.reserve_quota(THUMBNAIL.bucket, today(), 9_990, limit=10_000)
    with pytest.raises(ApplicationError) as refused:
        await rig.upload()
    assert refused.value.type == "YouTubeQuotaExhausted"
    assert "YTEMPIRE_YOUTUBE_DAILY_QUOTA_UNITS" in str(refused.value)
    assert rig.fake.calls("thumbnail") == [] and rig.state()["youtube_video_id"]

    await rig.upload(rig.ctx(rig.settings(youtube_daily_quota_units=20_000)))

    assert len(rig.fake.calls("insert")) == 1 and len(rig.fake.calls("thumbnail")) == 1
    assert await rig.ledger.quota_used(THUMBNAIL.bucket, today()) == 10_040


async def test_quota_reservations_never_overshoot_under_concurrency(rig: Rig) -> None:
    day = today() + timedelta(days=3650)  # a day no other test touches
    results = await asyncio.gather(*(rig.ledger.reserve_quota("youtube.test", day, 3, limit=20) for _ in range(30)))
    assert sum(results) == 6
    assert await rig.ledger.quota_used("youtube.test", day) == 18
    assert not await rig.ledger.reserve_quota("youtube.test", day + timedelta(days=1), 21, limit=20)


def test_the_quota_day_is_the_pacific_day() -> None:
    # 07:30 UTC on 1 March is still 28 February in California (PST, UTC-8).
    late = datetime(2027, 3, 1, 7, 30, tzinfo=UTC)
    assert str(quota_day(late)) == "2027-02-28"
    assert quota_resets_at(late) == datetime(2027, 3, 1, 0, 0, tzinfo=pacific())


async def test_youtube_quota_exceeded_is_a_quota_error_not_an_auth_error(rig: Rig) -> None:
    rig.fake.fail(
        "insert", 403, "quotaExceeded", message="The request cannot be completed because you have exceeded your quota."
    )
    with pytest.raises(ApplicationError) as refused:
        await rig.upload()
    assert refused.value.type == "YouTubeQuotaExhausted" and refused.value.non_retryable
    assert "quotaExceeded" in str(refused.value)


async def test_a_403_rate_limit_and_a_429_are_retried(rig: Rig) -> None:
    rig.fake.fail("insert", 403, "userRateLimitExceeded")
    with pytest.raises(ApplicationError) as limited:
        await rig.upload()
    assert limited.value.type == "ProviderRateLimited" and not limited.value.non_retryable

    rig.fake.fail("chunk", 429, headers={"Retry-After": "7"})
    with pytest.raises(ApplicationError) as limited:
        await rig.upload()
    assert limited.value.type == "ProviderRateLimited" and not limited.value.non_retryable
    assert limited.value.next_retry_delay == timedelta(seconds=7)

    await rig.upload()
    assert rig.fake.uploaded() == rig.video.read_bytes()


async def test_a_bad_request_is_final(rig: Rig) -> None:
    rig.fake.fail("insert", 400, "invalidCategoryId", message="The video snippet specifies an invalid category ID.")
    with pytest.raises(ApplicationError) as bad:
        await rig.upload()
    assert bad.value.type == "ProviderRequestInvalid" and bad.value.non_retryable
    assert "invalidCategoryId" in str(bad.value)


async def test_a_malformed_answer_is_rejected(rig: Rig) -> None:
    rig.fake.fail("thumbnail", 200, body={"kind": "youtube#thumbnailSetResponse"})
    with pytest.raises(ApplicationError) as bad:
        await rig.upload()
    assert bad.value.type == "ProviderResponseInvalid"
    assert not rig.state()["thumbnail_set"]


async def test_missing_or_unreadable_credentials_name_the_setting(rig: Rig) -> None:
    for credentials in (None, rig.tmp / "nope.json"):
        with pytest.raises(ApplicationError) as missing:
            await rig.upload(rig.ctx(rig.settings(youtube_credentials_file=credentials)))
        assert missing.value.type == "ProviderAuthFailed" and missing.value.non_retryable
        assert "YTEMPIRE_YOUTUBE_CREDENTIALS_FILE" in str(missing.value)
    broken = rig.tmp / "broken.json"
    broken.write_text(json.dumps({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}))
    with pytest.raises(ApplicationError) as unusable:
        await rig.upload(rig.ctx(rig.settings(youtube_credentials_file=broken)))
    assert "YTEMPIRE_YOUTUBE_CREDENTIALS_FILE" in str(unusable.value) and CLIENT_SECRET not in str(unusable.value)
    assert rig.fake.requests == []


async def test_a_revoked_refresh_token_is_final_and_names_the_setting(rig: Rig) -> None:
    rig.fake.fail("token", 400, "invalid_grant", message=f"Token has been expired or revoked: {REFRESH_TOKEN}")
    with pytest.raises(ApplicationError) as refused:
        await rig.upload()
    err = refused.value
    assert err.type == "ProviderAuthFailed" and err.non_retryable
    assert "invalid_grant" in str(err) and "YTEMPIRE_YOUTUBE_CREDENTIALS_FILE" in str(err)
    assert REFRESH_TOKEN not in str(err)


async def test_401_and_403_are_final_and_name_the_setting(rig: Rig) -> None:
    rig.fake.fail("insert", 401, times=3)  # googleapiclient refreshes the token twice, then gives up
    with pytest.raises(ApplicationError) as refused:
        await rig.upload()
    assert refused.value.type == "ProviderAuthFailed" and refused.value.non_retryable
    assert "YTEMPIRE_YOUTUBE_CREDENTIALS_FILE" in str(refused.value)
    assert len(rig.fake.calls("token")) == 3

    rig.fake.fail("insert", 403, "forbidden", message="The request is not properly authorized.")
    with pytest.raises(ApplicationError) as forbidden:
        await rig.upload()
    assert forbidden.value.type == "ProviderAuthFailed" and forbidden.value.non_retryable
    assert "YTEMPIRE_YOUTUBE_CREDENTIALS_FILE" in str(forbidden.value)


async def test_no_token_or_secret_reaches_errors_logs_or_the_state_file(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rig.fake.fail("chunk", 503, keep_until=CHUNK + 7)
    with pytest.raises(ApplicationError) as failed:
        await rig.upload()
    # A server error that echoes the request's access token and every other credential.
    rig.fake.fail(
        "status", 500, message=f"echo {{token}} {REFRESH_TOKEN} {CLIENT_SECRET} Authorization: Bearer {{token}}"
    )
    with pytest.raises(ApplicationError) as echoed:
        await rig.upload()
    outcome = await rig.upload()

    texts = [str(failed.value), str(echoed.value), caplog.text, (rig.outbox() / STATE_FILE).read_text()]
    texts.append(json.dumps(outcome.cost.metadata) + json.dumps(outcome.details))
    for secret in [REFRESH_TOKEN, CLIENT_SECRET, *rig.fake.access_tokens]:
        assert all(secret not in text for text in texts), secret
    assert "echo ***" in str(echoed.value)


async def test_a_scheduled_publish_time_makes_the_video_private_until_then(rig: Rig) -> None:
    settings = rig.settings(youtube_publish_delay_hours=24, youtube_privacy_status="public")
    outcome = await rig.upload(rig.ctx(settings))

    status = next(iter(rig.fake.sessions.values())).metadata["status"]
    assert status["privacyStatus"] == "private"
    publish_at = datetime.fromisoformat(status["publishAt"].replace("Z", "+00:00"))
    assert abs(publish_at - (datetime.now(UTC) + timedelta(hours=24))) < timedelta(minutes=1)
    assert outcome.cost.metadata["publish_at"] == status["publishAt"]
    # The outbox keeps the body as configured; the schedule is applied to what is sent.
    outbox_body = json.loads((rig.outbox() / "metadata.json").read_text())["youtube"]
    assert outbox_body["status"]["privacyStatus"] == "public"


async def test_the_quota_guard_needs_the_ledger(rig: Rig) -> None:
    with pytest.raises(ApplicationError) as refused:
        await rig.upload(rig.ctx(ledger=False))
    assert refused.value.type == "InvalidConfiguration" and rig.fake.requests == []


async def test_dry_run_stays_the_default(rig: Rig) -> None:
    outcome = await rig.upload(rig.ctx(rig.settings(upload_provider="local")))
    assert outcome.details["provider"] == "outbox" and rig.fake.requests == []
    assert not (rig.outbox() / STATE_FILE).exists()


def test_the_discovery_document_points_uploads_at_the_base_url() -> None:
    doc = discovery_document("http://127.0.0.1:9/")
    assert doc["rootUrl"] == "http://127.0.0.1:9/" and doc["servicePath"] == ""
    assert discovery_document(None)["rootUrl"] == "https://youtube.googleapis.com/"


def test_the_upload_session_file_is_the_owners_alone(tmp_path: Path) -> None:
    """It holds the resumable session URI, which lets its holder upload into the channel."""
    state = UploadState(video_sha256="abc", session_uri="https://upload.example/session?upload_id=secret")
    state.save(tmp_path / STATE_FILE)
    assert stat.S_IMODE((tmp_path / STATE_FILE).stat().st_mode) == 0o600
    assert UploadState.load(tmp_path / STATE_FILE, "abc").session_uri == state.session_uri
