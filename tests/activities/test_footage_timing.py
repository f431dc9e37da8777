"""Footage follows the words: each shot starts and ends on its narration segment's boundaries in the speech
timeline, in the render plan (within a frame) and in the rendered video (frames sampled, cuts detected by ffmpeg).
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import replace
from itertools import accumulate
from pathlib import Path

import pytest

from activities.rendering import build_plan
from core.domain import StageInput, VideoRequest
from engines.render.graph import frame_counts
from engines.render.plan import RenderPlan, shot_durations
from engines.render.runner import render
from engines.script.writer import Script
from engines.speech.timeline import SegmentTiming, SpeechTimeline
from stages import media
from tests.fakes.server import serve
from tests.fakes.stock_media_api import FakeVideo, StockMediaApi
from tests.providers.test_stock_media import make_ctx, make_settings, manifest

TOPIC = "octopus intelligence"


def timeline(starts: list[float], duration: float) -> SpeechTimeline:
    ends = [*starts[1:], duration]
    segments = [SegmentTiming(i, f"Segment {i}.", s, e) for i, (s, e) in enumerate(zip(starts, ends, strict=True))]
    return SpeechTimeline([], segments, duration)


def stage_input(tmp_path: Path, speech: SpeechTimeline, complexity: str, media_json: Path | None = None) -> StageInput:
    (tmp_path / "timeline.json").write_text(json.dumps(speech.to_json()))
    if media_json is None:
        media_json = tmp_path / "media.json"
        items = [{"path": f"/m/{i}.jpg", "source": "generated", "origin": None} for i in range(len(speech.segments))]
        media_json.write_text(json.dumps({"items": items}))
    artifacts = {"timeline": str(tmp_path / "timeline.json"), "media": str(media_json), "voice": "/m/voice.wav"}
    request = VideoRequest("v1", TOPIC, "channel-1", "user-1", complexity=complexity)  # type: ignore[arg-type]
    return StageInput("video_rendering", request, str(tmp_path), str(tmp_path / "outbox"), artifacts)


def cut_times(plan: RenderPlan) -> list[float]:
    """Where the plan changes shot, in seconds: a hard cut's first frame, or a crossfade's midpoint."""
    frames = frame_counts(plan)
    xfade = round(plan.crossfade * plan.fps) if len(frames) > 1 else 0
    starts = [0, *accumulate(n - xfade for n in frames[:-1])]
    return [(start + xfade / 2) / plan.fps for start in starts[1:]]


@pytest.mark.parametrize(
    ("complexity", "starts", "duration"),
    [
        ("simple", [0.0, 1.37, 4.02, 9.51, 12.26], 15.9),  # hard cuts
        ("complex", [0.0, 2.11, 4.9, 8.333, 11.02], 14.47),  # 0.5 s crossfades, centred on the boundaries
        ("premium", [0.18, 3.05, 6.6, 9.95], 12.0),  # a segment that starts after some silence: the shot from 0
    ],
)
def test_the_plan_cuts_on_the_segment_boundaries(
    tmp_path: Path, complexity: str, starts: list[float], duration: float
) -> None:
    speech = timeline(starts, duration)
    plan = build_plan(stage_input(tmp_path, speech, complexity), encoder="libx264", preset="ultrafast")
    assert plan.crossfade == (0.0 if complexity == "simple" else 0.5)
    assert [s.path for s in plan.stills] == [f"/m/{i}.jpg" for i in range(len(starts))]
    boundaries = [segment.start for segment in speech.segments[1:]]
    assert cut_times(plan) == pytest.approx(boundaries, abs=1 / plan.fps)
    assert plan.duration == pytest.approx(duration, abs=1 / plan.fps)


def test_shot_durations_refuse_a_timeline_out_of_order() -> None:
    assert shot_durations([0.2, 1.0, 2.5], 4.0) == pytest.approx([1.0, 1.5, 1.5])
    with pytest.raises(ValueError, match="not increasing"):
        shot_durations([0.0, 2.0, 1.5], 4.0)
    with pytest.raises(ValueError, match="not increasing"):
        shot_durations([0.0, 4.0], 4.0)


def test_a_media_set_short_of_the_segments_is_refused(tmp_path: Path) -> None:
    speech = timeline([0.0, 1.0, 2.0], 3.0)
    short = tmp_path / "short.json"
    short.write_text(json.dumps({"items": [{"path": "/m/0.jpg", "source": "generated", "origin": None}]}))
    with pytest.raises(Exception, match="1 items for 3 narration segments"):
        build_plan(stage_input(tmp_path, speech, "simple", short), encoder="libx264", preset="ultrafast")


def sine_wav(path: Path, seconds: float) -> Path:
    """A stand-in narration of `seconds`."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=300:duration={seconds}", str(path)],
        check=True,
    )
    return path


