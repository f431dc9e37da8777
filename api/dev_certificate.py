"""The development certificate: HTTPS for the API on one machine (YTEMPIRE_API_TLS=dev) without a certificate
authority. A self-signed certificate for 127.0.0.1 and localhost, made once in `<data_dir>/secrets/` (its key 0600)
and trusted as it is by the stack's own clients, `curl --cacert` and anyone handed the file."""

from __future__ import annotations

import fcntl
import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.secret_files import write_owner_only

CERT_FILE_NAME = "api-dev-cert.pem"
KEY_FILE_NAME = "api-dev-key.pem"
LIFETIME = timedelta(days=825)  # the longest a TLS server certificate may live for Apple's clients
RENEW_WITHIN = timedelta(days=7)
SUBJECT = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "YTEMPIRE API (development)")])


@dataclass(frozen=True)
class CertificateFiles:
    cert: Path
    key: Path


def dev_certificate_files(secrets_dir: Path) -> CertificateFiles:
    """Where the development certificate and its key are (made or not)."""
    return CertificateFiles(secrets_dir / CERT_FILE_NAME, secrets_dir / KEY_FILE_NAME)


def ensure_dev_certificate(secrets_dir: Path, now: datetime | None = None) -> CertificateFiles:
    """The development certificate and its key, made when missing, not a pair, or within a week of expiring; kept
    otherwise, so a certificate someone trusts stays the one served. The stack and the API both ask for it."""
    files = dev_certificate_files(secrets_dir)
    moment = now or datetime.now(UTC)
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # The key and the certificate are two files: one process at a time checks and writes them, so none reads a pair
    # half replaced.
    with (secrets_dir / ".api-dev-cert.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _usable(files, moment):
            key = ec.generate_private_key(ec.SECP256R1())
            key_pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            write_owner_only(files.key, key_pem)
            write_owner_only(files.cert, _self_signed(key, moment).public_bytes(serialization.Encoding.PEM))
    return files


def _usable(files: CertificateFiles, now: datetime) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
        key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return False
    return cert.public_key() == key.public_key() and cert.not_valid_after_utc - RENEW_WITHIN > now


def _self_signed(key: ec.EllipticCurvePrivateKey, now: datetime) -> x509.Certificate:
    names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    return (
        x509.CertificateBuilder()
        .subject_name(SUBJECT)
        .issuer_name(SUBJECT)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + LIFETIME)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
