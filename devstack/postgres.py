"""A private PostgreSQL cluster for the embedded stack and the tests, run as a non-root user; who may reach it, as
what, is `devstack/postgres_access.py`'s."""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from core.database_login import DatabaseLogin
from devstack.postgres_access import (
    APP_ROLE,
    OWNER_ROLE,
    SUPERUSER,
    access_rules,
    ensure_database,
    ensure_roles,
    retire_legacy_superuser,
    role_password,
    trusting,
)

DB_NAME = "ytempire"
RUN_AS_WHEN_ROOT = ("postgres", "ytempire")


class PostgresSetupError(RuntimeError):
    pass


def find_bin_dir() -> Path:
    """Newest system PostgreSQL (Debian: /usr/lib/postgresql/<v>/bin), or YTEMPIRE_PG_BIN."""
    if env := os.environ.get("YTEMPIRE_PG_BIN"):
        return Path(env)
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name),
        reverse=True,
    )
    if candidates:
        return Path(candidates[0]).parent
    if which := shutil.which("initdb"):
        return Path(which).resolve().parent
    raise PostgresSetupError(
        "PostgreSQL server binaries not found: run `make setup` (installs the Debian package `postgresql`) "
        "or set YTEMPIRE_PG_BIN to the folder holding initdb and pg_ctl"
    )


def _service_user() -> pwd.struct_passwd | None:
    """PostgreSQL refuses to run as root: pick (or create) a system user when we are root."""
    if os.geteuid() != 0:
        return None
    for name in RUN_AS_WHEN_ROOT:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "ytempire"], check=True)
    return pwd.getpwnam("ytempire")


def _reachable_by(user: pwd.struct_passwd, path: Path) -> bool:
    probe = subprocess.run(["test", "-w", str(path), "-a", "-x", str(path)], user=user.pw_uid, group=user.pw_gid)
    return probe.returncode == 0


@dataclass
class PostgresServer:
    data_dir: Path
    port: int
    secrets_dir: Path  # the roles' passwords, owner-only: `<data_dir>/secrets` of the settings that connect
    fast_unsafe: bool = False  # fsync off: for throw-away test clusters only

    def __post_init__(self) -> None:
        self.bin_dir = find_bin_dir()
        self.user = _service_user()
        self.data_dir = self._usable_data_dir(self.data_dir.resolve())

    @property
    def dsn(self) -> str:
        """The app role's URL, without its password (YTEMPIRE_DATABASE_URL)."""
        return self._url(APP_ROLE, DB_NAME)

    @property
    def owner_dsn(self) -> str:
        """The owner role's URL, without its password (YTEMPIRE_DATABASE_OWNER_URL)."""
        return self._url(OWNER_ROLE, DB_NAME)

    def app_login(self, database: str = DB_NAME) -> DatabaseLogin:
        return DatabaseLogin(self._url(APP_ROLE, database), role_password(self.secrets_dir, APP_ROLE))

    def owner_login(self, database: str = DB_NAME) -> DatabaseLogin:
        return DatabaseLogin(self._url(OWNER_ROLE, database), role_password(self.secrets_dir, OWNER_ROLE))

    def _url(self, role: str, database: str) -> str:
        return f"postgresql://{role}@127.0.0.1:{self.port}/{database}"

    @property
    def _os_user(self) -> str:
        return (self.user or pwd.getpwuid(os.geteuid())).pw_name

    def _usable_data_dir(self, wanted: Path) -> Path:
        """As root, the service user must reach the folder; a repo under /root is not, so fall back to /var/tmp."""
        wanted.parent.mkdir(parents=True, exist_ok=True)
        if self.user is None:
            return wanted
        wanted.mkdir(exist_ok=True)
        os.chown(wanted, self.user.pw_uid, self.user.pw_gid)
        if _reachable_by(self.user, wanted):
            return wanted
        digest = hashlib.sha1(str(wanted).encode()).hexdigest()[:10]
        fallback = Path("/var/tmp") / f"ytempire-pg-{digest}"
        fallback.mkdir(mode=0o700, exist_ok=True)
        os.chown(fallback, self.user.pw_uid, self.user.pw_gid)
        return fallback

    def _run(self, *argv: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        return subprocess.run(  # type: ignore[call-overload,no-any-return]
            list(argv), check=check, capture_output=True, text=True, cwd="/", input=stdin, **kwargs
        )

    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        if self.initialised:
            return
        result = self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth-local=peer",
            "--auth-host=reject",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            check=False,
        )
        if result.returncode != 0:
            raise PostgresSetupError(f"initdb failed: {result.stderr.strip()[-2000:]}")
        self._write_access_rules()

    def running(self) -> bool:
        return self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "status", check=False).returncode == 0

    def start(self) -> list[str]:
        """Start the cluster (made on first use) with its access rules, roles and database in place, upgrading a
        cluster made before roles; what that changed (nothing, once all is in place)."""
        self.init()
        if not self.running():
            self._launch()
        changes: list[str] = []
        if trusting((self.data_dir / "pg_hba.conf").read_text()):
            changes += retire_legacy_superuser(self)
        if self._write_access_rules():
            self.stop()  # a restart, not a reload: the next connection must meet the new rules, not maybe the old
            self._launch()
            changes.append("access rules: a SCRAM password for every role, trust for none")
        changes += ensure_roles(self)
        changes += self.ensure_database(DB_NAME)
        return changes

    def ensure_database(self, name: str) -> list[str]:
        """Database `name`, owned with everything in it by the owner role; what that changed."""
        return ensure_database(self, name)

    def _launch(self) -> None:
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if self.fast_unsafe:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        result = self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.data_dir / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
            check=False,
        )
        if result.returncode != 0:
            log_tail = ""
            log_file = self.data_dir / "server.log"
            if log_file.exists():
                log_tail = log_file.read_text()[-2000:]
            raise PostgresSetupError(f"PostgreSQL did not start: {result.stderr.strip()} {log_tail}")

    def _write_access_rules(self) -> bool:
        """pg_hba.conf and pg_ident.conf as they should be; whether they were not."""
        changed = False
        for name, text in access_rules(self._os_user).items():
            path = self.data_dir / name
            if path.read_text() != text:
                path.write_text(text)  # an existing file: its owner (the service user) and mode stay
                changed = True
        return changed

    def sql(self, script: str, *, role: str = SUPERUSER, database: str = "postgres") -> str:
        """Run `script` through psql as `role` on the socket (the superuser's only way in); its output, unaligned."""
        result = self._run(*self._psql(role, database), "-v", "ON_ERROR_STOP=1", "-f", "-", stdin=script, check=False)
        if result.returncode != 0:
            raise PostgresSetupError(f"psql as {role} on {database} failed: {result.stderr.strip()[-2000:]}")
        return result.stdout.strip()

    def logs_in(self, role: str) -> bool:
        """Whether `role` gets in through the socket (without a password: by peer or trust)."""
        return self._run(*self._psql(role, "postgres"), "-c", "SELECT 1", check=False).returncode == 0

    def _psql(self, role: str, database: str) -> list[str]:
        host = ["-h", str(self.data_dir), "-p", str(self.port)]
        return [str(self.bin_dir / "psql"), "-X", "-q", "-A", "-t", "-w", *host, "-U", role, "-d", database]

    def stop(self) -> None:
        if self.initialised and self.running():
            self._run(
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-m",
                "fast",
                "-w",
                "stop",
                check=False,
            )
