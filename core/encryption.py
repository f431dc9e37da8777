"""The keys that encrypt what others store for us (Temporal payloads, secrets in PostgreSQL): AES-256-GCM, a key id
beside every ciphertext, the first key of the ring encrypting and every key decrypting, so a key rotates without
downtime (add a new first key, retire the old one when nothing it sealed is kept any more).

A ring is written `id=<base64 of 32 bytes>` per entry, entries separated by commas or new lines, the encrypting key
first: in `YTEMPIRE_ENCRYPTION_KEYS`, or the file `<data_dir>/secrets/encryption.keys` made on first start.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.secret_files import secret_file, write_owner_only

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
KEY_FILE_NAME = "encryption.keys"
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
_SEALED_TEXT_PREFIX = "enc:v1:"


class KeyRingError(ValueError):
    """A ring that cannot be read, or a ciphertext no key of the ring opens."""


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[tuple[str, bytes], ...]  # (id, key); the first encrypts

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyRingError("an encryption key ring needs at least one key")
        ids = [key_id for key_id, _ in self.keys]
        if len(set(ids)) != len(ids):
            raise KeyRingError(f"an encryption key ring names a key id twice: {ids}")

    @property
    def active_id(self) -> str:
        return self.keys[0][0]

    @property
    def ids(self) -> list[str]:
        return [key_id for key_id, _ in self.keys]

    def seal(self, plaintext: bytes, context: bytes) -> tuple[str, bytes]:
        """(key id, nonce + ciphertext + tag) of `plaintext`, bound to `context` (what it is, so a ciphertext moved
        to another place does not open there)."""
        key_id, key = self.keys[0]
        nonce = secrets.token_bytes(NONCE_BYTES)
        return key_id, nonce + AESGCM(key).encrypt(nonce, plaintext, context)

    def open(self, key_id: str, sealed: bytes, context: bytes) -> bytes:
        key = dict(self.keys).get(key_id)
        if key is None:
            raise KeyRingError(
                f"encrypted with key {key_id!r}, which is not in the ring ({', '.join(self.ids)}): restore it from "
                "the backup of the keys"
            )
        try:
            return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
        except InvalidTag:
            raise KeyRingError(f"a ciphertext under key {key_id!r} was altered or belongs elsewhere") from None

    def seal_text(self, text: str, context: str) -> str:
        """`text` encrypted as text that a text column stores: `enc:v1:<key id>:<base64>`."""
        key_id, sealed = self.seal(text.encode(), context.encode())
        return f"{_SEALED_TEXT_PREFIX}{key_id}:{base64.b64encode(sealed).decode()}"

    def open_text(self, stored: str, context: str) -> str:
        """What seal_text sealed; text stored before encryption (no prefix) is returned as it is."""
        if not stored.startswith(_SEALED_TEXT_PREFIX):
            return stored
        key_id, _, encoded = stored[len(_SEALED_TEXT_PREFIX) :].partition(":")
        return self.open(key_id, base64.b64decode(encoded), context.encode()).decode()

    def sealed_with(self, stored: str) -> str | None:
        """The key id a seal_text value was sealed with (None for plain text)."""
        if not stored.startswith(_SEALED_TEXT_PREFIX):
            return None
        return stored[len(_SEALED_TEXT_PREFIX) :].partition(":")[0]

    def rotated(self, now: datetime | None = None) -> KeyRing:
        """This ring with a new encrypting key first; the old keys still decrypt."""
        return KeyRing(((new_key_id(now), secrets.token_bytes(KEY_BYTES)), *self.keys))

    def without(self, key_id: str) -> KeyRing:
        """This ring with `key_id` retired (never the encrypting key)."""
        if key_id == self.active_id:
            raise KeyRingError(f"{key_id!r} encrypts: rotate first, then retire it")
        if key_id not in self.ids:
            raise KeyRingError(f"no key {key_id!r} in the ring ({', '.join(self.ids)})")
        return KeyRing(tuple(entry for entry in self.keys if entry[0] != key_id))

    def serialized(self) -> str:
        return "".join(f"{key_id}={base64.b64encode(key).decode()}\n" for key_id, key in self.keys)

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        entries = [entry.strip() for entry in re.split(r"[,\n]", text) if entry.strip()]
        keys = []
        for number, entry in enumerate(entries, 1):
            key_id, equals, encoded = entry.partition("=")
            try:
                key = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                key = b""
            if not equals or not _KEY_ID.match(key_id) or len(key) != KEY_BYTES:
                raise KeyRingError(
                    f"encryption key entry {number} is not `id=<base64 of {KEY_BYTES} bytes>` (an id of letters, "
                    "digits, '.', '_' or '-')"
                )
            keys.append((key_id, key))
        return cls(tuple(keys))

    @classmethod
    def generate(cls, now: datetime | None = None) -> KeyRing:
        return cls(((new_key_id(now), secrets.token_bytes(KEY_BYTES)),))


def new_key_id(now: datetime | None = None) -> str:
    """`k<yyyymmdd>-<random>`: when a key was made shows in every ciphertext's key id."""
    return f"k{(now or datetime.now(UTC)):%Y%m%d}-{secrets.token_hex(3)}"


def key_file_ring(path: Path) -> KeyRing:
    """The ring in `path`, made (one new key, owner-only) when the file is absent."""
    return KeyRing.parse(secret_file(path, KeyRing.generate().serialized().encode()).decode())


def save_ring(path: Path, ring: KeyRing) -> None:
    write_owner_only(path, ring.serialized().encode())
