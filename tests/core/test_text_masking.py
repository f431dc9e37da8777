"""Log lines name people by a masked address: enough to tell them apart, not enough to write to them."""

from __future__ import annotations

from core.text import masked


def test_email_addresses_are_masked_and_the_rest_kept() -> None:
    assert masked("user:alice.smith@example.com for bob@corp.example") == "user:a***@example.com for b***@corp.example"
    assert masked("api_key:n8n for maria") == "api_key:n8n for maria"
