"""The key ring: AES-256-GCM under the first key, every key opening, rings read from text and made in files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from core.encryption import KeyRing, KeyRingError, key_file_ring
from core.settings import Settings


def test_a_rotated_ring_still_opens_what_the_old_key_sealed() -> None:
    old = KeyRing.generate()
    sealed = old.seal_text("https://n8n.example/webhook-waiting/42?signature=abc", "videos.callback_url")
    rotated = old.rotated()
    assert rotated.active_id != old.active_id and rotated.ids[1] == old.active_id
    assert rotated.open_text(sealed, "videos.callback_url").endswith("signature=abc")
    assert rotated.sealed_with(rotated.seal_text("x", "c")) == rotated.active_id
    retired = rotated.without(old.active_id)
    with pytest.raises(KeyRingError, match="not in the ring"):
        retired.open_text(sealed, "videos.callback_url")


def test_a_ciphertext_opens_only_in_its_own_context_and_unaltered() -> None:
    ring = KeyRing.generate()
    key_id, sealed = ring.seal(b"octopus hearts", b"temporal-payload")
    assert b"octopus" not in sealed
    with pytest.raises(KeyRingError, match="altered or belongs elsewhere"):
        ring.open(key_id, sealed, b"videos.callback_url")
    flipped = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(KeyRingError, match="altered"):
        ring.open(key_id, flipped, b"temporal-payload")
    assert ring.open(key_id, sealed, b"temporal-payload") == b"octopus hearts"


def test_text_stored_before_encryption_reads_as_it_is() -> None:
    assert KeyRing.generate().open_text("http://127.0.0.1:5678/webhook/x", "c") == "http://127.0.0.1:5678/webhook/x"


def test_a_ring_reads_from_commas_or_lines_and_refuses_what_is_not_a_key() -> None:
    ring = KeyRing.generate().rotated()
    assert KeyRing.parse(ring.serialized()) == ring
    assert KeyRing.parse(ring.serialized().replace("\n", ", ")) == ring
    for bad in ["", "k1", "k1=c2hvcnQ=", "bad id=" + "A" * 44, f"k1={'A' * 40}=="]:
        with pytest.raises(KeyRingError):
            KeyRing.parse(bad)
    twice = ring.serialized().splitlines()[0]
    with pytest.raises(KeyRingError, match="twice"):
        KeyRing.parse(f"{twice},{twice}")
    with pytest.raises(KeyRingError, match="rotate first"):
        ring.without(ring.active_id)


def test_the_key_file_is_made_once_owner_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", encryption_keys=None)
    first = settings.key_ring
    path = tmp_path / "data" / "secrets" / "encryption.keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert key_file_ring(path) == first == Settings(data_dir=tmp_path / "data", encryption_keys=None).key_ring


def test_keys_in_the_environment_win_over_the_file(tmp_path: Path) -> None:
    ring = KeyRing.generate()
    settings = Settings(data_dir=tmp_path / "data", encryption_keys=ring.serialized())
    assert settings.key_ring == ring
    assert not (tmp_path / "data" / "secrets").exists()
