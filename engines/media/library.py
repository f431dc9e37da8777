"""Images and video clips from a user's own folder, mixed with generated backgrounds into one media set."""

from __future__ import annotations

import logging
import os
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from PIL import Image, ImageOps, UnidentifiedImageError

from core.caption_style import CaptionStyle
from core.languages import DEFAULT_LANGUAGE
from engines.files import link_or_copy
from engines.media.backgrounds import DEFAULT_CAPTION_STYLE, generate_backgrounds
from engines.media.clip_check import ClipUnusable, check_clip
from engines.render.plan import CLIP_SUFFIXES, is_clip

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})
MEDIA_SUFFIXES = IMAGE_SUFFIXES | CLIP_SUFFIXES  # a library may hold the user's own video clips too

MediaSource = Literal["generated", "library", "pexels", "pixabay"]


@dataclass(frozen=True)
class Attribution:
    """Who made a stock image and under which licence; kept per item and listed in the video's credits."""

    provider: str  # "pexels" | "pixabay"
    provider_id: str
    page_url: str
    author: str
    author_url: str | None
    licence: str
    licence_url: str
    media: str = "photo"  # "photo" | "video": what the credit line calls it

    @property
    def credit(self) -> str:
        """The credit line the provider asks for, e.g. "Photo by Jane Doe on Pexels", "Video by … from Pixabay"."""
        video = self.media == "video"
        if self.provider == "pixabay":
            return f"{'Video' if video else 'Image'} by {self.author} from Pixabay"
        return f"{'Video' if video else 'Photo'} by {self.author} on {self.provider.capitalize()}"


@dataclass(frozen=True)
class MediaItem:
    path: Path
    source: MediaSource
    origin: str | None = None  # the library file or stock download URL it came from; None for generated images
    attribution: Attribution | None = None  # stock images and clips only
    query: str | None = None  # stock only: the search that found it (the terms of the segment it shows)


