"""A provider's charge on local disk the moment it arrives, before the ledger write: if the database is away and the
worker then dies, the next attempt of the stage (any worker on this machine) books it from here.

One JSON line per report in `<artifact dir>/.charges-<stage>.jsonl`; reports of one attempt replace each other in
the ledger (its key), so replaying a line twice books it once.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from core.records import CostLine


@dataclass(frozen=True)
class JournalLine:
    video_attempt: int
    attempt_key: int
    cost: CostLine


def journal_path(artifact_dir: str, stage: str) -> Path:
    return Path(artifact_dir) / f".charges-{stage}.jsonl"


def append(path: Path, line: JournalLine) -> bool:
    """Write one report durably; False when the disk refused it (full): the ledger write still follows."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as journal:
            journal.write(_encode(line))
            journal.flush()
            os.fsync(journal.fileno())
        return True
    except OSError:
        return False


def read(path: Path) -> list[JournalLine]:
    """Every complete line (a line cut short by a death mid-write is skipped)."""
    lines: list[JournalLine] = []
    with contextlib.suppress(FileNotFoundError):
        for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(raw)
                cost = CostLine(
                    str(entry["service"]), str(entry["operation"]), float(entry["amount_usd"]), dict(entry["metadata"])
                )
                lines.append(JournalLine(int(entry["video_attempt"]), int(entry["attempt_key"]), cost))
            except (ValueError, KeyError, TypeError):
                continue
    return lines


def forget(path: Path, video_attempt: int, attempt_key: int) -> None:
    """Drop the lines of an attempt whose charge the ledger settled (its stage succeeded)."""
    kept = [line for line in read(path) if (line.video_attempt, line.attempt_key) != (video_attempt, attempt_key)]
    with contextlib.suppress(OSError):
        if not kept:
            path.unlink(missing_ok=True)
            return
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(_encode(line) for line in kept), encoding="utf-8")
        tmp.replace(path)


def _encode(line: JournalLine) -> str:
    cost = line.cost
    entry = {
        "video_attempt": line.video_attempt,
        "attempt_key": line.attempt_key,
        "service": cost.service,
        "operation": cost.operation,
        "amount_usd": cost.amount_usd,
        "metadata": cost.metadata,
    }
    return json.dumps(entry) + "\n"
