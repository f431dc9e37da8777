"""Secure by default on one machine: the API keeps a live admin key in `<data_dir>/admin.key` (0600), made on first
start, so `make demo`, the `temporal-dev/` scripts and the person at the keyboard can call it; nobody else can."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from api.credentials import API_KEY_PREFIX, new_api_key, same_digest, split_secret
from core.principals import Role
from core.secret_files import write_owner_only
from ledger.principals import PrincipalStore

LOCAL_ADMIN_KEY_NAME = "local-admin"
# The person at this machine, make demo and the fault suite poll and submit at will; nobody else holds this key.
LOCAL_ADMIN_RATE_PER_MINUTE = 10_000
LOCAL_ADMIN_DAILY_SPEND_USD = 1_000_000.0  # the machine's owner; channels keep their own daily limit
API_KEY_HEADER = "X-API-Key"

log = logging.getLogger(__name__)


def read_key_file(path: Path) -> str | None:
    """The key a key file holds, or None when there is none."""
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return value or None


async def ensure_local_admin_key(store: PrincipalStore, path: Path) -> bool:
    """Make sure `path` holds a live admin key; True when a new one was made. Its value is never logged."""
    if (held := read_key_file(path)) is not None and await _live(store, held):
        return False
    key = new_api_key()
    await store.create_key(
        key.id,
        LOCAL_ADMIN_KEY_NAME,
        key.sha256,
        Role.ADMIN,
        rate_per_minute=LOCAL_ADMIN_RATE_PER_MINUTE,
        daily_spend_limit_usd=LOCAL_ADMIN_DAILY_SPEND_USD,
    )
    write_owner_only(path, (key.value + "\n").encode())
    log.info("made a local admin API key (%s): its file is %s", key.id, path.resolve())
    return True


async def _live(store: PrincipalStore, value: str) -> bool:
    parsed = split_secret(value, API_KEY_PREFIX)
    if parsed is None:
        return False
    row = await store.key_by_id(parsed[0])
    return row is not None and same_digest(row.secret_sha256, parsed[1]) and row.live_at(datetime.now(UTC))


def client_headers(key_file: Path, env_key: SecretStr | None = None) -> dict[str, str]:
    """What a local client (make demo, the fault suite, benchmarks, scripts) sends: the YTEMPIRE_API_KEY it was
    given, else the local admin key."""
    if env_key is not None:
        return {API_KEY_HEADER: env_key.get_secret_value()}
    key = read_key_file(key_file)
    return {} if key is None else {API_KEY_HEADER: key}