@dataclass
class MediaSet:
    items: list[MediaItem] = field(default_factory=list)

    @property
    def paths(self) -> list[Path]:
        return [item.path for item in self.items]

    @property
    def credits(self) -> list[Attribution]:
        """Attributions of the stock items, in order, each once."""
        return list(dict.fromkeys(item.attribution for item in self.items if item.attribution is not None))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{"items": [{"path", "source", "origin"[, "attribution", "query"]}, ...]}``, paths
        as strings; item i shows narration segment i.

        ``attribution`` and ``query`` appear only on stock items, so manifests of local media keep their shape.
        """
        items = []
        for item in self.items:
            entry: dict[str, Any] = {"path": str(item.path), "source": item.source, "origin": item.origin}
            if item.attribution is not None:
                entry["attribution"] = {**asdict(item.attribution), "credit": item.attribution.credit}
            if item.query is not None:
                entry["query"] = item.query
            items.append(entry)
        return {"items": items}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MediaSet:
        """Rebuild a set from :meth:`to_json` output (also manifests written before attributions existed)."""
        return cls([_item_from_json(i) for i in data["items"]])


def _item_from_json(data: dict[str, Any]) -> MediaItem:
    credit = data.get("attribution")
    # Manifests from before videos lack "media" (so: a photo); a missing older field reads as None.
    fields = [f for f in Attribution.__dataclass_fields__ if f != "media" or f in (credit or {})]
    attribution = Attribution(**{f: credit.get(f) for f in fields}) if credit is not None else None
    return MediaItem(Path(data["path"]), data["source"], data.get("origin"), attribution, data.get("query"))


def _is_usable(path: Path) -> bool:
    return _is_playable_clip(path) if is_clip(str(path)) else _is_readable_image(path)


def _is_readable_image(path: Path) -> bool:
    try:
        with Image.open(path) as img:
            # draft() lets JPEG decode at 1/8 scale: a full check of a big photo in milliseconds.
            img.draft("RGB", (64, 64))
            img.load()
        return True
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as e:
        log.warning("skipping unreadable library image %s: %s", path, e)
        return False


def _is_playable_clip(path: Path) -> bool:
    """ffmpeg decodes frames of it (a header alone can lie) and it lasts at least half a second."""
    try:
        check_clip(path)
    except ClipUnusable as why:
        log.warning("skipping unplayable library clip %s: %s", path, why)
        return False
    return True


CHANNELS_DIR = "channels"  # <library>/channels/<channel_id>/: a channel's own images, never used for other channels


def _library_files(library_dir: Path, *, skip: Path | None = None) -> list[Path]:
    root = library_dir.resolve()
    files = [
        p
        for p in library_dir.rglob("*")
        if p.suffix.lower() in MEDIA_SUFFIXES
        and not p.name.startswith(".")
        and (skip is None or not p.is_relative_to(skip))
        and p.is_file()
        and p.resolve().is_relative_to(root)  # a link out of the library is not the library's to hand out
    ]
    # Sorted before shuffling, so the pick depends on the seed and not on directory listing order.
    return sorted(files, key=lambda p: p.relative_to(library_dir).as_posix())


def channel_folder(library_dir: Path, channel_id: str) -> Path:
    return library_dir / CHANNELS_DIR / channel_id


def pick_from_library(library_dir: Path, count: int, seed: str, channel_id: str | None = None) -> list[Path]:
    """Pick ``count`` readable images from ``library_dir`` (recursively), deterministic by ``seed``.

    With ``channel_id``, the channel's own folder (``channels/<channel_id>/``) comes first and the shared library
    fills up; the ``channels/`` tree is never shared. No image repeats unless there are fewer readable images
    than ``count``; then the pick cycles. Returns [] when the folder is missing or holds no readable image.
    """
    if count <= 0:
        return []
    if not library_dir.is_dir():
        log.warning("media library %s does not exist; using generated backgrounds only", library_dir)
        return []
    rng = random.Random(seed)
    own = channel_folder(library_dir, channel_id) if channel_id else None
    candidates = _library_files(own) if own is not None and own.is_dir() else []
    rng.shuffle(candidates)
    shared = _library_files(library_dir, skip=library_dir / CHANNELS_DIR)
    rng.shuffle(shared)
    chosen: list[Path] = []
    for path in candidates + shared:
        if _is_usable(path):
            chosen.append(path)
            if len(chosen) == count:
                return chosen
    if not chosen:
        log.warning("media library %s holds no readable images or clips", library_dir)
        return []
    return [chosen[i % len(chosen)] for i in range(count)]


def normalise_image(src: Path, dest: Path, *, width: int, height: int) -> Path:
    """Scale ``src`` to cover ``width`` x ``height``, centre-crop, and write it to ``dest`` as JPEG."""
    with Image.open(src) as opened:
        opened.draft("RGB", (width, height))
        img = ImageOps.exif_transpose(opened)
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            # White, not black, behind transparency: a black fill could trip the black-frame check.
            rgba = img.convert("RGBA")
            img = Image.new("RGB", rgba.size, (255, 255, 255))
            img.paste(rgba, mask=rgba.getchannel("A"))
        fitted = ImageOps.fit(img.convert("RGB"), (width, height), Image.Resampling.LANCZOS)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    fitted.save(tmp, format="JPEG", quality=92)
    os.replace(tmp, dest)
    return dest


def own_media(
    library_dir: Path, channel_id: str, out_dir: Path, *, count: int, width: int, height: int, seed: str
) -> list[MediaItem]:
    """Up to ``count`` items from the channel's own folder only, each once, ready to render (images fitted to the
    frame, clips linked as they are); [] without such a folder. Cloud media providers put these first."""
    folder = channel_folder(library_dir, channel_id)
    if count <= 0 or not folder.is_dir():
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    picked = list(dict.fromkeys(pick_from_library(folder, count, seed)))
    return [_prepared(src, out_dir, f"own_{i:02d}", width, height) for i, src in enumerate(picked, start=1)]


def _prepared(src: Path, out_dir: Path, stem: str, width: int, height: int) -> MediaItem:
    if is_clip(str(src)):  # played as it is: the render scales, crops and loops it
        dest = link_or_copy(src, out_dir / f"{stem}{src.suffix.lower()}")  # a hard link when it can
    else:
        dest = normalise_image(src, out_dir / f"{stem}.jpg", width=width, height=height)
    return MediaItem(dest, "library", str(src))


def collect_media(
    out_dir: Path,
    *,
    count: int,
    width: int,
    height: int,
    seed: str,
    title: str | None,
    library_dir: Path | None,
    channel_id: str | None = None,
    caption_style: CaptionStyle = DEFAULT_CAPTION_STYLE,
    language: str = DEFAULT_LANGUAGE,
) -> MediaSet:
    """Build ``count`` images in ``out_dir``: generated title card (laid out around ``caption_style``'s captions),
    library images (the channel's own first), generated fill. The title is drawn in the font for `language`."""
    if count <= 0:
        return MediaSet()
    out_dir.mkdir(parents=True, exist_ok=True)
    picked = pick_from_library(library_dir, count - 1, seed, channel_id) if library_dir is not None else []
    # Cycling only makes sense when there is nothing else; with generated fill available, use each once.
    unique = list(dict.fromkeys(picked))
    generated = generate_backgrounds(
        out_dir,
        count=count - len(unique),
        width=width,
        height=height,
        seed=seed,
        title=title,
        caption_style=caption_style,
        language=language,
    )
    items = [MediaItem(generated[0], "generated")]
    items.extend(_prepared(src, out_dir, f"lib_{i:02d}", width, height) for i, src in enumerate(unique, start=1))
    items.extend(MediaItem(p, "generated") for p in generated[1:])
    return MediaSet(items)
