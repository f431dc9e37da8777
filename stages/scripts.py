"""script_generation: the template writer (local, default) or an OpenAI-compatible chat model."""

from __future__ import annotations

from pathlib import Path

from temporalio.exceptions import ApplicationError

from core.domain import StageInput, VideoRequest
from core.errors import ErrorType
from core.languages import primary
from core.records import StageOutcome
from core.settings import Settings
from engines.script.writer import ScriptError, template_languages, write_script
from providers import openai_script
from providers.context import ProviderContext
from stages.selection import provider_for
from stages.voices import words_per_second

LANGUAGE_HINT = "set YTEMPIRE_SCRIPT_PROVIDER=openai (or YTEMPIRE_SCRIPT_PROVIDER_TIERS for this tier)"


def script_language_problem(settings: Settings, request: VideoRequest) -> str | None:
    """Why `request` cannot get a script in its language with the configured providers, or None."""
    if (
        primary(request.language) in template_languages()
        or provider_for(settings, "script", request.complexity) != "local"
    ):
        return None
    return (
        f"language {request.language!r} needs a script provider that writes it (the local template writer writes "
        f"{', '.join(template_languages())}): {LANGUAGE_HINT}"
    )


async def generate_script(ctx: ProviderContext, inp: StageInput, path: Path) -> StageOutcome:
    """Write the video's script to `path` (script.json) with the provider its tier selects."""
    provider = provider_for(ctx.settings, "script", inp.request.complexity)
    if provider == "local":
        return _template(ctx, inp, path)
    if provider == "openai":
        return await openai_script.generate(ctx, inp.request, path)
    raise ApplicationError(
        f"unknown script provider {provider!r}", type=ErrorType.INVALID_CONFIGURATION, non_retryable=True
    )


def _template(ctx: ProviderContext, inp: StageInput, path: Path) -> StageOutcome:
    if problem := script_language_problem(ctx.settings, inp.request):
        raise ApplicationError(problem, type=ErrorType.INVALID_REQUEST, non_retryable=True)
    try:
        pace = words_per_second(ctx.settings, inp.request)
        script = write_script(inp.request.topic, inp.request.duration_seconds, inp.request.language, pace)
    except ScriptError as err:
        raise ApplicationError(str(err), type=ErrorType.INVALID_REQUEST, non_retryable=True) from err
    script.save(path)
    return StageOutcome(
        {"script": str(path)},
        ctx.overhead("compute", "template_script", words=script.word_count()),
        {"words": script.word_count(), "provider": "template"},
    )


def estimate_usd(settings: Settings, request: VideoRequest) -> float:
    """Upper bound of what this stage may charge `request` (the cost guard checks it before the stage)."""
    if provider_for(settings, "script", request.complexity) == "openai":
        return openai_script.estimate_usd(settings, request)
    return settings.overhead_usd_per_stage
