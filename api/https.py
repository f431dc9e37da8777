"""The API over HTTPS: the certificate it serves (YTEMPIRE_API_TLS_CERT_FILE/KEY_FILE, or the development certificate
with YTEMPIRE_API_TLS=dev), TLS 1.3 and nothing older, and what this machine's own clients trust to reach it."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from api.dev_certificate import CertificateFiles, dev_certificate_files, ensure_dev_certificate
from core.settings import Settings


def served_certificate(settings: Settings) -> CertificateFiles | None:
    """The certificate and key the API serves, the development one made if need be; None: plain HTTP."""
    if settings.api_tls == "dev":
        return ensure_dev_certificate(settings.secrets_dir)
    if settings.api_tls_cert_file is not None and settings.api_tls_key_file is not None:
        return CertificateFiles(settings.api_tls_cert_file, settings.api_tls_key_file)
    return None


def tls13_only(config: uvicorn.Config, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """uvicorn's own context for the configured files (its ALPN protocols and all), refusing TLS 1.2 and older."""
    context = default()
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    return context


def uvicorn_tls_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments that make uvicorn serve HTTPS, TLS 1.3 only; none over plain HTTP."""
    files = served_certificate(settings)
    if files is None:
        return {}
    return {"ssl_certfile": str(files.cert), "ssl_keyfile": str(files.key), "ssl_context_factory": tls13_only}


def api_url(settings: Settings) -> str:
    """Where the API answers: https when it serves a certificate."""
    scheme = "https" if settings.api_https else "http"
    return f"{scheme}://{settings.api_host}:{settings.api_port}"


def trusted_certificate(settings: Settings, secrets_dir: Path) -> Path | None:
    """The certificate this machine's clients trust the API with (the one it serves); None over plain HTTP.
    `secrets_dir` is `<data_dir>/secrets` as the API resolves it (the stack's data dir is the checkout's)."""
    if settings.api_tls == "dev":
        return dev_certificate_files(secrets_dir).cert
    return settings.api_tls_cert_file


def client_verify(settings: Settings, secrets_dir: Path) -> ssl.SSLContext | bool:
    """httpx's `verify=` for this machine's clients (the stack's health check, make demo, api.batch_file): the
    certificate the API serves, trusted as it is and alone; over plain HTTP, httpx's default."""
    cert = trusted_certificate(settings, secrets_dir)
    if cert is None:
        return True
    context = ssl.create_default_context(cafile=cert)
    # A certificate from a CA is trusted by itself too, without its issuers (curl does the same with --cacert).
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context
