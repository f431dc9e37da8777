"""Caption style per channel: the speech stage writes the channel's captions with it and the media stage lays the
title card out around those captions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

from core.settings import Settings
from engines.render.layout import Box, frame_layout
from providers.context import ProviderContext
from stages import media, speech
from telemetry.worker_metrics import WorkerMetrics
from tests.fakes.google_tts_api import FakeGoogleTts
from tests.fakes.server import serve
from tests.providers.speech_checks import out_dir, script_for, stage_input

STYLED = {"position": "top", "text_colour": "#00FF00", "outline": 0, "highlight": False, "words_per_line": 2}


def settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[call-arg]


@pytest.fixture
def google() -> Iterator[tuple[FakeGoogleTts, str]]:
    fake = FakeGoogleTts(api_key="AIza-style-test-0123456789")
    with serve(fake.app) as url:
        yield fake, url


def style_line(ass: str) -> list[str]:
    return next(line for line in ass.splitlines() if line.startswith("Style: Caption,")).split(",")


async def test_the_speech_stage_writes_each_channels_captions(
    tmp_path: Path, google: tuple[FakeGoogleTts, str]
) -> None:
    fake, url = google
    s = settings(
        tmp_path,
        tts_provider="google",
        google_api_key=fake.api_key,
        google_tts_base_url=url,
        channel_caption_styles={"ch-styled": STYLED},
    )
    ctx = ProviderContext.for_worker(s, WorkerMetrics())
    captions = {}
    for channel in ("ch-styled", "ch-plain"):
        inp = stage_input(tmp_path / channel, channel_id=channel, complexity="premium")
        outcome = await speech.synthesize(ctx, inp, script_for(inp), out_dir(inp))
        captions[channel] = Path(outcome.artifacts["captions"]).read_text()

    styled, plain = captions["ch-styled"], captions["ch-plain"]
    assert style_line(styled)[3] == "&H0000FF00" and style_line(styled)[18] == "8"  # green, top
    assert style_line(plain)[3] == "&H00FFFFFF" and style_line(plain)[18] == "2"  # the default look
    styled_events = [line for line in styled.splitlines() if line.startswith("Dialogue:")]
    assert styled_events and not any("\\1c" in line for line in styled_events)  # highlight off for the channel
    shown = [re.sub(r"\{[^}]*\}", "", event.split(",", 9)[9]) for event in styled_events]
    assert all(1 <= len(text.split()) <= 2 for text in shown) and any(len(text.split()) == 2 for text in shown)
    assert "\\1c&H0000D7FF&" in plain  # premium's default: the spoken word in gold


def white_pixels(path: Path) -> Box:
    with Image.open(path) as img:
        rgb = img.convert("RGB")
    r, g, b = (band.point(lambda v: 255 if v > 215 else 0) for band in rgb.split())
    box = ImageChops.multiply(ImageChops.multiply(r, g), b).getbbox()
    assert box is not None, "the title card carries white text"
    return Box(*box)


async def test_the_media_stage_lays_the_title_out_around_each_channels_captions(tmp_path: Path) -> None:
    top_heavy = {"position": "top", "lines": 3, "size": 120}
    ctx = ProviderContext.for_worker(settings(tmp_path, channel_caption_styles={"ch-top": top_heavy}), WorkerMetrics())
    title_boxes = {}
    for channel in ("ch-top", "ch-plain"):
        inp = stage_input(tmp_path / channel, channel_id=channel, orientation="landscape")
        script = script_for(inp)
        media_dir = out_dir(inp) / "media"
        media_dir.mkdir()
        outcome = await media.collect(ctx, inp, script, media_dir)
        text = white_pixels(Path(outcome.artifacts["title_card"]))
        layout = frame_layout(1920, 1080, script.title, ctx.settings.caption_style_for(channel))
        assert layout.title is not None and layout.title.drawn.contains(text)
        assert not text.overlaps(layout.captions.box)
        title_boxes[channel] = text
    # Three large lines of captions at the top push the title below them.
    assert title_boxes["ch-top"].top > title_boxes["ch-plain"].top
