"""Still images for the video: generated backgrounds, an optional local library, and the thumbnail."""

from engines.media.backgrounds import generate_backgrounds
from engines.media.library import MediaItem, MediaSet, collect_media, pick_from_library
from engines.media.thumbnail import ThumbnailError, make_thumbnail

__all__ = [
    "MediaItem",
    "MediaSet",
    "ThumbnailError",
    "collect_media",
    "generate_backgrounds",
    "make_thumbnail",
    "pick_from_library",
]
