"""How this deployment reaches its Temporal server beyond the address: TLS (the server's CA, a server name, a client
certificate for mTLS) and Temporal Cloud's API key, from settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio.service import TLSConfig

from core.settings import Settings


def connect_options(settings: Settings) -> dict[str, Any]:
    """`Client.connect`'s `tls` (a TLSConfig, or False) and `api_key`. TLS is on when YTEMPIRE_TEMPORAL_TLS says so;
    left unset, when an API key or any other TLS setting is given (Temporal Cloud wants TLS with an API key)."""
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key is not None else None
    tls = settings.temporal_tls
    if tls is None:
        tls = api_key is not None or any(
            value is not None
            for value in (
                settings.temporal_tls_server_ca_cert_path,
                settings.temporal_tls_client_cert_path,
                settings.temporal_tls_server_name,
            )
        )
    if not tls:
        return {"tls": False, "api_key": api_key}
    config = TLSConfig(
        server_root_ca_cert=_pem(
            settings.temporal_tls_server_ca_cert_path, "YTEMPIRE_TEMPORAL_TLS_SERVER_CA_CERT_PATH"
        ),
        domain=settings.temporal_tls_server_name,
        client_cert=_pem(settings.temporal_tls_client_cert_path, "YTEMPIRE_TEMPORAL_TLS_CLIENT_CERT_PATH"),
        client_private_key=_pem(settings.temporal_tls_client_key_path, "YTEMPIRE_TEMPORAL_TLS_CLIENT_KEY_PATH"),
    )
    return {"tls": config, "api_key": api_key}


def _pem(path: Path | None, setting: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as err:
        raise ValueError(f"{setting}={path} cannot be read ({err.strerror}): point it at a PEM file") from err
