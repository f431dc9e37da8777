"""The upload thumbnail: the title card cover-cropped to 16:9 as a JPEG under YouTube's 2 MB limit."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image, ImageOps

MAX_THUMBNAIL_BYTES = 2 * 1024 * 1024


class ThumbnailError(Exception):
    """The thumbnail could not be made small enough."""


def make_thumbnail(title_card: Path, out_path: Path, *, size: tuple[int, int] = (1280, 720)) -> Path:
    """Cover-crop ``title_card`` to ``size`` around its centre; write a JPEG (quality 90) to ``out_path``."""
    with Image.open(title_card) as img:
        thumb = ImageOps.fit(ImageOps.exif_transpose(img).convert("RGB"), size, Image.Resampling.LANCZOS)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    # Quality 90 is far under 2 MB at 1280x720; lower it only for pathological, noise-like images.
    for quality in (90, 80, 70, 60):
        thumb.save(tmp, format="JPEG", quality=quality, optimize=True)
        if tmp.stat().st_size < MAX_THUMBNAIL_BYTES:
            os.replace(tmp, out_path)
            return out_path
    tmp.unlink(missing_ok=True)
    raise ThumbnailError(f"thumbnail from {title_card} stays over 2 MB even at JPEG quality 60")
