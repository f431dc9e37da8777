"""connect(settings) reaches a Temporal server over TLS and mTLS: the real dev server behind a TLS-terminating proxy
that wants a client certificate, with certificates made by a throwaway CA; and Temporal Cloud's API key."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from tests.certificates import TestCA
from workflows.client import connect
from workflows.connection import connect_options

SERVER_NAME = "temporal.test"  # the proxy's certificate names only this: connecting to 127.0.0.1 needs the override


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


@asynccontextmanager
async def tls_proxy(upstream: str, ca: TestCA, folder: Path) -> AsyncIterator[str]:
    """A TLS-terminating proxy on 127.0.0.1 in front of `upstream` (the dev server's plain gRPC port): it serves a
    certificate from `ca` for SERVER_NAME over ALPN h2, wants a client certificate from `ca`, and forwards bytes."""
    issued = ca.issue(SERVER_NAME)
    (folder / "proxy.pem").write_bytes(issued.cert_pem)
    (folder / "proxy-key.pem").write_bytes(issued.key_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cadata=ca.cert_pem.decode())
    context.load_cert_chain(folder / "proxy.pem", folder / "proxy-key.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])
    host, port = upstream.rsplit(":", 1)
    open_writers: set[asyncio.StreamWriter] = set()
    handlers: set[asyncio.Task[None]] = set()

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if (task := asyncio.current_task()) is not None:
            handlers.add(task)
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        open_writers.update((writer, up_writer))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = await asyncio.start_server(forward, "127.0.0.1", 0, ssl=context)
    try:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for writer in open_writers:  # the clients' connections outlive the test: end them, so each handler returns
            writer.close()
        await asyncio.gather(*handlers, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 5)


@pytest.fixture
async def proxy(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[tuple[str, TestCA]]:
    ca = TestCA()
    async with tls_proxy(dev_env.client.service_client.config.target_host, ca, tmp_path) as address:
        yield address, ca


def tls_settings(tmp_path: Path, address: str, ca: TestCA, **overrides: Any) -> Settings:
    """Settings for the proxy: its CA, a client certificate it accepts, the name its certificate carries."""
    client = ca.issue("ytempire-worker", client=True)
    files = {"ca.pem": ca.cert_pem, "client.pem": client.cert_pem, "client-key.pem": client.key_pem}
    for name, pem in files.items():
        (tmp_path / name).write_bytes(pem)
    given: dict[str, Any] = {
        "temporal_address": address,
        "temporal_tls_server_ca_cert_path": tmp_path / "ca.pem",
        "temporal_tls_client_cert_path": tmp_path / "client.pem",
        "temporal_tls_client_key_path": tmp_path / "client-key.pem",
        "temporal_tls_server_name": SERVER_NAME,
    }
    return Settings(**{**given, **overrides})


async def test_connect_over_mtls_with_the_servers_ca(proxy: tuple[str, TestCA], tmp_path: Path) -> None:
    address, ca = proxy
    for settings in (
        tls_settings(tmp_path, address, ca),
        # Temporal Cloud's API key rides along (the dev server ignores it); alone, it would turn TLS on as well.
        tls_settings(tmp_path, address, ca, temporal_api_key="cloud-key"),
    ):
        client = await connect(settings)
        await client.count_workflows()
        described = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace="default"))
        assert described.namespace_info.name == "default"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"temporal_tls": False}, "call error after connection"),  # plain gRPC to the TLS port: no answer
        ({"temporal_tls_server_ca_cert_path": "other-ca.pem"}, "UnknownIssuer"),
        ({"temporal_tls_server_name": None}, "NotValidForName"),  # 127.0.0.1 is not the name the certificate carries
        # TLS 1.3: the proxy refuses the missing client certificate after the client's side of the handshake, so
        # the first call fails, however the connection's end reaches the client.
        ({"temporal_tls_client_cert_path": None, "temporal_tls_client_key_path": None}, "call error after connection"),
    ],
)
async def test_connect_fails_without_the_right_tls(
    proxy: tuple[str, TestCA], tmp_path: Path, overrides: dict[str, Any], reason: str
) -> None:
    address, ca = proxy
    if overrides.get("temporal_tls_server_ca_cert_path"):
        (tmp_path / "other-ca.pem").write_bytes(TestCA("another CA").cert_pem)
        overrides = {**overrides, "temporal_tls_server_ca_cert_path": tmp_path / "other-ca.pem"}
    with pytest.raises(RuntimeError, match=f"Failed client connect: .*{reason}"):
        await asyncio.wait_for(connect(tls_settings(tmp_path, address, ca, **overrides)), 30)


def test_connect_options_translate_the_settings(tmp_path: Path) -> None:
    assert connect_options(Settings()) == {"tls": False, "api_key": None}
    # Temporal Cloud: an API key turns TLS on (the system's CAs), unless TLS is turned off on purpose.
    assert connect_options(Settings(temporal_api_key=SecretStr("k"))) == {"tls": TLSConfig(), "api_key": "k"}
    off = Settings(temporal_api_key=SecretStr("k"), temporal_tls=False)
    assert connect_options(off) == {"tls": False, "api_key": "k"}
    assert connect_options(Settings(temporal_tls=True)) == {"tls": TLSConfig(), "api_key": None}
    (tmp_path / "ca.pem").write_bytes(b"CA")
    (tmp_path / "cert.pem").write_bytes(b"CERT")
    (tmp_path / "key.pem").write_bytes(b"KEY")
    mtls = Settings(
        temporal_tls_server_ca_cert_path=tmp_path / "ca.pem",
        temporal_tls_client_cert_path=tmp_path / "cert.pem",
        temporal_tls_client_key_path=tmp_path / "key.pem",
        temporal_tls_server_name="ns.acct.tmprl.cloud",
    )
    expected = TLSConfig(
        server_root_ca_cert=b"CA", domain="ns.acct.tmprl.cloud", client_cert=b"CERT", client_private_key=b"KEY"
    )
    assert connect_options(mtls) == {"tls": expected, "api_key": None}
    with pytest.raises(ValueError, match="YTEMPIRE_TEMPORAL_TLS_SERVER_CA_CERT_PATH=.*missing.pem cannot be read"):
        connect_options(Settings(temporal_tls_server_ca_cert_path=tmp_path / "missing.pem"))


def test_the_temporal_cli_names_configure_it_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_API_KEY", "from-the-cli")
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_NAME", "ns.acct.tmprl.cloud")
    options = connect_options(Settings())
    assert options == {"tls": TLSConfig(domain="ns.acct.tmprl.cloud"), "api_key": "from-the-cli"}
