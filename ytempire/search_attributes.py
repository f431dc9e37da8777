"""Custom search attributes: the Temporal UI and `temporal workflow list --query` filter videos by these."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

VIDEO_STATUS = SearchAttributeKey.for_keyword("VideoStatus")
VIDEO_STAGE = SearchAttributeKey.for_keyword("VideoStage")
CHANNEL_ID = SearchAttributeKey.for_keyword("ChannelId")
PRIORITY = SearchAttributeKey.for_int("Priority")
COMPLEXITY = SearchAttributeKey.for_keyword("Complexity")

ALL = (VIDEO_STATUS, VIDEO_STAGE, CHANNEL_ID, PRIORITY, COMPLEXITY)


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
