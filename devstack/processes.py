"""Background processes tracked by PID files, stopped by PID (never by name)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ManagedProcess:
    name: str
    argv: list[str]
    run_dir: Path
    log_dir: Path
    _popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """The recorded PID if that process is still ours (same program; a reused PID runs something else)."""
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ValueError):
            return None
        return pid if cmdline and cmdline[0].decode(errors="replace") == self.argv[0] else None

    def start(self, env: dict[str, str], cwd: Path) -> int:
        if (pid := self.pid()) is not None:
            return pid
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        self._popen = proc
        self.pid_file.write_text(str(proc.pid))
        return proc.pid

    def alive(self) -> bool:
        if self._popen is not None:  # started by this process: ask the kernel through our child handle
            return self._popen.poll() is None
        pid = self.pid()
        return pid is not None and _state(pid) not in ("Z", "X")

    def stop(self, timeout: float = 15.0) -> None:
        pid = self.pid()
        if pid is not None:
            _signal(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.alive():
                _signal(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return "X"


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
