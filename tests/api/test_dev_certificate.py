"""The development certificate is made once and kept, and remade before it expires; the API serves it when asked."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from api.dev_certificate import LIFETIME, ensure_dev_certificate
from api.https import served_certificate, uvicorn_tls_options
from core.settings import Settings


def test_it_is_made_once_owner_only_and_kept(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    files = ensure_dev_certificate(secrets)
    first = (files.cert.read_bytes(), files.key.read_bytes())
    assert (secrets.stat().st_mode & 0o777, files.key.stat().st_mode & 0o777) == (0o700, 0o600)
    assert ensure_dev_certificate(secrets) == files
    assert (files.cert.read_bytes(), files.key.read_bytes()) == first


def test_it_is_remade_near_its_expiry_or_when_its_key_is_not_its_own(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    made = datetime.now(UTC)
    files = ensure_dev_certificate(secrets, now=made)
    first = files.cert.read_bytes()
    assert ensure_dev_certificate(secrets, now=made + LIFETIME / 2).cert.read_bytes() == first
    renewed = ensure_dev_certificate(secrets, now=made + LIFETIME).cert.read_bytes()
    assert renewed != first
    assert x509.load_pem_x509_certificate(renewed).not_valid_after_utc > made + LIFETIME

    other = tmp_path / "other"
    files.key.write_bytes(ensure_dev_certificate(other).key.read_bytes())  # a key that does not match
    assert ensure_dev_certificate(secrets).cert.read_bytes() != renewed


def test_the_api_serves_https_only_when_asked(tmp_path: Path) -> None:
    assert uvicorn_tls_options(Settings(data_dir=tmp_path)) == {}
    files = served_certificate(Settings(data_dir=tmp_path, api_tls="dev"))
    assert files is not None and files.cert.parent == tmp_path / "secrets"
    options = uvicorn_tls_options(Settings(api_tls_cert_file=files.cert, api_tls_key_file=files.key))
    assert (options["ssl_certfile"], options["ssl_keyfile"]) == (str(files.cert), str(files.key))