def dominant(video: Path, seconds: float) -> str:
    """The colour a frame at `seconds` is made of: red, green, blue, or other (the generated title card)."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{seconds:.3f}", "-i", str(video), "-frames:v", "1", "-vf", "scale=8:8",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    r, g, b = (sum(raw[i::3]) / (len(raw) / 3) for i in range(3))
    for name, (x, y, z) in {"red": (r, g, b), "green": (g, r, b), "blue": (b, r, g)}.items():
        if x > 180 and y < 60 and z < 60:
            return name
    return "other"


def scene_cuts(video: Path) -> list[float]:
    """Times of the frames ffmpeg's scene detection sees as a new shot."""
    log = subprocess.run(
        ["ffmpeg", "-hide_banner", "-i", str(video), "-vf", "select='gt(scene,0.3)',showinfo", "-an", "-f", "null",
         "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    return [float(t) for t in re.findall(r"pts_time:([0-9.]+)", log)]


async def test_a_rendered_video_cuts_to_each_segments_clip_on_its_boundary(tmp_path: Path) -> None:
    """The whole path: each segment's terms reach the fake Pexels as its own query, which finds a clip of one solid
    colour; the media stage lays them out per segment, the render plan cuts on the timeline, and in the rendered
    video each segment shows its colour from its first frame to its last."""
    colours = {"octopus arms": "red", "coral reef": "lime", TOPIC: "blue"}  # lime: lavfi's pure green
    api = StockMediaApi(
        videos=[FakeVideo(901 + i, 1080, 1920, duration=1.0, colour=c) for i, c in enumerate(colours.values())]
    )
    api.video_results = {query: [901 + i] for i, query in enumerate(colours)}
    script = Script(
        "Octopus minds", "Octopuses are clever.", ["Their arms think.", "They hide in reefs."], "Follow for more.",
        "d", [], visual_terms=[["octopus"], ["octopus", "arms"], ["coral reef"], []],
    )  # fmt: skip
    speech = timeline([0.0, 1.1, 2.4, 3.3], 4.2)
    voice = sine_wav(tmp_path / "voice.wav", speech.duration)
    (tmp_path / "timeline.json").write_text(json.dumps(speech.to_json()))
    # A simple video prefers photos; this channel asked for clips.
    request = VideoRequest("v1", TOPIC, "moving", "user-1", complexity="simple")
    inp = StageInput(
        "media_collection",
        request,
        str(tmp_path),
        str(tmp_path / "outbox"),
        {"timeline": str(tmp_path / "timeline.json")},
    )
    with serve(api.app) as base_url:
        settings = make_settings(
            tmp_path, base_url, channel_stock_footage={"moving": "clips"}, provider_timeout_seconds=60
        )
        (tmp_path / "media").mkdir()
        outcome = await media.collect(make_ctx(settings), inp, script, tmp_path / "media")

    assert [s.query["query"] for s in api.received("pexels_videos")] == list(colours)
    assert [i["query"] for i in manifest(outcome)["items"][1:]] == list(colours)
    render_inp = replace(
        inp,
        stage="video_rendering",
        artifacts={**inp.artifacts, **outcome.artifacts, "voice": str(voice)},
    )
    plan = build_plan(render_inp, encoder="libx264", preset="ultrafast")
    assert plan.crossfade == 0.0
    result = await render(plan)
    video = Path(result.output_path)

    names = ["other", "red", "green", "blue"]
    frame = 1 / plan.fps
    for segment, name in zip(speech.segments, names, strict=True):
        # Its colour over the whole segment: just after it starts, in the middle, just before it ends.
        for t in (segment.start + 1.5 * frame, (segment.start + segment.end) / 2, segment.end - 1.5 * frame):
            assert dominant(video, t) == name, (segment.index, round(t, 3))
    assert scene_cuts(video) == pytest.approx([s.start for s in speech.segments[1:]], abs=frame)
