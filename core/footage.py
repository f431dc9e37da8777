"""Which stock footage a video prefers: video clips or photos, by quality tier and per channel.

`clips`: each slide is a Pexels/Pixabay video clip where one is found and passes its checks, else a photo, else
local media. `photos`: stock photos, else local media (no video is searched or downloaded).
"""

from __future__ import annotations

from typing import Literal

from core.domain import Complexity

Footage = Literal["clips", "photos"]

# Clips cost bandwidth and render time (a clip is decoded, a photo is looped): the cheapest tier keeps photos.
DEFAULT_FOOTAGE: dict[Complexity, Footage] = {"simple": "photos", "complex": "clips", "premium": "clips"}
