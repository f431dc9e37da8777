"""Our search attributes get registered on a server that lacks them (an older dev-server database)."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from core import search_attributes
from devstack.temporal_server import SERVER_STARTUP_TIMEOUT, temporal_cli


async def test_missing_search_attributes_are_registered_once() -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(), dev_server_startup_timeout=SERVER_STARTUP_TIMEOUT
    )
    try:
        first = await search_attributes.ensure_registered(env.client, "default")
        second = await search_attributes.ensure_registered(env.client, "default")
    finally:
        await env.shutdown()
    assert first == sorted(key.name for key in search_attributes.ALL)
    assert second == []


def test_dev_server_flags_name_every_attribute() -> None:
    flags = search_attributes.dev_server_flags()
    assert flags.count("--search-attribute") == len(search_attributes.ALL)
    assert "Priority=Int" in flags and "ChannelId=Keyword" in flags
