"""What a finished video leaves in the outbox (`<data_dir>/outbox/<video_id>/`): the upload stage writes these files,
and the API serves them to the console by these names."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

OutboxFile = Literal["video.mp4", "thumbnail.jpg", "metadata.json"]
VIDEO_FILE: OutboxFile = "video.mp4"
THUMBNAIL_FILE: OutboxFile = "thumbnail.jpg"
METADATA_FILE: OutboxFile = "metadata.json"
MEDIA_TYPES: dict[OutboxFile, str] = {
    VIDEO_FILE: "video/mp4",
    THUMBNAIL_FILE: "image/jpeg",
    METADATA_FILE: "application/json",
}


def outbox_file(outbox_dir: Path, video_id: str, name: OutboxFile) -> Path:
    return outbox_dir / video_id / name
