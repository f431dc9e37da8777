"""A video's callback URL (a credential: an n8n resume URL resumes that execution) is stored sealed, read back in
clear, and moves to a new key when the ring rotates; rows from before encryption are read and then sealed."""

from __future__ import annotations

import json
import uuid

from core.domain import VideoRequest
from ledger import Ledger
from tests.admission import admit

CALLBACK = "http://127.0.0.1:5678/webhook-waiting/4242?signature=resume-secret"


async def stored_callback(ledger: Ledger, video_id: str) -> str:
    raw = await ledger.pool.fetchval("SELECT request_data FROM video_queue WHERE id = $1", video_id)
    return str(json.loads(raw)["callback_url"])


async def admitted(ledger: Ledger) -> VideoRequest:
    request = VideoRequest(
        video_id=str(uuid.uuid4()), topic="sealed", channel_id=str(uuid.uuid4()), user_id=str(uuid.uuid4())
    )
    await admit(ledger, request, {"topic": "sealed", "callback_url": CALLBACK})
    return request


async def test_the_callback_url_is_sealed_at_rest(own_ledger: Ledger) -> None:
    request = await admitted(own_ledger)
    stored = await stored_callback(own_ledger, request.video_id)
    assert stored.startswith(f"enc:v1:{own_ledger.key_ring.active_id}:")
    assert "resume-secret" not in stored and "webhook-waiting" not in stored
    row = await own_ledger.get_video(request.video_id)
    assert row is not None and row.request_data["callback_url"] == CALLBACK


async def test_a_rotation_reseals_and_then_the_old_key_can_retire(own_ledger: Ledger) -> None:
    request = await admitted(own_ledger)
    old_id = own_ledger.key_ring.active_id
    rotated = Ledger(own_ledger.pool, own_ledger.key_ring.rotated())
    row = await rotated.get_video(request.video_id)
    assert row is not None and row.request_data["callback_url"] == CALLBACK  # the old key still opens it
    assert await rotated.reseal_request_secrets() >= 1
    assert (await stored_callback(rotated, request.video_id)).startswith(f"enc:v1:{rotated.key_ring.active_id}:")
    assert await rotated.reseal_request_secrets() == 0
    retired = Ledger(own_ledger.pool, rotated.key_ring.without(old_id))
    row = await retired.get_video(request.video_id)
    assert row is not None and row.request_data["callback_url"] == CALLBACK


async def test_rows_from_before_encryption_read_and_are_sealed_once(own_ledger: Ledger) -> None:
    request = await admitted(own_ledger)
    await own_ledger.pool.execute(
        "UPDATE video_queue SET request_data = jsonb_set(request_data, '{callback_url}', to_jsonb($2::text)) "
        "WHERE id = $1",
        request.video_id,
        CALLBACK,
    )
    row = await own_ledger.get_video(request.video_id)
    assert row is not None and row.request_data["callback_url"] == CALLBACK
    assert await own_ledger.reseal_request_secrets() == 1
    assert (await stored_callback(own_ledger, request.video_id)).startswith("enc:v1:")
    row = await own_ledger.get_video(request.video_id)
    assert row is not None and row.request_data["callback_url"] == CALLBACK
