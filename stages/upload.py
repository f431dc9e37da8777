"""upload_preparation: the outbox (video, thumbnail, videos.insert metadata) always; then, when configured,
the YouTube upload from that outbox. Dry run (outbox only, `local`) is the default."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from temporalio.exceptions import ApplicationError

from core import cost_policy
from core.domain import StageInput, VideoRequest
from core.errors import ErrorType
from core.outbox import METADATA_FILE, THUMBNAIL_FILE, VIDEO_FILE
from core.records import CostLine, StageOutcome
from core.settings import Settings
from engines.files import link_or_copy
from engines.media.thumbnail import make_thumbnail
from engines.script.writer import Script
from providers.context import ProviderContext
from providers.youtube_upload import upload_from_outbox
from stages.selection import provider_for

DESCRIPTION_MAX_CHARS = 5000


async def prepare_upload(
    ctx: ProviderContext, inp: StageInput, video: Path, script: Script, title_card: Path
) -> StageOutcome:
    provider = provider_for(ctx.settings, "upload", inp.request.complexity)
    outbox = Path(inp.outbox_dir) / inp.request.video_id
    outbox.mkdir(parents=True, exist_ok=True)
    final = await asyncio.to_thread(link_or_copy, video, outbox / VIDEO_FILE)
    thumbnail = await asyncio.to_thread(make_thumbnail, title_card, outbox / THUMBNAIL_FILE)
    credits = _credit_lines(inp)
    metadata: dict[str, Any] = {
        "video_id": inp.request.video_id,
        "channel_id": inp.request.channel_id,
        "files": {"video": str(final), "thumbnail": str(thumbnail)},
        "credits": credits,
        # The body of a YouTube Data API v3 videos.insert call (part=snippet,status).
        "youtube": youtube_body(ctx.settings, script, credits, inp.request.language),
    }
    metadata_path = outbox / METADATA_FILE
    _write_json(metadata_path, metadata)
    size = final.stat().st_size
    cost = CostLine(
        "storage",
        "outbox",
        ctx.settings.overhead_usd_per_stage + cost_policy.storage_usd(ctx.settings, size),
        {"bytes": size},
    )
    artifacts = {"outbox_video": str(final), "thumbnail": str(thumbnail), "metadata": str(metadata_path)}
    details: dict[str, str | float] = {"bytes": size, "provider": "outbox"}
    if provider == "youtube":
        # The API is free in dollars; what it costs is quota units, recorded with the cost row.
        uploaded = await upload_from_outbox(ctx, outbox)
        artifacts["youtube_upload"] = str(uploaded.state_path)
        details.update(provider="youtube", youtube_video_id=uploaded.youtube_video_id, quota_units=uploaded.quota_units)
        usage = {
            "youtube_video_id": uploaded.youtube_video_id,
            "quota_units": uploaded.quota,
            "upload_sessions": uploaded.sessions,
            "resumed_from_bytes": uploaded.resumed_from,
            "publish_at": uploaded.publish_at,
        }
        cost = CostLine("youtube", "videos.insert", cost.amount_usd, {**cost.metadata, **usage})
    elif provider != "local":
        raise ApplicationError(
            f"unknown upload provider {provider!r}", type=ErrorType.INVALID_CONFIGURATION, non_retryable=True
        )
    return StageOutcome(artifacts, cost, details)


def _credit_lines(inp: StageInput) -> list[str]:
    """The stock photos' credit lines (media_collection's credits.json), once each, in order."""
    path = inp.artifacts.get("credits")
    if not path or not Path(path).exists():
        return []
    entries = json.loads(Path(path).read_text()).get("credits", [])
    return list(dict.fromkeys(str(entry["credit"]) for entry in entries if entry.get("credit")))


def youtube_description(description: str, credits: list[str]) -> str:
    """The description with the photo credits the Pexels/Pixabay licences ask for, within YouTube's rules
    (at most 5000 characters, no angle brackets)."""
    block = "\n\nCredits:\n" + "\n".join(credits) if credits else ""
    text = description[: max(0, DESCRIPTION_MAX_CHARS - len(block))] + block
    return text.replace("<", "‹").replace(">", "›")[:DESCRIPTION_MAX_CHARS]


def youtube_body(
    settings: Settings, script: Script, credits: list[str] | None = None, language: str = "en"
) -> dict[str, Any]:
    return {
        "snippet": {
            "title": script.title,
            "description": youtube_description(script.description, credits or []),
            "tags": script.tags,
            "categoryId": "27",  # Education
            "defaultLanguage": language,
            "defaultAudioLanguage": language,
        },
        "status": {
            "privacyStatus": settings.youtube_privacy_status,
            "selfDeclaredMadeForKids": False,
            "containsSyntheticMedia": True,
        },
    }


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(path)


def estimate_usd(settings: Settings, request: VideoRequest) -> float:
    """Upper bound of what this stage may charge `request` (the cost guard checks it before the stage).

    The YouTube upload adds no dollars (the Data API charges quota units, guarded per day instead).
    """
    return round(cost_policy.outbox_estimate_usd(settings, request), 4)
