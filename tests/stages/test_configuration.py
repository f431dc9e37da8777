from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from stages.configuration import describe, missing_credentials


@pytest.fixture(autouse=True)
def _no_provider_keys_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for service in ("OPENAI", "ELEVENLABS", "GOOGLE", "PEXELS", "PIXABAY"):
        monkeypatch.delenv(f"{service}_API_KEY", raising=False)
        monkeypatch.delenv(f"YTEMPIRE_{service}_API_KEY", raising=False)
    monkeypatch.delenv("YTEMPIRE_OPENAI_TTS_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("YTEMPIRE_OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("YTEMPIRE_SECRETS_DIR", raising=False)


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_the_default_is_local_everywhere_and_needs_nothing() -> None:
    settings = _settings()
    assert describe(settings) == ["script: local", "tts: local", "media: local", "upload: local"]
    assert missing_credentials(settings) == []


def test_tiers_are_described_and_missing_keys_named(tmp_path: Path) -> None:
    settings = _settings(
        script_provider="openai",
        openai_api_key="sk-test",
        tts_provider_tiers={"premium": "elevenlabs", "complex": "google"},
        media_provider="pexels",
        upload_provider_tiers={"premium": "youtube"},
        youtube_credentials_file=tmp_path / "creds.json",
    )
    assert describe(settings) == [
        "script: openai",
        "tts: local (complex: google, premium: elevenlabs)",
        "media: pexels",
        "upload: local (premium: youtube)",
    ]
    problems = missing_credentials(settings)
    assert [p.split()[0] for p in problems] == ["elevenlabs", "google", "pexels"]
    assert "ELEVENLABS_API_KEY" in problems[0] and "PEXELS_API_KEY" in problems[2]


def test_openai_speech_needs_a_key_only_for_openais_own_api() -> None:
    [problem] = missing_credentials(_settings(tts_provider_tiers={"premium": "openai"}))
    assert problem.startswith("openai speech") and "YTEMPIRE_OPENAI_TTS_API_KEY" in problem
    assert missing_credentials(_settings(tts_provider="openai", openai_api_key="sk-test")) == []
    # A speech server of the user's own may need no key.
    assert missing_credentials(_settings(tts_provider="openai", openai_tts_base_url="http://127.0.0.1:8880/v1")) == []
    # Scripts from a local LLM server with its own key, speech from OpenAI: the speech key is what is missing.
    settings = _settings(
        script_provider="openai",
        tts_provider="openai",
        openai_api_key="ollama",
        openai_base_url="http://127.0.0.1:11434/v1",
    )
    assert [p.split()[:2] for p in missing_credentials(settings)] == [["openai", "speech"]]


def test_scripts_from_a_local_llm_server_need_no_key() -> None:
    local = {"script_provider": "openai", "openai_base_url": "http://127.0.0.1:11434/v1"}
    assert [p.split()[0] for p in missing_credentials(_settings(**local))] == ["openai"]
    assert missing_credentials(_settings(**local, openai_local=True)) == []
