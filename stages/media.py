"""media_collection: generated backgrounds / the user's library (local, default), Pexels or Pixabay clips and photos."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from temporalio.exceptions import ApplicationError

from core.domain import StageInput, VideoRequest
from core.errors import ErrorType
from core.records import StageOutcome
from core.settings import Settings
from engines import proc
from engines.media.library import MediaSet, collect_media
from engines.script.writer import Script
from providers.context import ProviderContext
from stages import stock_media
from stages.selection import provider_for


async def collect(ctx: ProviderContext, inp: StageInput, script: Script, media_dir: Path) -> StageOutcome:
    provider = provider_for(ctx.settings, "media", inp.request.complexity)
    if provider == "local":
        media = await _local(ctx, inp, script, media_dir)
        library = sum(1 for item in media.items if item.source == "library")
        cost = ctx.overhead("media_local", "generated_backgrounds", items=len(media.items), library=library)
        details: dict[str, str | float] = {"items": len(media.items), "library_items": library}
    elif provider in ("pexels", "pixabay"):
        stock = await stock_media.collect_stock(ctx, provider, inp, script, media_dir)
        media, cost, details = stock.media, stock.cost, stock.details
    else:
        raise ApplicationError(
            f"unknown media provider {provider!r}", type=ErrorType.INVALID_CONFIGURATION, non_retryable=True
        )
    manifest = media_dir / "media.json"
    manifest.write_text(json.dumps(media.to_json(), indent=2))
    artifacts = {"media": str(manifest), "title_card": str(media.items[0].path)}
    if credits := media.credits:
        # For the description: the licences ask for (Pexels) or welcome (Pixabay) a credit to each author.
        credits_file = media_dir / "credits.json"
        entries = [{**asdict(c), "credit": c.credit} for c in credits]
        credits_file.write_text(json.dumps({"credits": entries}, indent=2))
        artifacts["credits"] = str(credits_file)
    return StageOutcome(artifacts, cost, details)


async def _local(ctx: ProviderContext, inp: StageInput, script: Script, media_dir: Path) -> MediaSet:
    width, height = inp.request.resolution
    return await proc.to_thread(
        collect_media,
        media_dir,
        count=len(script.narration()),
        width=width,
        height=height,
        seed=inp.request.video_id,
        title=script.title,
        library_dir=ctx.settings.media_library_dir,
        channel_id=inp.request.channel_id,
        caption_style=ctx.settings.caption_style_for(inp.request.channel_id),
        language=inp.request.language,
    )


def estimate_usd(settings: Settings, request: VideoRequest) -> float:
    """Upper bound of what this stage may charge `request` (the cost guard checks it before the stage)."""
    if provider_for(settings, "media", request.complexity) in ("pexels", "pixabay"):
        return stock_media.estimate_usd(settings)
    return settings.overhead_usd_per_stage
