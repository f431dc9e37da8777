"""Text that PostgreSQL would refuse: a NUL character, or a lone surrogate (no UTF-8 encoding). Inputs are refused
with a reason before they go anywhere; text the pipeline writes itself (error messages, provider answers) is made
storable, so no ledger write can fail on its value and retry forever."""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode text)"
    return None


def storable(value: str) -> str:
    """`value` with what PostgreSQL refuses replaced by U+FFFD."""
    if text_problem(value) is None:
        return value
    return "".join(REPLACEMENT if c == "\x00" or 0xD800 <= ord(c) <= 0xDFFF else c for c in value)


def storable_json(value: Any) -> Any:
    """A JSON-ready value whose every string (keys too) is storable (jsonb refuses \\u0000 as well)."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(str(k)): storable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_json(v) for v in value]
    return value


_EMAIL = re.compile(r"([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+)")


def masked(text: str) -> str:
    """`text` fit for a log line: e-mail addresses keep their first letter and domain (`a***@example.com`)."""
    return _EMAIL.sub(r"\1***@\2", text)


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~=&\"'])")


def markdown_literal(value: str) -> str:
    """`value` as markdown that renders it verbatim: no link, image, HTML or emphasis a caller could slip into a
    page that renders it (the Temporal UI renders workflow summaries as markdown)."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", value.replace("\n", " "))
