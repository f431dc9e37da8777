"""HTTPS for the API through the real `python -m api` (uvicorn) with YTEMPIRE_API_TLS=dev: the development
certificate, TLS 1.3 and nothing older, and the clients of this machine that trust it (the stack's health check,
make demo, api.batch_file, temporal-dev's api_curl)."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from temporalio.testing import WorkflowEnvironment

from api.dev_certificate import dev_certificate_files, ensure_dev_certificate
from api.https import api_url, client_verify
from core.domain import TaskQueues
from core.settings import Settings
from devstack.demo import enqueue
from devstack.postgres import PostgresServer
from devstack.processes import ManagedProcess
from devstack.stack import _wait_for_http
from devstack.temporal_server import temporal_cli
from tests.conftest import database_env, database_settings, free_port
from tests.integration.conftest import admin_headers

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def api(
    tmp_path: Path, pg_server: PostgresServer, dev_env: WorkflowEnvironment, queues: TaskQueues
) -> Iterator[Settings]:
    """`python -m api` serving HTTPS with the development certificate; the settings its clients read."""
    settings = Settings(
        data_dir=tmp_path / "data",
        **database_settings(pg_server),
        temporal_address=dev_env.client.service_client.config.target_host,
        task_queue_pipeline=queues.pipeline,
        task_queue_cpu=queues.cpu,
        task_queue_gpu=queues.gpu,
        api_port=free_port(),
        api_tls="dev",
    )
    ensure_dev_certificate(settings.secrets_dir)  # as the stack does before it starts the API
    proc = ManagedProcess("api", [sys.executable, "-m", "api"], tmp_path / "run", tmp_path / "logs")
    proc.start({**os.environ, **api_environment(settings)}, REPO)
    try:
        # The stack's own health check, verifying the API as the stack does.
        _wait_for_http(f"{api_url(settings)}/healthz", 60, proc, client_verify(settings, settings.secrets_dir))
        yield settings
    finally:
        proc.stop()


def api_environment(settings: Settings) -> dict[str, str]:
    return {
        "YTEMPIRE_DATA_DIR": str(settings.data_dir),
        **database_env(settings),
        "YTEMPIRE_TEMPORAL_ADDRESS": settings.temporal_address,
        "YTEMPIRE_TASK_QUEUE_PIPELINE": settings.task_queue_pipeline,
        "YTEMPIRE_TASK_QUEUE_CPU": settings.task_queue_cpu,
        "YTEMPIRE_TASK_QUEUE_GPU": settings.task_queue_gpu,
        "YTEMPIRE_API_PORT": str(settings.api_port),
        "YTEMPIRE_API_TLS": "dev",
    }


def trusting(cert: Path, *, maximum: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED) -> ssl.SSLContext:
    """A client context that trusts `cert` alone and speaks at most `maximum`."""
    context = ssl.create_default_context(cafile=cert)
    context.maximum_version = maximum
    return context


def test_a_tls13_client_trusting_the_development_certificate_gets_200(api: Settings) -> None:
    files = dev_certificate_files(api.secrets_dir)
    assert files.key.stat().st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1"}
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]

    url = api_url(api)
    assert url == f"https://127.0.0.1:{api.api_port}"
    for base in (url, f"https://localhost:{api.api_port}"):
        with httpx.Client(verify=trusting(files.cert)) as client:
            response = client.get(f"{base}/healthz")
            tls = response.extensions["network_stream"].get_extra_info("ssl_object")
            assert (response.status_code, tls.version()) == (200, "TLSv1.3"), response.text


def test_tls12_plain_http_and_an_untrusted_certificate_are_refused(api: Settings) -> None:
    cert = dev_certificate_files(api.secrets_dir).cert
    healthz = f"{api_url(api)}/healthz"
    with pytest.raises(httpx.ConnectError):  # the server hangs up in the handshake
        httpx.get(healthz, verify=trusting(cert, maximum=ssl.TLSVersion.TLSv1_2))
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{api.api_port}/healthz")
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(healthz)  # the system's authorities know nothing of it


def test_make_demo_and_the_batch_file_queue_over_https(api: Settings, tmp_path: Path) -> None:
    headers = admin_headers(api)
    queued = enqueue(api_url(api), "octopus hearts", headers, verify=client_verify(api, api.secrets_dir))
    assert queued["video_id"]

    videos = tmp_path / "videos.csv"
    videos.write_text(f"topic,channel_id,user_id\noctopus hearts,{uuid.uuid4()},{uuid.uuid4()}\n")
    done = subprocess.run(
        [sys.executable, "-m", "api.batch_file", str(videos)],
        env={**os.environ, **api_environment(api)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout.splitlines()[-1:]) == (0, ["1 of 1 videos queued; 0 rejected"]), done.stderr


def test_temporal_dev_scripts_call_the_api_over_https(api: Settings) -> None:
    env = {
        **os.environ,
        "TEMPORAL": str(temporal_cli()),
        "YTEMPIRE_DATA_DIR": str(api.data_dir),
        "YTEMPIRE_API_TLS": "dev",
    }

    def cli(script: str, **more: str) -> subprocess.CompletedProcess[str]:
        command = ["bash", "-c", f"source temporal-dev/_cli.sh && {script}"]
        return subprocess.run(command, env={**env, **more}, cwd=REPO, capture_output=True, text=True, timeout=30)

    assert cli('echo "$API"').stdout == "https://127.0.0.1:8000\n"
    me = cli('api_curl "$API/auth/me"', YTEMPIRE_API_URL=api_url(api))
    assert (me.returncode, me.stderr) == (0, "")
    assert '"name":"local-admin"' in me.stdout
