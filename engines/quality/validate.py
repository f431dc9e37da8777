"""Validate a rendered file: probe and signal analysis run together, then the rules."""

from __future__ import annotations

import asyncio
import os

from engines.quality.facts import probe
from engines.quality.rules import QualityExpectations, QualityReport
from engines.quality.signal import analyze_signal


async def validate_media(path: str | os.PathLike[str], expect: QualityExpectations) -> QualityReport:
    """Probe and analyse ``path`` concurrently and check it against ``expect``."""
    # Let blackdetect report anything the rule could object to, not only segments over the limit.
    black_min = min(expect.max_black_seconds, 1.0)
    facts, signal = await asyncio.gather(probe(path), analyze_signal(path, black_min_seconds=black_min))
    return QualityReport.build(facts, signal, expect)
