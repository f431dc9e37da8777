from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from providers.errors import MAX_RETRY_AFTER_SECONDS, header, http_error, retry_after_seconds
from providers.redaction import redact


def test_429_honours_retry_after_seconds_and_dates() -> None:
    err = http_error("OpenAI", 429, setting="OPENAI_API_KEY", headers={"Retry-After": "7"})
    assert err.type == "ProviderRateLimited" and not err.non_retryable
    assert err.next_retry_delay == timedelta(seconds=7)
    now = datetime.fromtimestamp(1795608000.0, UTC)
    date = header({"retry-after": "Wed, 25 Nov 2026 12:00:30 GMT"}, "Retry-After")
    assert retry_after_seconds(date, cap_seconds=MAX_RETRY_AFTER_SECONDS, now=now) == 30.0
    assert retry_after_seconds("soon", cap_seconds=MAX_RETRY_AFTER_SECONDS) is None
    assert retry_after_seconds("99999", cap_seconds=MAX_RETRY_AFTER_SECONDS) == 300.0


def test_auth_failures_are_final_and_name_the_setting() -> None:
    for status in (401, 403):
        err = http_error("ElevenLabs", status, setting="ELEVENLABS_API_KEY", body="invalid api key")
        assert err.type == "ProviderAuthFailed" and err.non_retryable
        assert "ELEVENLABS_API_KEY" in str(err)


def test_server_errors_retry_and_bad_requests_do_not() -> None:
    assert not http_error("Pexels", 503, setting="PEXELS_API_KEY").non_retryable
    bad = http_error("Pexels", 400, setting="PEXELS_API_KEY")
    assert bad.type == "ProviderRequestInvalid" and bad.non_retryable


def test_secrets_never_survive_in_messages() -> None:
    key = SecretStr("sk-live-abcdef123456")
    body = "bad key sk-live-abcdef123456 at https://pixabay.com/api/?key=9999-zzz&q=cat, Authorization: Bearer tok.en"
    err = http_error("Pixabay", 401, setting="PIXABAY_API_KEY", body=body, secrets=[key])
    text = str(err)
    assert "sk-live" not in text and "9999-zzz" not in text and "tok.en" not in text
    assert redact("key=abc&q=1") == "key=***&q=1"
