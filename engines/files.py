"""Files shared by reference (a hard link where the file system allows one, else a copy) and removed as one step."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def link_or_copy(source: Path, target: Path) -> Path:
    """`target` as a hard link to `source` (no copy of a large file), else a copy; replaces `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    tmp.replace(target)
    return target


def remove_tree(path: Path) -> bool:
    """Remove a directory as one step for its readers: renamed aside first (a reader sees all of it or nothing),
    then deleted. False when it was not there (another process removed it first)."""
    aside = path.with_name(f".removing.{path.name}.{os.getpid()}")
    try:
        path.rename(aside)
    except FileNotFoundError:
        return False
    shutil.rmtree(aside, ignore_errors=True)
    return True
