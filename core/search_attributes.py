"""Custom search attributes: the Temporal UI and `temporal workflow list --query` filter videos by these."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

VIDEO_STATUS = SearchAttributeKey.for_keyword("VideoStatus")
VIDEO_STAGE = SearchAttributeKey.for_keyword("VideoStage")
CHANNEL_ID = SearchAttributeKey.for_keyword("ChannelId")
PRIORITY = SearchAttributeKey.for_int("Priority")
COMPLEXITY = SearchAttributeKey.for_keyword("Complexity")

ALL = (VIDEO_STATUS, VIDEO_STAGE, CHANNEL_ID, PRIORITY, COMPLEXITY)
# Temporal's own: the time a Schedule meant a run for (a backfilled run's is in the past).
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


def dev_server_flags() -> list[str]:
    """`--search-attribute Name=Type` flags that register them when the dev server starts."""
    kinds = {"KEYWORD": "Keyword", "INT": "Int"}
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={kinds[key.indexed_value_type.name]}"]
    return flags


def at_start(*, channel_id: str, priority: int, complexity: str) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(VIDEO_STATUS, "queued"),
            SearchAttributePair(CHANNEL_ID, channel_id),
            SearchAttributePair(PRIORITY, priority),
            SearchAttributePair(COMPLEXITY, complexity),
        ]
    )


async def ensure_registered(client: Client, namespace: str) -> list[str]:
    """Register whichever of our search attributes the namespace lacks (a dev-server DB made before they existed)."""
    listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    missing = {key.name: key.indexed_value_type for key in ALL if key.name not in listed.custom_attributes}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace,
                search_attributes={name: IndexedValueType.ValueType(int(kind)) for name, kind in missing.items()},
            )
        )
    return sorted(missing)
