"""What the API shows of the server's files: paths relative to the data directory (YTEMPIRE_DATA_DIR), never absolute
ones, which tell any viewer how the machine is laid out (user names, mounts, where the checkout lives)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_SEGMENT = r"[^\s/'\"`:;,()\[\]{}<>|]+"
# A slash that does not continue a word, a URL or another path, then at least two segments: `/usr/bin/ffmpeg`, not
# the `/v1/chat` of `https://api.openai.com/v1/chat` nor `and/or`.
_PATH_START = r"(?<![\w.~/:-])"
_ABSOLUTE_PATH = re.compile(rf"{_PATH_START}/(?:{_SEGMENT}/)+(?:{_SEGMENT})?")
_FILE_URL = re.compile(r"\bfile://(?=/)")


class ServerPaths:
    """Turns the server's paths into what an answer may show."""

    def __init__(self, data_dir: Path) -> None:
        # Workers write resolved paths (Settings.artifacts_dir, .outbox_dir); a message may quote the unresolved one.
        self._roots = sorted({data_dir.resolve(), data_dir.absolute()}, key=lambda root: len(str(root)), reverse=True)
        under = "|".join(re.escape(str(root)) for root in self._roots)
        self._under_data = re.compile(rf"{_PATH_START}(?:{under})/")

    def relative(self, path: str) -> str:
        """`path` relative to the data directory (`outbox/<video_id>/video.mp4`); outside it, its file name alone."""
        given = Path(path)
        for root in self._roots:
            if given.is_relative_to(root):
                return given.relative_to(root).as_posix()
        return given.name

    def scrub(self, text: str) -> str:
        """`text` (an error message, ffmpeg's or a tool's) with paths under the data directory made relative to it
        and any other absolute path cut to its file name."""
        text = self._under_data.sub("", _FILE_URL.sub("", text))
        return _ABSOLUTE_PATH.sub(lambda match: match.group().rstrip("/").rsplit("/", 1)[-1], text)

    def scrub_entry(self, entry: dict[str, Any]) -> dict[str, Any]:
        """An error-log entry with every text in it scrubbed."""
        return {key: self.scrub(value) if isinstance(value, str) else value for key, value in entry.items()}
