"""Owner-only secret files (0600 in a 0700 folder), made once and written atomically: keys, passwords."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def secret_file(path: Path, make: bytes | None = None) -> bytes:
    """The bytes of a secret file, created owner-only (0600, its folder 0700) with `make` (or 32 random bytes) when
    absent. Processes starting together agree on one value."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = make if make is not None else secrets.token_bytes(32)
    tmp = _owner_only_copy(path, value)
    try:
        os.link(tmp, path)  # atomic and exclusive: a reader never sees it half-written
    except FileExistsError:
        return path.read_bytes()
    finally:
        tmp.unlink(missing_ok=True)
    return value


def write_owner_only(path: Path, value: bytes) -> None:
    """Replace `path` with `value`, owner-only (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _owner_only_copy(path, value).replace(path)


def _owner_only_copy(path: Path, value: bytes) -> Path:
    """`value` written and synced to a new 0600 file beside `path`; its path."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        out.write(value)
        out.flush()
        os.fsync(out.fileno())
    return tmp
