"""The PostgreSQL ledger: a module per table, and `Ledger`, the one object the API and the workers hold."""

from __future__ import annotations

from ledger.audit import AuditLog
from ledger.costs import CostLedger
from ledger.event_store import EventStore
from ledger.events import EventLog
from ledger.gpu_status import GpuStatusTable
from ledger.principals import PrincipalStore
from ledger.quota import ProviderQuota
from ledger.rate_limits import RateWindows
from ledger.rollups import Rollups
from ledger.tables import create_pool
from ledger.videos import VideoQueue
from ledger.youtube_metrics import YouTubeMetrics

__all__ = ["Ledger", "create_pool"]


class Ledger(
    VideoQueue,
    CostLedger,
    EventLog,
    EventStore,
    ProviderQuota,
    GpuStatusTable,
    PrincipalStore,
    RateWindows,
    AuditLog,
    YouTubeMetrics,
    Rollups,
):
    """Every table's queries on one pool."""
