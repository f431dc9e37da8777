"""Tools run from a thread (the library's clip checks) end with the task awaiting them: a cancel kills the one running
at once, and the thread starts no more that live; output is kept and timeouts hold, as with subprocess.run."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest

from engines.proc import run_blocking, to_thread


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
    except (FileNotFoundError, ProcessLookupError, IndexError):  # reaped between open and read
        return False
    return state != "Z"


async def test_a_cancel_kills_the_tool_a_thread_runs(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    ran: list[str] = []

    def checks() -> None:  # like the library's clip checks: one tool after another
        for n in range(3):
            ran.append(f"check {n}")
            run_blocking(["sh", "-c", f"echo $$ > {pid_file}; exec sleep 30"], timeout=60)

    task = asyncio.create_task(to_thread(checks))
    while not pid_file.exists() or not pid_file.read_text().strip():  # noqa: ASYNC110 - another process writes it
        await asyncio.sleep(0.02)
    pid = int(pid_file.read_text())
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    while _alive(pid) and time.monotonic() - started < 5:  # noqa: ASYNC110 - polls a process
        await asyncio.sleep(0.05)
    assert not _alive(pid), "the tool outlived the cancel"
    assert time.monotonic() - started < 2
    await asyncio.sleep(0.5)
    assert ran == ["check 0"]  # the thread started no other tool


def test_output_and_timeouts_as_with_subprocess_run() -> None:
    done = run_blocking(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10)
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")
    big = run_blocking(["head", "-c", "300000", "/dev/zero"], timeout=10)  # more than a pipe holds
    assert len(big.stdout) == 300_000
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_blocking(["sleep", "30"], timeout=0.3)
    assert time.monotonic() - started < 3
