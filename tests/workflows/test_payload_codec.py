"""Payloads and failure text leave a client sealed, and come back whole under any key of the ring."""

from __future__ import annotations

from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from core.domain import VideoRequest
from core.encryption import KeyRing
from workflows.payload_codec import ENCODING, KEY_ID_KEY, EncryptionCodec, encrypting_converter

TOPIC = "octopus hearts beat three times"


async def test_a_payload_is_sealed_with_its_key_id_and_opens_after_rotation() -> None:
    ring = KeyRing.generate()
    converter = encrypting_converter(ring)
    request = VideoRequest(video_id="v1", topic=TOPIC, channel_id="c1", user_id="u1")
    [payload] = await converter.encode([request])
    assert payload.metadata["encoding"] == ENCODING
    assert payload.metadata[KEY_ID_KEY] == ring.active_id.encode()
    assert TOPIC.encode() not in payload.SerializeToString()
    [back] = await encrypting_converter(ring.rotated()).decode([payload], [VideoRequest])
    assert back == request


async def test_payloads_written_before_encryption_pass_through() -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"hello"')
    assert await EncryptionCodec(KeyRing.generate()).decode([plain]) == [plain]


async def test_a_failure_message_and_stack_are_sealed() -> None:
    converter = encrypting_converter(KeyRing.generate())
    failure = Failure()
    error = ApplicationError(f"render failed for {TOPIC}", type="RenderFailed")
    await converter.encode_failure(error, failure)
    assert TOPIC.encode() not in failure.SerializeToString()
    assert failure.message == "Encoded failure"
    decoded = await converter.decode_failure(failure)
    assert isinstance(decoded, ApplicationError) and TOPIC in decoded.message and decoded.type == "RenderFailed"
