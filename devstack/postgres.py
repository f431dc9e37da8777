"""A private PostgreSQL cluster for the embedded stack and the tests, run as a non-root user."""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

DB_NAME = "ytempire"
DB_USER = "ytempire"
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
    fast_unsafe: bool = False  # fsync off: for throw-away test clusters only

    def __post_init__(self) -> None:
        self.bin_dir = find_bin_dir()
        self.user = _service_user()
        self.data_dir = self._usable_data_dir(self.data_dir.resolve())

    @property
    def dsn(self) -> str:
        return f"postgresql://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"

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

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        return subprocess.run(  # type: ignore[call-overload,no-any-return]
            list(argv), check=check, capture_output=True, text=True, cwd="/", **kwargs
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
            DB_USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            check=False,
        )
        if result.returncode != 0:
            raise PostgresSetupError(f"initdb failed: {result.stderr.strip()[-2000:]}")

    def running(self) -> bool:
        return self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "status", check=False).returncode == 0

    def start(self) -> None:
        self.init()
        if self.running():
            return
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
        self._ensure_database()

    def _ensure_database(self) -> None:
        psql = [
            str(self.bin_dir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            DB_USER,
            "-d",
            "postgres",
        ]
        exists = self._run(*psql, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'")
        if exists.stdout.strip() != "1":
            self._run(*psql, "-c", f"CREATE DATABASE {DB_NAME}")

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
