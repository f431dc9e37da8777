"""Which music plays under a video: the request's choice, else the channel's, else any track; no library, no music;
a choice the library cannot serve is refused with the reason (the API's 422) and named at a worker's start."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from core.domain import VideoRequest
from core.settings import Settings
from engines.media.music import MusicLibraryError
from stages.music import choose_music, music_choice, music_problem, music_problems


def settings_for(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[call-arg]


def request(music: str | None = None, channel: str = "c", video_id: str = "v1") -> VideoRequest:
    return VideoRequest(video_id, "octopus hearts", channel, "u", music=music)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("music")
    for path, frequency in (("calm/piano.flac", 220), ("upbeat/run.flac", 440), ("upbeat/jump.flac", 460)):
        (root / path).parent.mkdir(exist_ok=True)
        argv = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", f"sine=f={frequency}:d=9"]
        subprocess.run([*argv, str(root / path)], check=True)
    return root


def test_the_request_comes_first_then_the_channel_then_any_track(tmp_path: Path, library: Path) -> None:
    settings = settings_for(tmp_path, music_dir=library, channel_music={"kids": "upbeat", "quiet": "none"})
    assert music_choice(settings, request("calm", channel="kids")) == "calm"
    assert music_choice(settings, request(channel="kids")) == "upbeat"
    assert music_choice(settings, request(channel="other")) is None
    assert choose_music(settings, request("calm", channel="kids")).name == "calm/piano.flac"  # type: ignore[union-attr]
    assert choose_music(settings, request(channel="kids")).name.startswith("upbeat/")  # type: ignore[union-attr]
    assert choose_music(settings, request(channel="quiet")) is None
    assert choose_music(settings, request("calm/piano.flac", channel="quiet")) is not None  # the request overrides
    assert choose_music(settings, request("none", channel="kids")) is None


def test_no_library_no_music_whatever_else_is_set(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, channel_music={"c": "upbeat"})
    assert choose_music(settings, request()) is None
    assert choose_music(settings, request("none")) is None


def test_a_retried_render_plays_the_same_track(tmp_path: Path, library: Path) -> None:
    settings = settings_for(tmp_path, music_dir=library)
    picks = [choose_music(settings, request(video_id=f"video-{i}")) for i in range(8)]
    again = [choose_music(settings, request(video_id=f"video-{i}")) for i in range(8)]
    assert picks == again and len({t.name for t in picks if t is not None}) > 1


def test_what_the_request_names_is_checked_against_the_library(tmp_path: Path, library: Path) -> None:
    here = settings_for(tmp_path, music_dir=library)
    assert music_problem(here, request()) is None
    assert music_problem(here, request("none")) is None
    assert music_problem(here, request("Upbeat")) is None
    assert music_problem(here, request("piano.flac")) is None
    assert music_problem(here, request("sad")) == (
        "no track of the music library has the mood 'sad' (its moods: calm, upbeat)"
    )
    assert music_problem(here, request("sad.mp3")) == "'sad.mp3' is not a file of the music library"
    nowhere = settings_for(tmp_path)
    assert music_problem(nowhere, request("none")) is None
    assert music_problem(nowhere, request("calm")) == (
        "music names a mood, but there is no music library here (YTEMPIRE_MUSIC_DIR is unset)"
    )
    assert "names a file" in (music_problem(nowhere, request("calm/piano.flac")) or "")


def test_a_worker_names_each_music_setting_it_cannot_use(tmp_path: Path, library: Path) -> None:
    assert music_problems(settings_for(tmp_path)) == []
    settings = settings_for(tmp_path, music_dir=library, channel_music={"a": "calm", "b": "jazz", "c": "none"})
    assert music_problems(settings) == [
        "YTEMPIRE_CHANNEL_MUSIC['b']: no track of the music library has the mood 'jazz' (its moods: calm, upbeat)"
    ]
    missing = settings_for(tmp_path, music_dir=tmp_path / "nowhere")
    assert music_problems(missing) == [
        f"YTEMPIRE_MUSIC_DIR: the music library {tmp_path / 'nowhere'} is not a directory"
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    empty_settings = settings_for(tmp_path, music_dir=empty)
    assert music_problems(empty_settings) == [f"YTEMPIRE_MUSIC_DIR {empty} holds no audio files"]
    with pytest.raises(MusicLibraryError, match="holds no audio files"):
        choose_music(empty_settings, request())


def test_a_channel_music_entry_must_name_something(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"YTEMPIRE_CHANNEL_MUSIC\['kids'\]"):
        settings_for(tmp_path, channel_music={"kids": " "})
