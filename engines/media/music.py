"""A user's music library: audio files tagged by mood (folder names, a `music.json` sidecar), one track per video.

Layout: `<library>/calm/piano.mp3` is tagged `calm` (every folder on its path is a mood); `<library>/music.json`
adds moods by file, `{"piano.mp3": ["calm", "focus"], "beats/run.ogg": "upbeat"}` (paths relative to the library).
Only files inside the library are ever handed out: a link that leads out of it is not the library's.
"""

from __future__ import annotations

import json
import logging
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from engines.proc import run_blocking

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = frozenset({".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".flac", ".wav"})
SIDECAR = "music.json"
SIDECAR_MAX_BYTES = 1_000_000
NO_MUSIC = "none"  # a request's or channel's choice meaning: no music for this video
# Shorter is a jingle, not a bed under a video: looping it would take one ffmpeg input per repeat (a 1 s file, 240
# for a 180 s video).
MIN_TRACK_SECONDS = 8.0


class MusicLibraryError(ValueError):
    """The library cannot be read (missing, or its sidecar is not valid), or a choice names nothing in it."""


@dataclass(frozen=True)
class Track:
    path: Path  # resolved: the real file, inside the library
    name: str  # its path relative to the library, with / separators: what a request names
    moods: frozenset[str]


def is_file_choice(choice: str) -> bool:
    """A choice naming a file (it ends in an audio suffix) rather than a mood."""
    return PurePosixPath(choice).suffix.lower() in AUDIO_SUFFIXES


def scan_library(library_dir: Path) -> list[Track]:
    """Every audio file in the library (recursively, hidden files and links out of it skipped), sorted by name,
    with its moods. MusicLibraryError when the folder is missing or its sidecar is not valid."""
    if not library_dir.is_dir():
        raise MusicLibraryError(f"the music library {library_dir} is not a directory")
    root = library_dir.resolve()
    tags = _sidecar_moods(library_dir, root)
    tracks = []
    for path in library_dir.rglob("*"):
        relative = path.relative_to(library_dir)
        if (
            path.suffix.lower() not in AUDIO_SUFFIXES
            or any(part.startswith(".") for part in relative.parts)
            or not path.is_file()
            or not path.resolve().is_relative_to(root)  # a link out of the library is not the library's to hand out
        ):
            continue
        name = relative.as_posix()
        folders = {_mood(part) for part in relative.parts[:-1]}
        tracks.append(Track(path.resolve(), name, frozenset(folders | tags.get(name, set()))))
    return sorted(tracks, key=lambda t: t.name)


def moods_of(tracks: list[Track]) -> list[str]:
    return sorted({mood for track in tracks for mood in track.moods})


def candidates(tracks: list[Track], choice: str | None) -> list[Track]:
    """The tracks a choice allows: None any track, a file name that file (its path in the library, or its bare
    name where that is unique), otherwise a mood. MusicLibraryError when it names nothing."""
    if choice is None:
        if not tracks:
            raise MusicLibraryError("the music library holds no audio files")
        return tracks
    if is_file_choice(choice):
        exact = [t for t in tracks if t.name == choice]
        named = exact or [t for t in tracks if PurePosixPath(t.name).name == choice]
        if len(named) == 1:
            return named
        if named:
            listed = ", ".join(t.name for t in named)
            raise MusicLibraryError(f"{choice!r} names several files of the music library ({listed}): give its path")
        raise MusicLibraryError(f"{choice!r} is not a file of the music library")
    mood = _mood(choice)
    tagged = [t for t in tracks if mood in t.moods]
    if not tagged:
        known = ", ".join(moods_of(tracks)) or "none"
        raise MusicLibraryError(f"no track of the music library has the mood {choice!r} (its moods: {known})")
    return tagged


def pick_track(library_dir: Path, choice: str | None, seed: str) -> Track:
    """The track for one video: among the choice's candidates, the first that plays in an order shuffled by
    `seed` (the video id), so a retried render picks the same track. MusicLibraryError when none plays."""
    allowed = candidates(scan_library(library_dir), choice)
    order = list(allowed)
    random.Random(seed).shuffle(order)
    for track in order:
        if is_playable(track.path):
            return track
    raise MusicLibraryError(
        f"no track of the music library for {choice or 'any mood'!r} can be decoded ({len(allowed)} tried)"
    )


def is_playable(path: Path) -> bool:
    """ffmpeg decodes its first second of audio (a header alone can lie) and it lasts MIN_TRACK_SECONDS or more."""
    try:
        probe = run_blocking(
            ["ffprobe", "-v", "error", "-protocol_whitelist", "file", "-select_streams", "a:0",
             "-show_entries", "format=duration", "-of", "default=nw=1:nk=1", str(path)],
            timeout=30,
        )  # fmt: skip
        decode = run_blocking(
            ["ffmpeg", "-v", "error", "-xerror", "-protocol_whitelist", "file", "-t", "1", "-i", str(path),
             "-map", "0:a:0", "-f", "null", "-"],
            timeout=60,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as e:
        log.warning("skipping music track %s: %s", path, e)
        return False
    try:
        seconds = float(probe.stdout.strip().splitlines()[0])
    except (ValueError, IndexError):
        seconds = 0.0
    if probe.returncode or decode.returncode or seconds < MIN_TRACK_SECONDS:
        reason = (decode.stderr or probe.stderr).strip().splitlines()[-1:] or [f"{seconds:.2f} s long"]
        log.warning("skipping unplayable music track %s: %s", path, reason[0])
        return False
    return True


def _sidecar_moods(library_dir: Path, root: Path) -> dict[str, set[str]]:
    sidecar = library_dir / SIDECAR
    if not sidecar.exists():
        return {}
    where = f"the music library's {SIDECAR}"
    if not sidecar.is_file() or not sidecar.resolve().is_relative_to(root):
        raise MusicLibraryError(f"{where} must be a file inside the library")
    if sidecar.stat().st_size > SIDECAR_MAX_BYTES:
        raise MusicLibraryError(f"{where} is larger than {SIDECAR_MAX_BYTES} bytes")
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise MusicLibraryError(f"{where} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise MusicLibraryError(f'{where} must be an object: {{"file.mp3": ["mood", ...], ...}}')
    tags: dict[str, set[str]] = {}
    for name, moods in data.items():
        listed = [moods] if isinstance(moods, str) else moods
        if not isinstance(listed, list) or not all(isinstance(m, str) and m.strip() for m in listed):
            raise MusicLibraryError(f"{where}: the moods of {name!r} must be a name or a list of names")
        tags[PurePosixPath(name).as_posix()] = {_mood(m) for m in listed}
    return tags


def _mood(name: str) -> str:
    return name.strip().lower()
