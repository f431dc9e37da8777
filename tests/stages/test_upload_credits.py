"""The outbox's YouTube metadata carries the stock photos' credit lines (their licences ask for credit)."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from core.domain import StageInput, VideoRequest
from core.settings import Settings
from engines.script.writer import Script
from providers.cache import ContentCache
from providers.context import ProviderContext
from stages.upload import DESCRIPTION_MAX_CHARS, prepare_upload, youtube_description
from telemetry.worker_metrics import WorkerMetrics


def _script(description: str) -> Script:
    return Script("Octopus hearts", "Hook.", ["One.", "Two."], "Follow.", description, ["octopus"])


async def test_credits_reach_the_description_and_the_metadata(tmp_path: Path) -> None:
    credits = tmp_path / "credits.json"
    lines = ["Photo by Jane Doe on Pexels", "Image by kai from Pixabay", "Photo by Jane Doe on Pexels"]
    credits.write_text(json.dumps({"credits": [{"credit": line} for line in lines]}))
    video = tmp_path / "final.mp4"
    video.write_bytes(b"\x00" * 1024)
    card = tmp_path / "card.png"
    Image.new("RGB", (1080, 1920), (10, 20, 30)).save(card)
    settings = Settings(data_dir=tmp_path / "data")
    ctx = ProviderContext(settings, ContentCache(tmp_path / "cache"), WorkerMetrics())
    request = VideoRequest(video_id="v1", topic="octopus hearts", channel_id="c", user_id="u")
    artifacts = {"credits": str(credits)}
    inp = StageInput("upload_preparation", request, str(tmp_path / "a"), str(tmp_path / "outbox"), artifacts)
    outcome = await prepare_upload(ctx, inp, video, _script("Why octopuses <really> need three hearts."), card)
    metadata = json.loads(Path(outcome.artifacts["metadata"]).read_text())
    assert metadata["credits"] == ["Photo by Jane Doe on Pexels", "Image by kai from Pixabay"]
    description = metadata["youtube"]["snippet"]["description"]
    assert description.endswith("Credits:\nPhoto by Jane Doe on Pexels\nImage by kai from Pixabay")
    assert "<" not in description and ">" not in description  # YouTube rejects angle brackets


def test_a_long_description_is_cut_so_the_credits_fit() -> None:
    text = youtube_description("x" * 6000, ["Photo by A on Pexels"])
    assert len(text) == DESCRIPTION_MAX_CHARS and text.endswith("Photo by A on Pexels")
    assert youtube_description("plain", []) == "plain"
