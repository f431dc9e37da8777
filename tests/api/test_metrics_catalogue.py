"""Every series the Grafana dashboard and the alert rules query is one we export (API /metrics and worker registry)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.testing import WorkflowEnvironment

from api.metrics import ApiMetrics
from core.records import GpuSnapshot
from core.settings import Settings
from ledger import Ledger
from ledger.breakers import save_state
from telemetry.gpu import GpuGauges, GpuSampler
from telemetry.worker_metrics import WorkerMetrics
from tests.integration import conftest as integration
from tests.integration.conftest import api_client, running_workers
from tests.telemetry.fake_nvml import GIB, FakeGpu, FakeNvml

settings = integration.settings  # the real-stack Settings fixture: tmp data dir, the dev server, fresh task queues

MONITORING = Path(__file__).resolve().parents[2] / "temporal-dev"
DASHBOARD = MONITORING / "grafana-dashboard.json"
ALERT_RULES = MONITORING / "alert-rules.yml"

# Sample names a family of each type puts on the wire (the parser reports a counter without its `_total`).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "info": ("_info",),
}

# Exposed series: sample name -> label names seen on it (None: declared, but no sample yet to show its labels).
Exposed = dict[str, set[str] | None]


def exposed_series(text: str) -> Exposed:
    """Every sample name the exposition text declares, with the label names of its samples."""
    series: Exposed = {}
    for family in text_string_to_metric_families(text):
        for suffix in SUFFIXES.get(family.type, ("",)):
            series.setdefault(family.name + suffix, None)
        for sample in family.samples:
            labels = series.get(sample.name) or set()
            series[sample.name] = labels | (set(sample.labels) - {"le", "quantile"})
    return series


_PROMQL_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool"}
_PROMQL_KEYWORDS |= {"offset", "inf", "nan"}


def promql_metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (function names, labels, keywords and durations removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries, incl. Grafana's $__rate_interval
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)  # label lists
    names = set()
    for match in re.finditer(r"(?<![\w$.])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _PROMQL_KEYWORDS:
            continue
        names.add(name)
    return names


def promql_label_matchers(expr: str) -> Iterator[tuple[str, str]]:
    """(metric, label) for each `metric{label op "value"}` matcher in the expression."""
    for match in re.finditer(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}", expr):
        for label in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", match.group(2)):
            yield match.group(1), label


def dashboard_exprs(path: Path) -> list[str]:
    """Every `expr` anywhere in a Grafana dashboard (panel targets, rows, templating)."""

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "expr" and isinstance(value, str):
                    yield value
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    return list(walk(json.loads(path.read_text())))


def alert_rule_exprs(path: Path) -> list[str]:
    doc = yaml.safe_load(path.read_text())
    return [str(rule["expr"]) for group in doc["groups"] for rule in group["rules"]]


def problems(exprs: list[str], exposed: Exposed) -> dict[str, list[str]]:
    """Per expression, what it reads that we do not export: unknown series, foreign series, unknown labels."""
    found: dict[str, list[str]] = {}
    for expr in exprs:
        names = promql_metric_names(expr)
        issues = [f"not a ytempire_ series: {n}" for n in sorted(names) if not n.startswith("ytempire_")]
        issues += [f"not exported: {n}" for n in sorted(names) if n.startswith("ytempire_") and n not in exposed]
        if not names:
            issues.append("reads no series")
        for metric, label in promql_label_matchers(expr):
            labels = exposed.get(metric)
            if labels is not None and label not in labels:
                issues.append(f"{metric} has no label {label!r} (has {sorted(labels)})")
        if issues:
            found[expr] = issues
    return found


def observed_worker_metrics() -> WorkerMetrics:
    """A worker registry with one observation in each labelled series, so their labels show in the text."""
    metrics = WorkerMetrics()
    metrics.render_schedule_to_start.labels("gpu").observe(0.04)
    metrics.stage_seconds.labels("video_rendering").observe(12.5)
    metrics.stage_failures.labels("video_rendering", "FfmpegFailed").inc()
    metrics.cost_alerts.labels("warning").inc()
    metrics.record_cost("video_rendering", "gpu_compute", 0.012)
    sampler = GpuSampler(metrics.gpu, FakeNvml([FakeGpu(utilization=77)]))
    assert sampler.open()
    sampler.sample()
    sampler.close()
    return metrics


def text_of(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


async def test_dashboard_and_alerts_read_only_exported_series(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger, pg_pool: asyncpg.Pool
) -> None:
    service = f"catalogue-{uuid.uuid4().hex[:8]}"
    await save_state(pg_pool, service, "open", 5)
    metrics = observed_worker_metrics()
    try:
        # The real app over its lifespan, and real workers of every role hosted on the worker registry.
        async with api_client(settings) as api, running_workers(dev_env, settings, ledger, metrics=metrics):
            response = await api.get("/metrics")
            worker_text = text_of(metrics.registry)
    finally:
        await pg_pool.execute("DELETE FROM circuit_breakers WHERE service = $1", service)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    api_text = response.text

    exposed = exposed_series(api_text) | exposed_series(worker_text)
    api_only = exposed_series(api_text)
    for name in (
        "ytempire_videos",
        "ytempire_queue_depth",
        "ytempire_videos_halted",
        "ytempire_video_cost_avg_usd",
        "ytempire_video_cost_p95_usd",
        "ytempire_processing_rate_per_hour",
        "ytempire_error_rate",
        "ytempire_circuit_breaker_open",
        "ytempire_ledger_up",
        "ytempire_service_cost_usd",
        "ytempire_stage_duration_seconds",
        "ytempire_cost_alerts_recent",
    ):
        assert name in api_only, name
    assert f'ytempire_circuit_breaker_open{{service="{service}"}} 1.0' in api_text
    assert "ytempire_ledger_up 1.0" in api_text
    assert 'ytempire_cost_usd_total{service="gpu_compute",stage="video_rendering"} 0.012' in worker_text
    assert "ytempire_circuit_breaker_state" in exposed  # the worker's own breakers, hosted by the pipeline role

    exprs = dashboard_exprs(DASHBOARD) + alert_rule_exprs(ALERT_RULES)
    assert len(exprs) >= 20
    assert problems(exprs, exposed) == {}
    used = set().union(*(promql_metric_names(e) for e in exprs))
    for name in (
        "ytempire_gpu_in_target_band",
        "ytempire_render_schedule_to_start_seconds_bucket",
        "ytempire_circuit_breaker_open",
        "ytempire_cost_usd_total",
    ):
        assert name in used, f"{name} is exported for the dashboard or alerts but neither reads it"


async def test_the_ledger_series_match_the_ledger(settings: Settings, pg_pool: asyncpg.Pool) -> None:
    async with api_client(settings) as api:
        text = (await api.get("/metrics")).text
        rows = await pg_pool.fetch("SELECT status, count(*) AS n FROM video_queue GROUP BY status")
    samples = {
        (s.name, s.labels.get("status")): s.value for f in text_string_to_metric_families(text) for s in f.samples
    }
    counts = {r["status"]: int(r["n"]) for r in rows}
    for status in ("queued", "processing", "completed", "failed", "cancelled", "halted"):
        assert samples[("ytempire_videos", status)] == counts.get(status, 0)
    assert samples[("ytempire_videos_halted", None)] == counts.get("halted", 0)


async def test_the_gpu_workers_reported_figures(settings: Settings, ledger: Ledger, pg_pool: asyncpg.Pool) -> None:
    """What gpu workers saved to the ledger shows on the API's /metrics; a worker silent for > 60 s does not."""
    tag = uuid.uuid4().hex[:8]
    gpu_host, bare_host, dead_host = (f"{name}-{tag}:9464" for name in ("render", "cpu-box", "gone"))
    sampler = GpuSampler(
        GpuGauges(CollectorRegistry()), FakeNvml([FakeGpu(utilization=77), FakeGpu(utilization=12, encoder_sessions=0)])
    )
    assert sampler.open()
    sampler.sample()
    sampler.close()
    await ledger.save_gpu_status(gpu_host, sampler.snapshot())
    await ledger.save_gpu_status(bare_host, GpuSnapshot(False, "library_not_found"))
    await ledger.save_gpu_status(dead_host, sampler.snapshot())
    await pg_pool.execute("UPDATE gpu_status SET sampled_at = NOW() - interval '2 minutes' WHERE host = $1", dead_host)
    try:
        async with api_client(settings) as api:
            text = (await api.get("/metrics")).text
    finally:
        await pg_pool.execute("DELETE FROM gpu_status WHERE host = ANY($1::text[])", [gpu_host, bare_host, dead_host])
    reported = {
        (
            s.name.removeprefix("ytempire_gpu_reported_"),
            s.labels.get("gpu") or s.labels["reason"],
            s.labels["host"],
        ): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("ytempire_gpu_reported_") and tag in s.labels["host"]
    }
    expected = {("available", "ok", gpu_host): 1, ("available", "library_not_found", bare_host): 0}
    for gpu, utilization, in_band, sessions in (("0", 77, 1, 2), ("1", 12, 0, 0)):
        expected |= {
            ("utilization_percent", gpu, gpu_host): utilization,
            ("in_target_band", gpu, gpu_host): in_band,
            ("memory_used_bytes", gpu, gpu_host): 3 * GIB,
            ("memory_total_bytes", gpu, gpu_host): 16 * GIB,
            ("encoder_sessions", gpu, gpu_host): sessions,
        }
    assert reported == expected  # and nothing of the host gone quiet
    assert "fresh within 60 s" in text


