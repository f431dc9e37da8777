"""The caption style setting: YTEMPIRE_CAPTION_STYLE for every channel, YTEMPIRE_CHANNEL_CAPTION_STYLES over it per
channel, each validated at start with errors that name the channel and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from core.caption_style import CaptionStyle
from core.settings import Settings

STYLED = {"position": "top", "text_colour": "#00FF00", "outline": 0, "highlight": False, "words_per_line": 2}


def settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[call-arg]


def test_a_channel_style_is_the_default_with_the_channels_fields_over_it(tmp_path: Path) -> None:
    s = settings(tmp_path, caption_style=CaptionStyle(size=80, lines=2), channel_caption_styles={"ch-styled": STYLED})
    assert s.caption_style_for("anyone") == CaptionStyle(size=80, lines=2)
    styled = s.caption_style_for("ch-styled")
    assert (styled.size, styled.lines, styled.position, styled.text_colour) == (80, 2, "top", "#00FF00")
    assert not styled.highlights("premium")


def test_the_caption_style_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YTEMPIRE_CAPTION_STYLE", '{"position": "middle", "highlight_colour": "#FF00FF"}')
    monkeypatch.setenv("YTEMPIRE_CHANNEL_CAPTION_STYLES", '{"c1": {"size": 90}}')
    s = settings(tmp_path)
    assert s.caption_style.position == "middle" and s.caption_style_for("c1").size == 90
    assert s.caption_style_for("c1").highlight_colour == "#FF00FF"


@pytest.mark.parametrize(
    ("channels", "message"),
    [
        ({"c1": {"position": "left"}}, r"CHANNEL_CAPTION_STYLES\['c1'\]: position: Input should be 'bottom'"),
        ({"c2": {"colour": "#FFFFFF"}}, r"CHANNEL_CAPTION_STYLES\['c2'\]: colour: Extra inputs are not permitted"),
        ({"c3": {"text_colour": "white"}}, r"CHANNEL_CAPTION_STYLES\['c3'\]: text_colour: String should match"),
        ({"c4": {"words_per_line": 0}}, r"CHANNEL_CAPTION_STYLES\['c4'\]: words_per_line: Input should be greater"),
    ],
)
def test_a_bad_channel_style_is_refused_naming_the_channel_and_field(
    tmp_path: Path, channels: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        settings(tmp_path, channel_caption_styles=channels)


def test_a_bad_default_style_is_refused_naming_the_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YTEMPIRE_CAPTION_STYLE", '{"font": "Comic, Sans"}')
    with pytest.raises(ValidationError, match=r"caption_style\.font"):
        settings(tmp_path)
