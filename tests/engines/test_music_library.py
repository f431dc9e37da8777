"""The music library: moods from folders and music.json, a track by mood or by file, the same track for the same
video, undecodable files skipped, and nothing outside the library ever handed out (links out refused)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from engines.media.music import MusicLibraryError, candidates, moods_of, pick_track, scan_library


def tone(path: Path, frequency: int, seconds: float = 9) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", f"sine=f={frequency}:d={seconds}", str(path)],
        check=True,
    )
    return path


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Audio that is not the library's: a file and a folder next to it."""
    root = tmp_path_factory.mktemp("outside")
    tone(root / "private.flac", 300)
    tone(root / "elsewhere" / "song.flac", 310)
    return root


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, outside: Path) -> Path:
    root = tmp_path_factory.mktemp("music")
    tone(root / "calm" / "piano.flac", 220)
    tone(root / "calm" / "strings.wav", 230)
    tone(root / "calm" / "chime.flac", 240, seconds=2)  # a jingle: too short to loop under a video
    tone(root / "Upbeat" / "run.flac", 440)
    tone(root / "beats" / "drums.flac", 460)
    tone(root / "rain.flac", 250)
    tone(root / "upbeat" / "extra" / "rain.flac", 450)  # the same file name as the one above
    tone(root / ".trash" / "old.flac", 200)  # hidden
    (root / "notes.txt").write_text("not audio")
    (root / "calm" / "broken.mp3").write_bytes(b"ID3" + b"\x00" * 500)  # an audio name, not audio
    (root / "link_out.flac").symlink_to(outside / "private.flac")
    (root / "linked_dir").symlink_to(outside / "elsewhere", target_is_directory=True)
    (root / "alias.flac").symlink_to(root / "calm" / "piano.flac")  # a link that stays inside is fine
    sidecar = {"beats/drums.flac": ["Upbeat", "focus"], "rain.flac": "calm", "missing.flac": ["sad"]}
    (root / "music.json").write_text(json.dumps(sidecar))
    return root


def names(tracks: list) -> list[str]:
    return [t.name for t in tracks]


def test_moods_come_from_folders_and_the_sidecar(library: Path) -> None:
    scanned = scan_library(library)
    assert names(scanned) == [
        "Upbeat/run.flac", "alias.flac", "beats/drums.flac", "calm/broken.mp3", "calm/chime.flac", "calm/piano.flac",
        "calm/strings.wav", "rain.flac", "upbeat/extra/rain.flac",
    ]  # fmt: skip
    tracks = {t.name: t for t in scanned}
    assert tracks["calm/piano.flac"].moods == {"calm"}
    assert tracks["Upbeat/run.flac"].moods == {"upbeat"}  # moods ignore case
    assert tracks["upbeat/extra/rain.flac"].moods == {"upbeat", "extra"}  # every folder on the way
    assert tracks["beats/drums.flac"].moods == {"beats", "upbeat", "focus"}  # folder and sidecar together
    assert tracks["rain.flac"].moods == {"calm"}
    assert tracks["alias.flac"].moods == frozenset() and tracks["alias.flac"].path == tracks["calm/piano.flac"].path
    assert moods_of(list(tracks.values())) == ["beats", "calm", "extra", "focus", "upbeat"]


def test_links_out_of_the_library_and_hidden_files_are_never_handed_out(library: Path, outside: Path) -> None:
    tracks = scan_library(library)
    assert not any(t.path.is_relative_to(outside.resolve()) for t in tracks)
    assert not {"link_out.flac", "linked_dir/song.flac", ".trash/old.flac"} & set(names(tracks))
    assert all(t.path.is_relative_to(library.resolve()) for t in tracks)
    with pytest.raises(MusicLibraryError, match="not a file of the music library"):
        candidates(tracks, "link_out.flac")


def test_a_sidecar_linked_from_outside_is_refused(tmp_path: Path, outside: Path) -> None:
    tone(tmp_path / "calm" / "a.flac", 220)
    (outside / "moods.json").write_text(json.dumps({"calm/a.flac": ["secret"]}))
    (tmp_path / "music.json").symlink_to(outside / "moods.json")
    with pytest.raises(MusicLibraryError, match="music.json must be a file inside the library"):
        scan_library(tmp_path)


@pytest.mark.parametrize(
    ("content", "words"),
    [("{not json", "not valid JSON"), ("[1, 2]", "must be an object"), ('{"a.flac": [1]}', "must be a name")],
)
def test_a_broken_sidecar_is_named(tmp_path: Path, content: str, words: str) -> None:
    tone(tmp_path / "a.flac", 220)
    (tmp_path / "music.json").write_text(content)
    with pytest.raises(MusicLibraryError, match=words):
        scan_library(tmp_path)


def test_a_missing_library_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MusicLibraryError, match="is not a directory"):
        scan_library(tmp_path / "nowhere")


def test_a_mood_picks_among_its_tracks(library: Path) -> None:
    calm = {"calm/piano.flac", "calm/strings.wav", "rain.flac"}  # broken.mp3 is tagged calm too, but never plays
    picked = {pick_track(library, "CALM", f"video-{i}").name for i in range(12)}
    assert picked == calm


def test_a_file_picks_that_file(library: Path) -> None:
    assert pick_track(library, "calm/strings.wav", "v").name == "calm/strings.wav"
    assert pick_track(library, "strings.wav", "v").name == "calm/strings.wav"  # a unique bare name
    assert pick_track(library, "upbeat/extra/rain.flac", "v").name == "upbeat/extra/rain.flac"
    assert pick_track(library, "rain.flac", "v").name == "rain.flac"  # a path beats a bare name


def test_choices_that_name_nothing_say_what_there_is(library: Path) -> None:
    tracks = scan_library(library)
    with pytest.raises(MusicLibraryError, match=r"mood 'sad' \(its moods: beats, calm, extra, focus, upbeat\)"):
        candidates(tracks, "sad")  # music.json tags a file that is not there: no such mood
    with pytest.raises(MusicLibraryError, match="'nothing.mp3' is not a file"):
        candidates(tracks, "nothing.mp3")
    tone(library / "calm" / "deep" / "piano.flac", 225)
    try:
        with pytest.raises(MusicLibraryError, match="names several files.*calm/deep/piano.flac, calm/piano.flac"):
            candidates(scan_library(library), "piano.flac")
    finally:
        (library / "calm" / "deep" / "piano.flac").unlink()


def test_the_same_video_gets_the_same_track_and_videos_differ(library: Path) -> None:
    first = [pick_track(library, None, f"video-{i}").name for i in range(10)]
    again = [pick_track(library, None, f"video-{i}").name for i in range(10)]
    assert first == again
    assert len(set(first)) >= 3


def test_undecodable_tracks_are_skipped_and_none_playable_is_an_error(library: Path, tmp_path: Path) -> None:
    picked = {pick_track(library, "calm", f"v{i}").name for i in range(12)}
    assert picked and not picked & {"calm/broken.mp3", "calm/chime.flac"}
    (tmp_path / "sad").mkdir()
    (tmp_path / "sad" / "noise.mp3").write_bytes(b"\xff\xfb" + b"\x00" * 300)
    with pytest.raises(MusicLibraryError, match="can be decoded"):
        pick_track(tmp_path, "sad", "v")
    with pytest.raises(MusicLibraryError, match="holds no audio files"):
        candidates([], None)
