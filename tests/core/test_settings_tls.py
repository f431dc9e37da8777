"""TLS settings that name a certificate name its key too, and the development certificate excludes files."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.settings import Settings


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"api_tls_cert_file": "cert.pem"}, "YTEMPIRE_API_TLS_CERT_FILE and YTEMPIRE_API_TLS_KEY_FILE go together"),
        ({"api_tls_key_file": "key.pem"}, "YTEMPIRE_API_TLS_CERT_FILE and YTEMPIRE_API_TLS_KEY_FILE go together"),
        (
            {"temporal_tls_client_key_path": "key.pem"},
            "YTEMPIRE_TEMPORAL_TLS_CLIENT_CERT_PATH and YTEMPIRE_TEMPORAL_TLS_CLIENT_KEY_PATH go together",
        ),
        (
            {"api_tls": "dev", "api_tls_cert_file": "cert.pem", "api_tls_key_file": "key.pem"},
            "YTEMPIRE_API_TLS=dev makes its own certificate",
        ),
    ],
)
def test_certificate_settings_come_in_pairs(given: dict[str, str], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        Settings(**given)  # type: ignore[arg-type]
