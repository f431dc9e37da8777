"""How a process logs in to PostgreSQL: a URL without its password, and the password kept apart from it (in a setting
or an owner-only file), so that it shows up in no process list or log line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class DatabaseLogin:
    dsn: str
    password: str | None = field(default=None, repr=False)  # None: the DSN's own, else PGPASSWORD or ~/.pgpass


def password_file(secrets_dir: Path, role: str) -> Path:
    """Where a role's password is kept: the embedded cluster writes its roles' here, an operator may too."""
    return secrets_dir / f"postgres-{role}.password"


def database_login(dsn: str, password: str | None, secrets_dir: Path) -> DatabaseLogin:
    """`dsn` with `password`; without one, the DSN's own, else its user's file under `secrets_dir` when there is one."""
    if password is not None:
        return DatabaseLogin(dsn, password)
    url = urlsplit(dsn)
    if url.password is None and url.username:
        try:
            return DatabaseLogin(dsn, password_file(secrets_dir, url.username).read_text().strip())
        except FileNotFoundError:
            pass
    return DatabaseLogin(dsn)
