"""Each stage of the table has its activity, decorated with the name the table gives it."""

from __future__ import annotations

from temporalio import activity

from activities.catalogue import STAGE_ACTIVITIES
from core.stage_table import STAGES


def test_every_stage_names_the_activity_behind_it() -> None:
    assert set(STAGE_ACTIVITIES) == {spec.activity for spec in STAGES}
    for name, method in STAGE_ACTIVITIES.items():
        # The SDK keeps a definition's name on the decorated function; nothing public reads it back.
        assert activity._Definition.must_from_callable(method).name == name
