"""`python -m devstack {run,demo,up,down,status}`: the embedded stack behind `make run`, `make demo`, `make up`."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from core.settings import Settings
from devstack.demo import enqueue, follow
from devstack.stack import Stack, StackError


def _make_video(stack: Stack, topic: str, complexity: str) -> str | None:
    """Queue one video, follow it, and return its MP4's absolute path (None when it did not complete)."""
    queued = enqueue(stack.api_url, topic, stack.api_headers, complexity=complexity, verify=stack.api_verify)
    print(f"queued video {queued['video_id']} (position {queued['position']}, eta {queued['eta']} s): {topic}")
    outcome = follow(stack.api_url, str(queued["video_id"]), stack.api_headers, verify=stack.api_verify)
    print(f"Temporal UI: {outcome.temporal_ui}")
    if outcome.status != "completed" or not outcome.mp4_path:
        print(f"video {outcome.status}: {outcome.error}", file=sys.stderr)
        return None
    mp4 = str(stack.data_dir / outcome.mp4_path)  # the API answers with paths relative to the stack's data dir
    print(f"MP4: {mp4}")
    return mp4


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("command", choices=["run", "demo", "up", "down", "status"])
    parser.add_argument("--topic", default=os.environ.get("YTEMPIRE_DEMO_TOPIC", "octopus hearts"))
    parser.add_argument(
        "--complexity",
        default=os.environ.get("YTEMPIRE_DEMO_COMPLEXITY", "simple"),
        choices=["simple", "complex", "premium"],
    )
    args = parser.parse_args()
    stack = Stack(Settings())

    if args.command == "down":
        stack.down()
        return 0
    if args.command == "status":
        for name, alive in stack.status().items():
            print(f"{name:<10} {'up' if alive else 'down'}")
        return 0 if all(stack.status().values()) else 1
    already_up = all(stack.status().values())  # `make up` earlier: a demo leaves that stack running
    try:
        stack.up()
    except (StackError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        stack.down()
        return 1
    if args.command == "up":
        return 0

    # Ctrl-C and SIGTERM both end the session through KeyboardInterrupt, even when started with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    mp4: str | None = None
    try:
        if args.command == "run":
            print(f"console: {stack.api_url}/ (sign in with the API key in {stack.settings.admin_key_path})")
        mp4 = _make_video(stack, args.topic, args.complexity)
        code = 0 if mp4 else 1
        if args.command == "run":
            print(
                f"serving: console {stack.api_url}/ · API {stack.api_url}/docs · MCP {stack.api_url}/mcp · "
                f"Temporal UI {stack.settings.temporal_ui_url} · Ctrl-C stops"
            )
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        code = 0 if args.command == "run" else 130
    except Exception as err:  # a broken demo still has to take the stack down
        print(f"error: {err}", file=sys.stderr)
        code = 1
    finally:
        if already_up and args.command == "demo":
            print(f"stack left running (started by `make up`): {stack.api_url}/metrics", file=sys.stderr)
        else:
            stack.down(say=lambda msg: print(msg, file=sys.stderr) if args.command == "demo" else print(msg))
    if args.command == "demo" and mp4:
        print(mp4)  # `make demo`'s last line is the path of the final MP4
    return code


if __name__ == "__main__":
    sys.exit(main())
