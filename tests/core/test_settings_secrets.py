from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings


def test_secrets_come_from_files_and_env_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "OPENAI_API_KEY").write_text("sk-from-a-file")
    (tmp_path / "YTEMPIRE_ALERT_WEBHOOK_SECRET").write_text("whsec-from-a-file")
    (tmp_path / "PEXELS_API_KEY").write_text("pexels-from-a-file")
    for name in ("OPENAI_API_KEY", "YTEMPIRE_OPENAI_API_KEY", "YTEMPIRE_ALERT_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("YTEMPIRE_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("PEXELS_API_KEY", "pexels-from-env")
    settings = Settings()
    assert settings.openai_api_key is not None and settings.openai_api_key.get_secret_value() == "sk-from-a-file"
    assert settings.alert_webhook_secret is not None
    assert settings.alert_webhook_secret.get_secret_value() == "whsec-from-a-file"
    assert settings.pexels_api_key is not None and settings.pexels_api_key.get_secret_value() == "pexels-from-env"
    assert "sk-from-a-file" not in repr(settings) and "sk-from-a-file" not in settings.model_dump_json()


def test_without_a_secrets_dir_no_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "OPENAI_API_KEY").write_text("sk-from-a-file")
    monkeypatch.delenv("YTEMPIRE_SECRETS_DIR", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("YTEMPIRE_OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    assert Settings().openai_api_key is None