# --- the check itself: a doctored dashboard must be caught -------------------------------------------------------


@pytest.fixture
def bare_exposed() -> Exposed:
    """What the API and a worker declare, without a stack: enough to judge a dashboard copy."""
    return exposed_series(text_of(ApiMetrics().registry)) | exposed_series(text_of(observed_worker_metrics().registry))


def doctored(tmp_path: Path, *exprs: str) -> Path:
    dashboard = json.loads(DASHBOARD.read_text())
    dashboard["panels"][0]["targets"] += [{"refId": f"Z{i}", "expr": e} for i, e in enumerate(exprs)]
    copy = tmp_path / "grafana-dashboard.json"
    copy.write_text(json.dumps(dashboard))
    return copy


def test_the_real_dashboard_passes_the_bare_check(bare_exposed: Exposed) -> None:
    assert problems(dashboard_exprs(DASHBOARD) + alert_rule_exprs(ALERT_RULES), bare_exposed) == {}


def test_a_doctored_dashboard_fails(tmp_path: Path, bare_exposed: Exposed) -> None:
    unknown = "histogram_quantile(0.95, sum by (le) (rate(ytempire_render_queue_wait_seconds_bucket[5m])))"
    wrong_suffix = "rate(ytempire_cost_usd[5m])"  # a counter is only exported with _total
    foreign = "sum(rate(temporal_activity_execution_failed[5m]))"
    wrong_label = 'sum(ytempire_cost_alerts_total{level="warning"})'
    found = problems(dashboard_exprs(doctored(tmp_path, unknown, wrong_suffix, foreign, wrong_label)), bare_exposed)
    assert found == {
        unknown: ["not exported: ytempire_render_queue_wait_seconds_bucket"],
        wrong_suffix: ["not exported: ytempire_cost_usd"],
        foreign: ["not a ytempire_ series: temporal_activity_execution_failed"],
        wrong_label: ["ytempire_cost_alerts_total has no label 'level' (has ['kind'])"],
    }


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("ytempire_queue_depth >= 80", {"ytempire_queue_depth"}),
        (
            'histogram_quantile(0.95, sum by (le, queue) (rate(ytempire_x_bucket{queue=~"gpu|cpu"}[$__interval])))',
            {"ytempire_x_bucket"},
        ),
        ("a and on (instance, job, gpu) (b == 0)", {"a", "b"}),
        ("sum without (error_type) (increase(c_total[1h] offset 5m))", {"c_total"}),
        ("max by (bound) (ytempire_gpu_target_band_percent)", {"ytempire_gpu_target_band_percent"}),
    ],
)
def test_metric_names_of_promql(expr: str, names: set[str]) -> None:
    assert promql_metric_names(expr) == names
