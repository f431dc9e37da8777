"""Run an external tool to completion from async code, killing it if the caller is cancelled."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcResult:
    returncode: int
    stdout: str
    stderr: str


async def run_capture(argv: list[str]) -> ProcResult:
    """Run ``argv`` with stdin closed and return its exit status and decoded output.

    FileNotFoundError when the tool is not installed; the caller says which package provides it."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await proc.communicate()
    except BaseException:
        # A cancelled activity must not leave ffmpeg (or espeak-ng) running in the background.
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return ProcResult(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
