"""A content-addressed cache of provider results: a retried stage or a repeated request pays nothing twice.

The key is a SHA-256 over (kind, provider, variant such as model or voice, the input), so a change of model,
voice or text is a miss. An entry is a directory of files, published with an atomic rename; readers never see
a half-written entry, and two workers storing the same key both end with one complete entry.

    cache = ContentCache(settings.provider_cache_dir, on_lookup=metrics.record_cache_lookup)
    key = cache_key("script", "openai", "gpt-4o-mini", {"topic": ..., "seconds": 60})
    if (entry := cache.lookup("script", key)) is not None:
        script = entry / "script.json"
    else:
        ... call the provider ...
        cache.store("script", key, {"script.json": path})
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from engines.files import link_or_copy


def cache_key(kind: str, provider: str, variant: str, payload: object) -> str:
    canonical = json.dumps([kind, provider, variant, payload], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class ContentCache:
    def __init__(
        self,
        root: Path,
        *,
        enabled: bool = True,
        on_lookup: Callable[[str, bool], None] | None = None,
    ) -> None:
        self._root = root
        self._enabled = enabled
        self._on_lookup = on_lookup

    @property
    def enabled(self) -> bool:
        return self._enabled

    def _entry(self, kind: str, key: str) -> Path:
        return self._root / kind / key[:2] / key

    def lookup(self, kind: str, key: str) -> Path | None:
        """The entry's directory, or None (a miss, or the cache is off)."""
        if not self._enabled:
            return None
        entry = self._entry(kind, key)
        hit = _touch(entry)
        if self._on_lookup is not None:
            self._on_lookup(kind, hit)
        return entry if hit else None

    def store(self, kind: str, key: str, files: Mapping[str, Path]) -> None:
        """Publish `files` (entry name -> source path) under `key`; a no-op when the cache is off or has it."""
        entry = self._entry(kind, key)
        if not self._enabled or entry.is_dir():
            return
        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key[:12]}.", dir=entry.parent))
        try:
            for name, source in files.items():
                link_or_copy(source, staging / name)
            try:
                staging.rename(entry)
            except OSError:
                if not entry.is_dir():  # someone else published the same key first: theirs is as good
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _touch(entry: Path) -> bool:
    """Mark `entry` as just used (the pruner removes the least recently used first); False when it is not there."""
    try:
        os.utime(entry)
    except (FileNotFoundError, NotADirectoryError):
        return False
    return entry.is_dir()
