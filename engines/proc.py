"""Every external tool (ffmpeg, ffprobe, espeak-ng) runs through here, so none outlives what started it.

A child dies with its worker (the kernel SIGKILLs it when the worker dies, SIGKILL included: Linux's
PR_SET_PDEATHSIG) and with the task awaiting it (a cancelled activity stops it before CancelledError propagates).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

TERM_GRACE_SECONDS = 2.0
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ProcResult:
    returncode: int
    stdout: str
    stderr: str


def die_with_parent() -> Callable[[], None] | None:
    """preexec_fn making the kernel SIGKILL the child if this process dies without cleaning up (Linux only).

    The signal follows the forking *thread*: asyncio forks on the event-loop thread, and a blocking run holds its
    thread until the child ends, so neither thread can go first.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork: no dlopen in the child
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


async def spawn(argv: list[str]) -> asyncio.subprocess.Process:
    """Start `argv` with stdin closed and stdout/stderr piped; the caller `stop`s it if it gives up on it.

    FileNotFoundError when the tool is not installed; the caller says which package provides it."""
    return await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=die_with_parent(),
    )


async def stop(proc: asyncio.subprocess.Process, grace_seconds: float = TERM_GRACE_SECONDS) -> None:
    """SIGTERM (ffmpeg finishes its file cleanly), SIGKILL after `grace_seconds` (0: at once); always reaps."""
    if proc.returncode is not None:
        return
    try:
        if grace_seconds > 0:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), grace_seconds)
                return
            except TimeoutError:
                pass
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
    finally:
        if proc.returncode is None:  # a second cancel cut the wait short
            with contextlib.suppress(ProcessLookupError):
                proc.kill()


async def run_capture(argv: list[str]) -> ProcResult:
    """Run `argv` to completion and return its exit status and decoded output; killed if the caller is cancelled."""
    proc = await spawn(argv)
    try:
        out, err = await proc.communicate()
    except BaseException:
        await stop(proc, grace_seconds=0)
        raise
    assert proc.returncode is not None
    return ProcResult(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


def run_blocking(argv: list[str], *, timeout: float) -> ProcResult:
    """`run_capture` for synchronous code (library checks in a thread, encoder probes at start-up).

    OSError when the tool cannot start; subprocess.TimeoutExpired (the child killed) after `timeout` seconds."""
    done = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        check=False,
        preexec_fn=die_with_parent(),
    )
    return ProcResult(done.returncode, done.stdout, done.stderr)
