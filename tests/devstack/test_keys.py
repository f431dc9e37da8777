"""`python -m devstack.keys`: list, rotate and retire the key file's keys without ever printing one."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from core.encryption import KEY_FILE_NAME, key_file_ring


def keys(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "YTEMPIRE_ENCRYPTION_KEYS"}  # the file's ring, not the tests'
    env["YTEMPIRE_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "devstack.keys", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_rotate_then_retire_through_the_cli(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    path = data_dir / "secrets" / KEY_FILE_NAME
    listed = keys(data_dir, "list")
    assert listed.returncode == 0, listed.stderr
    first = key_file_ring(path)
    assert listed.stdout.split() == [first.active_id, "encrypts", "and", "decrypts"]

    rotated = keys(data_dir, "rotate")
    assert rotated.returncode == 0, rotated.stderr
    ring = key_file_ring(path)
    assert ring.ids[1:] == [first.active_id] and ring.active_id in rotated.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secrets_printed = [key for _, key in ring.keys if key.hex() in rotated.stdout]
    assert "=" not in rotated.stdout.split("reseal")[0] and not secrets_printed

    refused = keys(data_dir, "retire", ring.active_id)
    assert refused.returncode == 2 and "rotate first" in refused.stderr
    retired = keys(data_dir, "retire", first.active_id)
    assert retired.returncode == 0, retired.stderr
    assert key_file_ring(path).ids == [ring.active_id]


def test_with_the_ring_in_the_environment_rotate_prints_the_new_ring_and_writes_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "YTEMPIRE_DATA_DIR": str(tmp_path / "data")}
    rotated = subprocess.run(
        [sys.executable, "-m", "devstack.keys", "rotate"], env=env, capture_output=True, text=True, timeout=60
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "YTEMPIRE_ENCRYPTION_KEYS is set" in rotated.stdout and "test-key-1=" in rotated.stdout
    assert not (tmp_path / "data" / "secrets").exists()
