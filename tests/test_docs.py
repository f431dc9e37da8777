"""The docs quote the code: where a page shows a table the code defines, the two must say the same."""

from __future__ import annotations

import re
from pathlib import Path

from api.mcp.tools import TOOL_ROUTES
from api.metrics import ApiMetrics
from core.domain import render_role, rendered_alike
from core.settings import environment_variables
from core.stage_table import STAGES
from providers.circuit_breaker import BreakerBoard
from telemetry.worker_metrics import WorkerMetrics
from tests.api.test_route_roles import ROUTE_ROLES

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
    columns = ("stage", "activity", "timeout", "attempts", "queue", "spec budget")
    assert [tuple(row[c] for c in columns) for row in rows] == [
        (
            spec.name,
            spec.activity,
            f"{spec.timeout.total_seconds():g} s",
            str(spec.max_attempts),
            render_queue_text() if spec.queue == "render" else spec.queue,
            f"${spec.base_cost_usd:.2f}",
        )
        for spec in STAGES
    ]


def test_the_mcp_tool_table_is_the_tool_table() -> None:
    rows = markdown_table(REPO / "docs" / "mcp.md", "## Tools")
    assert [(row["tool"], row["API route"], row["role needed"]) for row in rows] == [
        (
            f"`{tool.name}`",
            f"`{tool.method} {tool.path}`",
            role.value if (role := ROUTE_ROLES[tool.method, tool.path]) else "none",
        )
        for tool in TOOL_ROUTES
    ]


DOC_PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SETTINGS_PAGES = [REPO / "docs" / "configuration.md", REPO / "docs" / "providers.md"]


def quoted(pattern: str, pages: list[Path]) -> dict[str, str]:
    """Every match of `pattern` on the pages, with the page it is first quoted on."""
    found: dict[str, str] = {}
    for page in pages:
        for name in re.findall(pattern, page.read_text()):
            found.setdefault(name, page.name)
    return found


def variables_read_outside_settings() -> set[str]:
    """YTEMPIRE_* names the code reads itself (the embedded stack, n8n, the CLI scripts), not through Settings."""
    names: set[str] = set()
    for folder in ("devstack", "api", "temporal-dev", "integrations"):
        for path in (REPO / folder).rglob("*"):
            if path.suffix in {".py", ".sh", ".json"}:
                names.update(re.findall(r"YTEMPIRE_[A-Z0-9_]*[A-Z0-9]", path.read_text()))
    return names


def test_every_documented_variable_is_read_by_the_code() -> None:
    known = environment_variables() | variables_read_outside_settings()
    documented = quoted(r"\bYTEMPIRE_[A-Z0-9_]*[A-Z0-9]\b", DOC_PAGES)
    assert {name: page for name, page in documented.items() if name not in known} == {}


def test_every_setting_is_documented() -> None:
    documented = quoted(r"\bYTEMPIRE_[A-Z0-9_]*[A-Z0-9]\b", SETTINGS_PAGES)
    settings = {name for name in environment_variables() if name.startswith("YTEMPIRE_")}
    assert sorted(settings - set(documented)) == []


def exported_metric_names() -> set[str]:
    """Every series the API and a worker export (a worker's breaker board registers its own)."""
    registries = [ApiMetrics().registry, WorkerMetrics().registry]
    BreakerBoard(5, 60.0, registries[1])
    names: set[str] = set()
    for registry in registries:
        for family in registry.collect():
            # A labelled family has no samples until a label is used: its names come from its type.
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}.get(family.type, [])
            names.update([family.name, *(family.name + suffix for suffix in suffixes)])
    return names


def test_every_documented_metric_is_exported() -> None:
    exported = exported_metric_names()
    documented = quoted(r"\bytempire_[a-z0-9_]*[a-z0-9]\b", DOC_PAGES)
    assert {name: page for name, page in documented.items() if name not in exported} == {}


LAYERS = ["core", "engines", "providers", "stages", "ledger", "telemetry", "activities", "workflows", "workers", "api"]


def test_the_readme_describes_each_package_and_names_only_modules_that_exist() -> None:
    text = (REPO / "README.md").read_text()
    diagram = text[text.index("Each top-level package is one layer") : text.index("### The packages")]
    assert all(re.search(rf"^ .*\b{layer}\b", diagram, re.M) for layer in LAYERS + ["devstack"])
    packages = text[text.index("### The packages") : text.index("### The stages")]
    for layer in LAYERS:
        paragraph = next(p for p in packages.split("\n\n") if p.startswith(f"**`{layer}/`**"))
        for module in re.findall(r"`([\w/]+\.py)`", paragraph):
            matches = list((REPO / layer).rglob(module.rsplit("/", 1)[-1]))
            assert any(str(m).endswith(module) for m in matches), f"{layer}/ has no {module}"
        folders = re.findall(r"`([\w]+)/`", paragraph)
        assert all((REPO / layer / f).is_dir() or (REPO / f).is_dir() for f in folders), (layer, folders)
