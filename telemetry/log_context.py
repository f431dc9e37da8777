"""Every log line a worker writes inside an activity says which video, stage and attempt it belongs to.

Activities log through `activity.logger`, which appends that context itself; the engines they call (ffmpeg runner,
espeak-ng, media library, ...) keep plain module loggers, and this filter appends the same context to their lines.
"""

from __future__ import annotations

import logging

from temporalio import activity


def activity_context() -> str | None:
    """The running activity as `activity.logger` writes it, or None outside an activity."""
    if not activity.in_activity():
        return None
    info = activity.info()
    details = {
        "activity_type": info.activity_type,
        "attempt": info.attempt,
        "workflow_id": info.workflow_id,
        "task_queue": info.task_queue,
    }
    return str(details)


class ActivityContextFilter(logging.Filter):
    """Appends the running activity's details to records that do not carry them yet (install it on a handler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "temporal_activity") and (context := activity_context()) is not None:
            record.msg = f"{record.getMessage()} ({context})"
            record.args = None
        return True


def install(handler: logging.Handler) -> None:
    if not any(isinstance(f, ActivityContextFilter) for f in handler.filters):
        handler.addFilter(ActivityContextFilter())
