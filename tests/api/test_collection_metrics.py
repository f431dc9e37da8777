"""The YouTube collection's series on the API's /metrics: each channel's last success and outcome per API, and
today's quota use and what is left under the deployment's limits."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import generate_latest

from api.metrics import ApiMetrics
from ledger.performance import ChannelTotal
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


def test_each_channels_last_day_becomes_series() -> None:
    metrics = ApiMetrics()
    metrics.update_channels(
        [
            ChannelTotal("chan-a", 1200, 300.0, 2.5, 1.0, 1.5, 3, 0),
            ChannelTotal("chan-b", 40, 10.0, None, 0.8, -0.8, 1, 1),
        ]
    )
    text = generate_latest(metrics.registry).decode()
    assert 'ytempire_channel_margin_usd_24h{channel="chan-a"} 1.5' in text
    assert 'ytempire_channel_margin_usd_24h{channel="chan-b"} -0.8' in text
    assert 'ytempire_channel_revenue_usd_24h{channel="chan-a"} 2.5' in text
    assert 'ytempire_channel_revenue_usd_24h{channel="chan-b"}' not in text  # unknown, not zero
    assert 'ytempire_channel_views_24h{channel="chan-b"} 40.0' in text
