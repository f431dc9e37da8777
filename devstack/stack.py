"""The embedded stack: Temporal dev server, PostgreSQL, workers and API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

from api.dev_certificate import ensure_dev_certificate
from api.https import api_url, client_verify
from api.local_admin import client_headers
from core import search_attributes
from core.settings import Settings
from devstack.postgres import PostgresServer
from devstack.processes import ManagedProcess
from devstack.temporal_server import dev_server_argv

REPO = Path(__file__).resolve().parent.parent


class StackError(RuntimeError):
    pass


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data_dir = (
            (REPO / settings.data_dir).resolve() if not settings.data_dir.is_absolute() else settings.data_dir
        )
        self.run_dir = self.data_dir / "run"
        self.log_dir = self.data_dir / "logs"
        db = urlparse(settings.database_url)
        self.postgres = PostgresServer(self.data_dir / "postgres", db.port or 5432, self.data_dir / "secrets")
        host, _, port = settings.temporal_address.rpartition(":")
        self.temporal_port = int(port)
        ui_port = urlparse(settings.temporal_ui_url).port or 8233
        self.processes = [
            ManagedProcess(
                "temporal",
                dev_server_argv(
                    db_file=self.data_dir / "temporal.db",
                    port=self.temporal_port,
                    ui_port=ui_port,
                    codec_endpoint=f"{self.api_url}/codec",
                )
                + ["--http-port", str(self.temporal_port + 10), "--metrics-port", str(self.temporal_port + 11)],
                self.run_dir,
                self.log_dir,
            ),
            ManagedProcess(
                "workers", [sys.executable, "-m", "workers", "--queues", "pipeline,cpu,gpu"], self.run_dir, self.log_dir
            ),
            ManagedProcess("api", [sys.executable, "-m", "api"], self.run_dir, self.log_dir),
        ]

    @property
    def api_url(self) -> str:
        return api_url(self.settings)

    @property
    def api_verify(self) -> ssl.SSLContext | bool:
        """What the stack's own calls to the API verify it with: the certificate it serves (https), if any."""
        return client_verify(self.settings, self.data_dir / "secrets")

    @property
    def api_headers(self) -> dict[str, str]:
        """The local admin key the API keeps under the data dir (or YTEMPIRE_API_KEY), for the stack's own calls."""
        return client_headers(self.data_dir / "admin.key", self.settings.api_key)

    def child_env(self) -> dict[str, str]:
        # The embedded cluster's passwords are its files under <data_dir>/secrets, never an external database's.
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("YTEMPIRE_DATABASE_PASSWORD", "YTEMPIRE_DATABASE_OWNER_PASSWORD")
        }
        env.update(
            YTEMPIRE_DATA_DIR=str(self.data_dir),
            YTEMPIRE_DATABASE_URL=self.postgres.dsn,
            YTEMPIRE_DATABASE_OWNER_URL=self.postgres.owner_dsn,
            YTEMPIRE_TEMPORAL_ADDRESS=self.settings.temporal_address,
            PYTHONUNBUFFERED="1",
        )
        if not self.settings.outbound_allowed:
            # `make n8n`'s Wait nodes resume on 127.0.0.1: the one local destination callbacks may reach by default.
            n8n = f"127.0.0.1:{os.environ.get('YTEMPIRE_N8N_PORT', '5678')}"
            env["YTEMPIRE_OUTBOUND_ALLOWED"] = json.dumps([n8n])
        return env

    def up(self, say: callable = print) -> None:  # type: ignore[valid-type]
        """Start whatever is not running yet and wait until every part is healthy."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        say(f"postgres   starting on 127.0.0.1:{self.postgres.port} (data {self.postgres.data_dir})")
        for change in self.postgres.start():
            say(f"postgres   {change}")
        temporal, workers, api = self.processes
        temporal.start(self.child_env(), REPO)
        say(f"temporal   dev server on {self.settings.temporal_address}, UI {self.settings.temporal_ui_url}")
        _wait_for_port("127.0.0.1", self.temporal_port, 30, temporal)
        asyncio.run(wait_for_temporal(self.settings.temporal_address, self.settings.temporal_namespace, 30))
        workers.start(self.child_env(), REPO)
        if self.settings.api_tls == "dev":
            cert = ensure_dev_certificate(self.data_dir / "secrets").cert
            say(f"https      the API's development certificate: {cert} (curl --cacert it)")
        api.start(self.child_env(), REPO)
        limits = f"cpu (max {self.settings.cpu_max_concurrent}), gpu (max {self.settings.gpu_max_concurrent})"
        say(f"workers    pipeline, {limits}; logs in {self.log_dir}")
        say(f"api        {self.api_url} (OpenAPI docs at {self.api_url}/docs)")
        _wait_for_http(f"{self.api_url}/healthz", 60, api, self.api_verify)
        if not workers.alive():
            raise StackError(f"workers exited at start; see {workers.log_file}")
        say(f"api key    {(self.data_dir / 'admin.key').resolve()} (admin: send it as X-API-Key; keep it private)")
        keys = (
            "YTEMPIRE_ENCRYPTION_KEYS"
            if self.settings.encryption_keys is not None
            else f"{self.settings.secrets_dir.resolve()}/encryption.keys: back it up"
        )
        say(
            f"payloads   sealed in Temporal (AES-256-GCM, keys in {keys}): sign in at "
            f"{self.api_url}/auth/sign-in, then tick 'Include cross-origin credentials' in the Temporal UI's codec "
            "settings to read them there"
        )
        say("stack is up")

    def down(self, say: callable = print) -> None:  # type: ignore[valid-type]
        for proc in reversed(self.processes):
            if proc.name == "workers" and proc.alive():
                grace = self.settings.worker_shutdown_grace_seconds
                say(f"workers    finishing their in-flight stages (up to {grace:g} s)")
                proc.stop(timeout=grace + 10)  # the workers' own grace, then a margin to exit
            else:
                proc.stop()
        self.postgres.stop()
        say("stack is down")

    def status(self) -> dict[str, bool]:
        state = {proc.name: proc.alive() for proc in self.processes}
        state["postgres"] = self.postgres.initialised and self.postgres.running()
        return state


def _wait_for_port(host: str, port: int, timeout: float, proc: ManagedProcess) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                return
        if not proc.alive():
            raise StackError(f"{proc.name} exited at start; see {proc.log_file}")
        time.sleep(0.2)
    raise StackError(f"{proc.name} did not open {host}:{port} in {timeout:.0f} s; see {proc.log_file}")


async def wait_for_temporal(address: str, namespace: str, timeout: float) -> None:
    """Wait until the dev server answers, then make sure our search attributes exist (older data/temporal.db)."""
    from temporalio.client import Client

    deadline = time.monotonic() + timeout
    while True:
        try:
            client = await Client.connect(address)
            await client.service_client.check_health()
            await search_attributes.ensure_registered(client, namespace)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


def _wait_for_http(url: str, timeout: float, proc: ManagedProcess, verify: ssl.SSLContext | bool = True) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2, verify=verify)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}: {response.text[:200]}"
        except httpx.HTTPError as err:
            last = str(err)
        if not proc.alive():
            raise StackError(f"{proc.name} exited at start; see {proc.log_file}")
        time.sleep(0.3)
    raise StackError(f"{url} not healthy after {timeout:.0f} s ({last}); see {proc.log_file}")
