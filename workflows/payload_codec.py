"""What Temporal stores of ours is encrypted: every payload (inputs, results, memo, summaries, heartbeat details) and
every failure's message and stack trace, AES-256-GCM under the settings' key ring. Search attributes are not payloads
and stay readable to the server's visibility store: they carry ids, states and numbers, never a topic or a URL."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

from core.encryption import KeyRing

ENCODING = b"binary/encrypted"
KEY_ID_KEY = "encryption-key-id"
_CONTEXT = b"temporal-payload"


class EncryptionCodec(PayloadCodec):
    """Seals each payload whole (its metadata too); opens what it sealed and passes other payloads through, so
    histories written before encryption still read."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._seal(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._open(payload) for payload in payloads]

    def _seal(self, payload: Payload) -> Payload:
        key_id, sealed = self.ring.seal(payload.SerializeToString(), _CONTEXT)
        return Payload(metadata={"encoding": ENCODING, KEY_ID_KEY: key_id.encode()}, data=sealed)

    def _open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata[KEY_ID_KEY].decode()
        return Payload.FromString(self.ring.open(key_id, payload.data, _CONTEXT))


def encrypting_converter(ring: KeyRing) -> DataConverter:
    """The data converter of every client and worker: default JSON payloads, sealed, failures' text sealed too."""
    return DataConverter(
        payload_codec=EncryptionCodec(ring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
