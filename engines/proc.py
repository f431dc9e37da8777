"""Every external tool (ffmpeg, ffprobe, espeak-ng) runs through here, so none outlives what started it.

A child dies with its worker (the kernel SIGKILLs it when the worker dies, SIGKILL included: Linux's
PR_SET_PDEATHSIG) and with the task awaiting it (a cancelled activity stops it before CancelledError propagates;
for a tool run from a thread, `to_thread` and `run_blocking` do it).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

TERM_GRACE_SECONDS = 2.0
POLL_SECONDS = 0.1
P = ParamSpec("P")
R = TypeVar("R")
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
    """`run_capture` for synchronous code (library checks in a thread, encoder probes at start-up); run in a thread
    by `to_thread`, the child is killed within a tenth of a second of the awaiting task's cancel.

    OSError when the tool cannot start; subprocess.TimeoutExpired (the child killed) after `timeout` seconds."""
    stopped = _stop_event.get()
    deadline = time.monotonic() + timeout
    with subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        preexec_fn=die_with_parent(),
    ) as proc:
        while True:
            try:
                out, err = proc.communicate(timeout=POLL_SECONDS)  # retried, it loses no output
                return ProcResult(proc.returncode, out, err)
            except subprocess.TimeoutExpired:
                if (stopped is not None and stopped.is_set()) or time.monotonic() > deadline:
                    proc.kill()
                    proc.communicate()
                    if stopped is not None and stopped.is_set():
                        raise ToolStopped(f"{argv[0]} stopped: the task awaiting it was cancelled") from None
                    raise subprocess.TimeoutExpired(argv, timeout) from None


class ToolStopped(Exception):
    """The tool `run_blocking` ran was killed because the task awaiting its thread was cancelled."""


_stop_event: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar("ytempire_tool_stop", default=None)


async def to_thread(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`asyncio.to_thread` for code that runs tools through `run_blocking`: a cancel of the awaiting task kills the
    tool running now, and any the thread starts after, at once (a plain thread would go on until each ends)."""
    stop = threading.Event()
    token = _stop_event.set(stop)  # to_thread runs `fn` in a copy of this context
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except asyncio.CancelledError:
        stop.set()
        raise
    finally:
        _stop_event.reset(token)
