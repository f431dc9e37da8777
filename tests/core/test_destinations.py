"""Where webhooks may go: public addresses, and internal ones only when the operator allow-listed them."""

from __future__ import annotations

import pytest

from core.destinations import destination_refusal


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("http://127.0.0.1:5432/", ["127.0.0.1"]),
        ("http://localhost/", ["127.0.0.1", "::1"]),
        ("http://metadata/latest", ["169.254.169.254"]),
        ("https://intranet.example/hook", ["10.2.3.4"]),
        ("https://home.example/hook", ["192.168.1.10"]),
        ("https://rebound.example/hook", ["93.184.216.34", "127.0.0.1"]),  # any internal address refuses it
        ("http://[::ffff:127.0.0.1]/", ["::ffff:127.0.0.1"]),
        ("http://v6.example/", ["fd00::1"]),
        ("http://zero.example/", ["0.0.0.0"]),
    ],
)
def test_this_machine_and_private_networks_are_refused(url: str, addresses: list[str]) -> None:
    refusal = destination_refusal(url, addresses, [])
    assert refusal is not None and "YTEMPIRE_OUTBOUND_ALLOWED" in refusal


def test_public_destinations_pass_and_other_schemes_do_not() -> None:
    assert destination_refusal("https://hooks.example/x", ["93.184.216.34", "2606:2800:220:1::"], []) is None
    assert destination_refusal("ftp://hooks.example/x", ["93.184.216.34"], []) is not None
    assert destination_refusal("https://nowhere.example/x", [], []) is not None


@pytest.mark.parametrize(
    ("allowed", "passes"),
    [
        (["127.0.0.1:5678"], True),
        (["127.0.0.1:5679"], False),
        (["127.0.0.1"], True),
        (["127.0.0.0/8"], True),
        (["10.0.0.0/8"], False),
        (["n8n.local"], True),
        (["n8n.local:5678"], True),
        (["other.local"], False),
    ],
)
def test_the_operator_allow_lists_a_host_an_address_or_a_network(allowed: list[str], passes: bool) -> None:
    refusal = destination_refusal("http://n8n.local:5678/webhook-waiting/1", ["127.0.0.1"], allowed)
    assert (refusal is None) == passes
