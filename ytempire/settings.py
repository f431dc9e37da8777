"""All configuration, read once from `YTEMPIRE_*` environment variables (and `.env` when present)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ytempire.domain import TaskQueues


class Settings(BaseSettings):
    """Every knob of the pipeline; defaults run the embedded stack on one machine."""

    model_config = SettingsConfigDict(env_prefix="YTEMPIRE_", env_file=".env", extra="ignore")

    temporal_address: str = Field(
        "127.0.0.1:7233", validation_alias=AliasChoices("YTEMPIRE_TEMPORAL_ADDRESS", "TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = "default"
    temporal_ui_url: str = "http://127.0.0.1:8233"
    database_url: str = Field(
        "postgresql://ytempire@127.0.0.1:54329/ytempire",
        validation_alias=AliasChoices("YTEMPIRE_DATABASE_URL", "DATABASE_URL"),
    )

    data_dir: Path = Path("data")
    media_library_dir: Path | None = None

    task_queue_pipeline: str = "pipeline"
    task_queue_cpu: str = "cpu"
    task_queue_gpu: str = "gpu"
    pipeline_max_concurrent: int = Field(8, ge=1)
    cpu_max_concurrent: int = Field(4, ge=1)
    gpu_max_concurrent: int = Field(3, ge=1)

    queue_capacity: int = Field(100, ge=1, description="videos waiting at most; the next gets HTTP 429")
    queue_depth_warning: int = 80
    queue_depth_critical: int = 95
    queue_retry_after_seconds: int = Field(30, ge=1, description="Retry-After sent with a 429")
    max_video_attempts: int = Field(3, ge=1, description="whole-video attempts (the first plus retries)")

    cost_cap_default_usd: float = Field(3.00, gt=0, description="a video's budget when the request sets none")
    cost_cap_max_usd: float = Field(3.00, gt=0, description="the highest budget a request may ask for")
    cost_cap_ceiling_usd: float = Field(10.00, gt=0, description="no operator approval may raise a cap above this")
    cost_warning_usd: float = 2.50
    cost_critical_usd: float = 2.80
    cost_halt_timeout_seconds: float = Field(86400, gt=0, description="a halted video fails after this long")
    # Fixed price per stage, charged instead of the provider's own cost: budget drills and cost tests.
    stage_price_overrides: dict[str, float] = Field(default_factory=dict)

    alert_webhook_url: str | None = Field(None, description="cost alerts are POSTed here, signed (HMAC-SHA256)")
    alert_webhook_secret: SecretStr | None = None
    alert_webhook_timeout_seconds: float = Field(10.0, gt=0)
    circuit_breaker_failure_threshold: int = Field(5, ge=1)
    circuit_breaker_cooldown_seconds: float = Field(60.0, gt=0)

    stream_poll_seconds: float = Field(0.5, gt=0, description="WebSocket streams: one status poll per video per …")

    api_host: str = "127.0.0.1"
    api_port: int = 8000

    render_heartbeat_timeout_seconds: float = Field(15.0, gt=0)
    worker_metrics_port: int = Field(9464, ge=0, description="Prometheus port of a worker process (0: off)")
    worker_sdk_metrics_port: int = Field(9465, ge=0, description="Temporal SDK metrics of a worker process (0: off)")
    render_preset: str = "veryfast"
    espeak_voice: str = "en-us"
    words_per_minute: int = Field(165, ge=80, le=400)

    # Local providers cost nothing in API fees; their compute is charged so that totals stay meaningful.
    compute_usd_per_render_second: float = 0.001
    storage_usd_per_gb: float = 0.02
    overhead_usd_per_stage: float = 0.002

    @cached_property
    def artifacts_dir(self) -> Path:
        return (self.data_dir / "videos").resolve()

    @cached_property
    def outbox_dir(self) -> Path:
        return (self.data_dir / "outbox").resolve()

    @property
    def task_queues(self) -> TaskQueues:
        return TaskQueues(pipeline=self.task_queue_pipeline, cpu=self.task_queue_cpu, gpu=self.task_queue_gpu)
