"""What a stock-photo or stock-video search returns, whichever provider: candidates with their sizes and attribution.

A candidate lists the sizes (a photo's renditions, a video's files) the provider offers, with the pixel size each
will have (derived from the provider's documented resizing rules, or listed by it), so that one pure function
picks the smallest download that still covers the render.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from core.languages import DEFAULT_LANGUAGE
from engines.media.library import Attribution

StockProvider = Literal["pexels", "pixabay"]
StockKind = Literal["photo", "clip"]
Orientation = Literal["landscape", "portrait", "square"]

# A download may be scaled up at most this much to cover the render (720x1280 covers 1080x1920 at 1.5x).
# Pixabay's public API offers 1280 px on the long side, so an exact-cover rule would leave nothing for 1080p.
MAX_UPSCALE = 1.5


@dataclass(frozen=True)
class SizeVariant:
    name: str  # the provider's name for this size: "original", "large2x", "largeImageURL", ...
    url: str
    width: int
    height: int
    size_bytes: int | None = None  # when the provider says (Pixabay's video files): larger than the limit, skipped


@dataclass(frozen=True)
class StockCandidate:
    provider: StockProvider
    provider_id: str
    width: int  # the original's size
    height: int
    variants: list[SizeVariant]
    attribution: Attribution
    query: str
    # Part of the download cache key: Pexels' size URLs are stable, Pixabay's change daily (so: the size's name).
    stable_urls: bool = True
    kind: StockKind = "photo"
    duration: float | None = None  # a clip's seconds

    @property
    def key(self) -> tuple[str, str, str]:
        """Who it is within a video: photo and video ids are separate numberings at the same provider."""
        return self.provider, self.kind, self.provider_id

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StockCandidate:
        return cls(
            provider=data["provider"],
            provider_id=str(data["provider_id"]),
            width=int(data["width"]),
            height=int(data["height"]),
            variants=[SizeVariant(**v) for v in data["variants"]],
            attribution=Attribution(**data["attribution"]),
            query=data["query"],
            stable_urls=bool(data.get("stable_urls", True)),
            kind=data.get("kind", "photo"),
            duration=data.get("duration"),
        )


@dataclass(frozen=True)
class SearchQuery:
    text: str
    orientation: Orientation
    width: int  # the render's size
    height: int
    per_page: int
    language: str = DEFAULT_LANGUAGE  # the video's (BCP 47): the provider searches in it where it can


def orientation_of(width: int, height: int) -> Orientation:
    if width == height:
        return "square"
    return "landscape" if width > height else "portrait"


def upscale_needed(width: int, height: int, target_w: int, target_h: int) -> float:
    """How much an image must grow to cover the target (<= 1: no upscaling)."""
    return max(target_w / max(width, 1), target_h / max(height, 1))


def fit_within(width: int, height: int, box_w: int, box_h: int) -> tuple[int, int]:
    """Size after a proportional shrink to fit the box (never enlarged)."""
    scale = min(box_w / width, box_h / height, 1.0)
    return max(round(width * scale), 1), max(round(height * scale), 1)


def choose_variant(
    candidate: StockCandidate, target_w: int, target_h: int, max_bytes: int | None = None
) -> SizeVariant | None:
    """The smallest size that covers the target without upscaling, else the largest within MAX_UPSCALE, else None;
    sizes the provider declares larger than `max_bytes` are left out."""
    fitting = [v for v in candidate.variants if max_bytes is None or v.size_bytes is None or v.size_bytes <= max_bytes]
    by_area = sorted(fitting, key=lambda v: v.width * v.height)
    covering = [v for v in by_area if upscale_needed(v.width, v.height, target_w, target_h) <= 1.0]
    if covering:
        return covering[0]
    largest = by_area[-1] if by_area else None
    if largest is not None and upscale_needed(largest.width, largest.height, target_w, target_h) <= MAX_UPSCALE:
        return largest
    return None
