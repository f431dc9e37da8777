"""The YouTube collection's series on the API's /metrics: each channel's last success and outcome per API, and
today's quota use and what is left under the deployment's limits."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import generate_latest

from api.metrics import ApiMetrics
from ledger.youtube_metrics import CollectionStatus


def test_collection_runs_and_quota_become_series() -> None:
    metrics = ApiMetrics({"youtube": 10_000, "youtube.analytics": 500})
    ok_at = datetime(2026, 12, 7, 10, tzinfo=UTC)
    metrics.update_collection(
        [
            CollectionStatus("chan-a", "data", "ok", ok_at, ok_at, 120),
            CollectionStatus("chan-b", "analytics", "auth_failed", ok_at, None, 0),
        ],
        {"youtube": 2_500},
    )
    text = generate_latest(metrics.registry).decode()
    success = 'ytempire_youtube_collection_last_success_timestamp_seconds{api="data",channel="chan-a"} 1.7966376e+09'
    assert success in text and ok_at.timestamp() == 1.7966376e09
    assert 'ytempire_youtube_collection_last_ok{api="analytics",channel="chan-b"} 0.0' in text
    assert 'channel="chan-b"' not in text.split("ytempire_youtube_collection_last_success")[1].split("# HELP")[0]
    assert 'ytempire_youtube_collection_last_rows{api="data",channel="chan-a"} 120.0' in text
    assert 'ytempire_provider_quota_left_units{bucket="youtube"} 7500.0' in text
    assert 'ytempire_provider_quota_left_units{bucket="youtube.analytics"} 500.0' in text
    assert 'ytempire_provider_quota_used_units{bucket="youtube.analytics"} 0.0' in text
