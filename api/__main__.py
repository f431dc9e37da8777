"""`python -m api`: serve the HTTP API with uvicorn on YTEMPIRE_API_HOST:YTEMPIRE_API_PORT (127.0.0.1:8000), over
HTTPS (TLS 1.3) when a certificate is configured or YTEMPIRE_API_TLS=dev."""

from __future__ import annotations

import os

import uvicorn

from api.https import uvicorn_tls_options
from core.settings import Settings


def main() -> None:
    settings = Settings()
    uvicorn.run(
        "api.main:app",
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        **uvicorn_tls_options(settings),
    )
    os._exit(0)


if __name__ == "__main__":
    main()
