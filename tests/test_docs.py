"""The docs quote the code: where a page shows a table the code defines, the two must say the same."""

from __future__ import annotations

from pathlib import Path

from core.domain import render_role, rendered_alike
from core.stage_table import STAGES

REPO = Path(__file__).resolve().parent.parent


def markdown_table(page: Path, heading: str) -> list[dict[str, str]]:
    """The first table under `heading`, as one dict per row keyed by the header cells."""
    lines = page.read_text().splitlines()
    start = lines.index(heading)
    table: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            table.append([cell.strip() for cell in line.strip("|").split("|")])
        elif table:
            break
    assert table, f"no table under {heading!r} in {page.name}"
    header, _rule, *body = table
    return [dict(zip(header, row, strict=True)) for row in body]


def render_queue_text() -> str:
    roles = {role: rendered_alike(c) for c in ("simple", "complex") for role in [render_role(c)]}
    return " / ".join(f"{role} ({', '.join(complexities)})" for role, complexities in roles.items())


def test_readme_stage_table_is_the_stage_table() -> None:
    rows = markdown_table(REPO / "README.md", "### The stages")
    assert [(row["stage"], row["activity"], row["timeout"], row["attempts"], row["queue"]) for row in rows] == [
        (
            spec.name,
            spec.activity,
            f"{spec.timeout.total_seconds():g} s",
            str(spec.max_attempts),
            render_queue_text() if spec.queue == "render" else spec.queue,
        )
        for spec in STAGES
    ]
