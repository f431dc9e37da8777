"""Enqueue a sample video through the API and follow it in the terminal."""

from __future__ import annotations

import ssl
import sys
import time
from dataclasses import dataclass

import httpx

DEMO_CHANNEL = "0c7a4d55-8c1b-4f4e-9b55-3f0f2f7d9a01"
DEMO_USER = "6f1e2b9c-5a44-4e0b-8d3c-2a9b7c1d4e02"
FINAL = ("completed", "failed", "cancelled")


@dataclass(frozen=True)
class DemoOutcome:
    status: str
    mp4_path: str | None  # relative to the data directory, as the API gives it
    temporal_ui: str
    error: str | None


def enqueue(
    api_url: str,
    topic: str,
    headers: dict[str, str],
    *,
    complexity: str = "simple",
    priority: int = 7,
    verify: ssl.SSLContext | bool = True,
) -> dict[str, object]:
    response = httpx.post(
        f"{api_url}/pipeline/queue",
        json={
            "topic": topic,
            "channel_id": DEMO_CHANNEL,
            "user_id": DEMO_USER,
            "priority": priority,
            "complexity": complexity,
        },
        headers=headers,
        timeout=30,
        verify=verify,
    )
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def follow(
    api_url: str,
    video_id: str,
    headers: dict[str, str],
    *,
    timeout: float = 900,
    verify: ssl.SSLContext | bool = True,
) -> DemoOutcome:
    """Poll the status endpoint and draw a progress bar until the video is final."""
    tty = sys.stdout.isatty()
    started = time.monotonic()
    last_key: tuple[str, str] | None = None
    while True:
        body = httpx.get(f"{api_url}/pipeline/status/{video_id}", headers=headers, timeout=30, verify=verify).json()
        percent = float(body["progress"])
        bar = "#" * int(percent / 5) + "-" * (20 - int(percent / 5))
        line = (
            f"[{bar}] {percent:5.1f} %  {body['status']:<10} {body['stage'] or '':<20} "
            f"${body['cost_usd']:.3f}  {time.monotonic() - started:5.1f} s"
        )
        if tty:
            sys.stdout.write("\r" + line)
            sys.stdout.flush()
        elif (body["status"], body["stage"]) != last_key:
            print(line, flush=True)  # without a terminal, one line per stage
        last_key = (body["status"], body["stage"])
        if body["status"] in FINAL:
            if tty:
                sys.stdout.write("\n")
            outputs = body.get("outputs") or {}
            errors = body.get("errors") or []
            return DemoOutcome(
                status=body["status"],
                mp4_path=outputs.get("mp4_path"),
                temporal_ui=body["temporal_ui"],
                error=errors[-1]["message"] if errors else None,
            )
        if time.monotonic() - started > timeout:
            return DemoOutcome("timeout", None, body["temporal_ui"], f"not done after {timeout:.0f} s")
        time.sleep(0.5)
