"""A video's language (BCP 47, e.g. `en`, `es`, `pt-BR`) and what each provider calls it."""

from __future__ import annotations

DEFAULT_LANGUAGE = "en"
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Z]{2}|-[0-9]{3})?$"  # language, optionally a region: en, pt-BR, es-419

# The region Google Text-to-Speech assumes for a bare language code (its voices are per region).
_GOOGLE_REGIONS = {
    "en": "en-US", "es": "es-ES", "pt": "pt-BR", "fr": "fr-FR", "de": "de-DE", "it": "it-IT", "nl": "nl-NL",
    "pl": "pl-PL", "sv": "sv-SE", "da": "da-DK", "nb": "nb-NO", "fi": "fi-FI", "tr": "tr-TR", "ru": "ru-RU",
    "uk": "uk-UA", "hi": "hi-IN", "id": "id-ID", "vi": "vi-VN", "ar": "ar-XA", "el": "el-GR", "cs": "cs-CZ",
}  # fmt: skip


def primary(language: str) -> str:
    """`pt-BR` -> `pt`."""
    return language.split("-", 1)[0].lower()


def is_english(language: str) -> bool:
    return primary(language) == "en"


# espeak-ng's names where they are not the language's own: Chinese is Mandarin (cmn), or Cantonese (yue) in Hong
# Kong and Macau.
_ESPEAK_NAMES = {"zh": "cmn", "zh-hk": "yue", "zh-mo": "yue"}


def espeak_voice(language: str, english_voice: str) -> str:
    """espeak-ng's voice for `language`: the configured voice for English, else its own (`es`, `pt-br`, `cmn`...)."""
    if is_english(language):
        return english_voice
    name = language.lower()
    return _ESPEAK_NAMES.get(name, _ESPEAK_NAMES.get(primary(name), name))


def piper_match(voice_language: str, language: str) -> int:
    """How well a Piper voice's language (`en_US`, or an espeak name such as `en-us` in older voice configs) fits a
    video's: 2 the same language and region, 1 the same language, 0 another language."""
    voice_primary, _, voice_region = voice_language.replace("_", "-").partition("-")
    if voice_primary.lower() != primary(language):
        return 0
    region = language.partition("-")[2]
    return 2 if region and region.lower() == voice_region.lower() else 1


def google_voice(language: str, configured_language: str, configured_voice: str) -> dict[str, str]:
    """Google TTS's `voice` object: the configured voice when it speaks this language, else Google's default
    voice for the language (and its usual region)."""
    if primary(language) == primary(configured_language):
        return {"languageCode": configured_language, "name": configured_voice}
    code = language if "-" in language else _GOOGLE_REGIONS.get(language, language)
    return {"languageCode": code}
