"""What the configured providers need, checked when a pipeline worker starts: one line per stage saying which
provider each tier uses, a warning naming the variable for every selected cloud provider without credentials
(the first video to reach that stage would fail with ProviderAuthFailed otherwise, minutes later), and one for an
offline voice that cannot speak (the first video to reach speech would fail with InvalidConfiguration)."""

from __future__ import annotations

from typing import get_args

from core.domain import Complexity
from core.settings import Settings
from engines.speech.espeak import SpeechSynthesisError
from engines.speech.piper import bundled_voice, read_voice
from stages.selection import ProviderKind, provider_for

# provider -> (the setting that must be present, the variable to set)
_CREDENTIALS = {
    "openai": ("openai_api_key", "OPENAI_API_KEY"),
    "elevenlabs": ("elevenlabs_api_key", "ELEVENLABS_API_KEY"),
    "google": ("google_api_key", "GOOGLE_API_KEY"),
    "pexels": ("pexels_api_key", "PEXELS_API_KEY"),
    "pixabay": ("pixabay_api_key", "PIXABAY_API_KEY"),
    "youtube": ("youtube_credentials_file", "YTEMPIRE_YOUTUBE_CREDENTIALS_FILE"),
}
_KINDS: tuple[ProviderKind, ...] = ("script", "tts", "media", "upload")


def provider_table(settings: Settings) -> dict[ProviderKind, dict[Complexity, str]]:
    return {kind: {tier: provider_for(settings, kind, tier) for tier in get_args(Complexity)} for kind in _KINDS}


def describe(settings: Settings) -> list[str]:
    """`script: local` or `tts: local (premium: elevenlabs)`: the default provider, then tiers that differ."""
    lines = []
    for kind, tiers in provider_table(settings).items():
        default = str(getattr(settings, f"{kind}_provider"))
        others = ", ".join(f"{tier}: {name}" for tier, name in tiers.items() if name != default)
        lines.append(f"{kind}: {default}" + (f" ({others})" if others else ""))
    return lines


def missing_credentials(settings: Settings) -> list[str]:
    """One message per selected cloud provider whose credential is not configured."""
    problems = []
    used = {(name, kind) for kind, tiers in provider_table(settings).items() for name in tiers.values()}
    for name, kind in sorted(used):  # "openai" writes scripts and speaks: each needs its own check
        if name == "local":
            continue
        if (name, kind) == ("openai", "tts"):
            # A speech server of the user's own (YTEMPIRE_OPENAI_TTS_BASE_URL) may need no key at all.
            if settings.openai_tts_key is None and settings.openai_tts_base_url is None:
                problems.append(
                    "openai speech is selected but neither YTEMPIRE_OPENAI_TTS_API_KEY nor OPENAI_API_KEY (for "
                    "OpenAI's own API) is set: its stage will fail until one is"
                )
            continue
        if (name, kind) == ("openai", "script") and settings.openai_local:
            continue  # a server of the user's own (YTEMPIRE_OPENAI_LOCAL) needs no key
        field, variable = _CREDENTIALS[name]
        if getattr(settings, field) is None:
            problems.append(f"{name} is selected but {variable} is not set: its stage will fail until it is")
    return problems


def voice_problems(settings: Settings) -> list[str]:
    """One message per configured Piper voice setting that cannot be used, where the local speech provider speaks."""
    if not settings.piper_enabled or "local" not in provider_table(settings)["tts"].values():
        return []
    problems = []
    try:
        read_voice(settings.piper_voice or bundled_voice())
    except SpeechSynthesisError as err:
        problems.append(f"the default Piper voice cannot speak: {err}")
    if settings.piper_voices_dir is not None and not settings.piper_voices_dir.is_dir():
        problems.append(f"YTEMPIRE_PIPER_VOICES_DIR {settings.piper_voices_dir} is not a directory")
    return problems
