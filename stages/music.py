"""Which music plays under a video: the request's choice, else its channel's (YTEMPIRE_CHANNEL_MUSIC), else any track
of the library (YTEMPIRE_MUSIC_DIR); a choice is a mood, a file of the library, or "none". Without a library, no
music, whatever else is set."""

from __future__ import annotations

from core.domain import VideoRequest
from core.settings import Settings
from engines.media.music import NO_MUSIC, MusicLibraryError, Track, candidates, is_file_choice, pick_track, scan_library


def music_choice(settings: Settings, request: VideoRequest) -> str | None:
    """The request's music, else its channel's, else None (any track)."""
    if request.music is not None:
        return request.music
    return settings.channel_music.get(request.channel_id)


def choose_music(settings: Settings, request: VideoRequest) -> Track | None:
    """The track under this video, the same on every attempt (seeded by the video id); None: no music.
    MusicLibraryError when the choice names nothing in the library, or nothing it names can be decoded."""
    choice = music_choice(settings, request)
    if settings.music_dir is None or choice == NO_MUSIC:
        return None
    return pick_track(settings.music_dir, choice, request.video_id)


def music_problem(settings: Settings, request: VideoRequest) -> str | None:
    """Why the music `request` names cannot play here, or None (also when it names none)."""
    choice = request.music
    if choice is None or choice == NO_MUSIC:
        return None
    kind = "file" if is_file_choice(choice) else "mood"
    if settings.music_dir is None:
        return f"music names a {kind}, but there is no music library here (YTEMPIRE_MUSIC_DIR is unset)"
    try:
        candidates(scan_library(settings.music_dir), choice)
    except MusicLibraryError as err:
        return str(err)
    return None


def music_problems(settings: Settings) -> list[str]:
    """One message per music setting that cannot be used (checked when a worker starts)."""
    if settings.music_dir is None:
        return []
    try:
        tracks = scan_library(settings.music_dir)
    except MusicLibraryError as err:
        return [f"YTEMPIRE_MUSIC_DIR: {err}"]
    problems = [] if tracks else [f"YTEMPIRE_MUSIC_DIR {settings.music_dir} holds no audio files"]
    for channel, choice in settings.channel_music.items():
        if choice == NO_MUSIC:
            continue
        try:
            candidates(tracks, choice)
        except MusicLibraryError as err:
            problems.append(f"YTEMPIRE_CHANNEL_MUSIC[{channel!r}]: {err}")
    return problems
