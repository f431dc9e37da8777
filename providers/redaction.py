"""What keeps credentials out of logs, payloads and the Temporal UI: one redactor for text, one for URLs, and one
filter on httpx's own request log (installed when this module is imported, i.e. by every provider client)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import SecretStr

# Query parameters that carry credentials in some APIs (Pixabay's key=, Google's key=, signed URLs).
_SECRET_QUERY = re.compile(r"(?i)\b(key|api_key|apikey|access_token|token|signature|sig)=[^&\s\"']+")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")


def redact(text: str, secrets: Iterable[SecretStr | str | None] = ()) -> str:
    """`text` without the given secret values, credential query parameters or bearer tokens."""
    for secret in secrets:
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    text = _SECRET_QUERY.sub(lambda m: f"{m.group(1)}=***", text)
    return _BEARER.sub(lambda m: f"{m.group(1)} ***", text)


def redact_url(url: str) -> str:
    """The URL without userinfo, query or fragment (any of which may carry credentials), safe to log."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "<unparseable URL>"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class RedactingFilter(logging.Filter):
    """httpx logs every request's full URL at INFO: a provider key may sit in its query, a webhook's credentials in
    its userinfo. URLs keep scheme, host and path; any other text argument goes through `redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_url(str(arg)) if isinstance(arg, httpx.URL) else redact(arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install_httpx_filter() -> None:
    httpx_log = logging.getLogger("httpx")
    if not any(isinstance(f, RedactingFilter) for f in httpx_log.filters):
        httpx_log.addFilter(RedactingFilter())


install_httpx_filter()
