"""Which provider runs a stage for a video: the tier's choice, else the stage's, else local."""

from __future__ import annotations

from typing import Literal

from core.domain import Complexity
from core.settings import Settings

ProviderKind = Literal["script", "tts", "media", "upload"]


def provider_for(settings: Settings, kind: ProviderKind, complexity: Complexity) -> str:
    tiers: dict[Complexity, str] = getattr(settings, f"{kind}_provider_tiers")
    return tiers.get(complexity) or str(getattr(settings, f"{kind}_provider"))
