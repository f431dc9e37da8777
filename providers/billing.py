"""Charges written ahead: provider code reports what an attempt has been billed the moment an answer arrives, so the
ledger holds the charge even when the worker dies before the stage ends (the retry then knows it was spent).

The stage runner sets where reports go for the length of one stage attempt (a context variable, as the SDK's own
`activity.info()` is); outside a stage attempt a report goes nowhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from core.records import CostLine

ChargeSink = Callable[[CostLine], Awaitable[None]]

_sink: ContextVar[ChargeSink | None] = ContextVar("ytempire_charge_sink", default=None)


@contextmanager
def charges_to(sink: ChargeSink) -> Iterator[None]:
    """Send the reports of the code run inside (and of the tasks it starts) to `sink`."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)


async def report_billed(cost: CostLine) -> None:
    """Report what this attempt has been billed so far, in all (each report replaces the one before)."""
    if (sink := _sink.get()) is not None:
        await sink(cost)


def speech_so_far(
    provider: str, price: Callable[[int], float], characters: int, requests: int, in_flight: int = 0
) -> CostLine:
    """What a speech attempt has been billed so far: the characters of answered requests, plus those of a request
    whose answer is due (`unconfirmed_characters`: charged as if billed until the answer says otherwise)."""
    spent: dict[str, object] = {"characters": characters, "requests": requests}
    if in_flight:
        spent["unconfirmed_characters"] = in_flight
    return CostLine(provider, "text_to_speech_partial", price(characters + in_flight), spent)
