"""A clean frame, on real renders: the title card and a long first caption, rendered with Ken Burns and a crossfade
as complex videos are, never share pixels, and Shorts captions stay clear of the bottom band and the right column.

The captions are drawn in colours the title card cannot hold (its background's luma is at most 0.5, so no pixel of it
has two channels above 200), which tells caption pixels from title pixels (white) in the decoded frames."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from core.caption_style import CaptionStyle
from engines.captions import write_ass
from engines.media.backgrounds import generate_backgrounds
from engines.render import RenderPlan, plan_stills, render
from engines.render.layout import Box, FrameLayout, frame_layout
from engines.speech.timeline import SegmentTiming, SpeechTimeline, WordTiming

TITLE = "Why octopuses have three hearts and blue blood in the deep cold sea"
FIRST = "Extraordinary bioluminescent creatures illuminate the darkest trenches"
SECOND = "They glow."
WORD_SECONDS = 0.35
CROSSFADE = 0.5
STYLE = CaptionStyle(text_colour="#FFFF00", highlight_colour="#00FFFF", lines=2, words_per_line=5)
# The Shorts overlay as the issue states it: the bottom ~20 % and the right ~12 % of a portrait frame.
BOTTOM_BAND, RIGHT_COLUMN = 0.20, 0.12


def timeline() -> SpeechTimeline:
    words, segments, t = [], [], 0.0
    for index, text in enumerate([FIRST, SECOND]):
        start = t
        for token in text.split():
            words.append(WordTiming(token, round(t, 3), round(t + WORD_SECONDS, 3), index))
            t += WORD_SECONDS
        segments.append(SegmentTiming(index, text, round(start, 3), round(t, 3)))
    return SpeechTimeline(words=words, segments=segments, duration=round(t, 3))


def prepare(tmp_path: Path, width: int, height: int) -> tuple[RenderPlan, FrameLayout, SpeechTimeline]:
    """What the stages leave for the render: the title card and a slide, the captions, the narration."""
    speech = timeline()
    layout = frame_layout(width, height, TITLE, STYLE)
    stills = generate_backgrounds(
        tmp_path / "media", count=2, width=width, height=height, seed="frame", title=TITLE, caption_style=STYLE
    )
    captions = write_ass(speech, tmp_path / "captions.ass", layout, highlight=True)
    audio = tmp_path / "voice.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=300:duration={speech.duration}",
         str(audio)],
        check=True,
    )  # fmt: skip
    durations = [s.end - s.start for s in speech.segments]
    plan = RenderPlan(
        stills=plan_stills(durations, [str(p) for p in stills], CROSSFADE),
        audio_path=str(audio),
        output_path=str(tmp_path / "final.mp4"),
        captions_path=str(captions),
        width=width,
        height=height,
        motion=True,
        crossfade=CROSSFADE,
        preset="ultrafast",
    )
    return plan, layout, speech


def frame_at(video: Path, seconds: float, size: tuple[int, int]) -> Image.Image:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{seconds:.3f}", "-i", str(video), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return Image.frombytes("RGB", size, raw)


def mask(img: Image.Image, *tests: tuple[str, int]) -> Image.Image:
    """255 where every (channel, bound) holds: `>` for a positive bound, `<` for a negative one."""
    out = Image.new("L", img.size, 255)
    for channel, bound in tests:
        band = img.getchannel(channel)
        passed = band.point(lambda v, b=bound: 255 if (v > b if b > 0 else v < -b) else 0)
        out = ImageChops.multiply(out, passed)
    return out


def pixels_box(m: Image.Image) -> Box | None:
    box = m.getbbox()
    return Box(*box) if box else None


def caption_pixels(img: Image.Image) -> Box | None:
    yellow = mask(img, ("R", 200), ("G", 200), ("B", -90))
    cyan = mask(img, ("R", -90), ("G", 200), ("B", 200))
    return pixels_box(ImageChops.lighter(yellow, cyan))


def title_pixels(img: Image.Image) -> Box | None:
    return pixels_box(mask(img, ("R", 215), ("G", 215), ("B", 215)))


@pytest.mark.parametrize(("width", "height"), [(1080, 1920), (1920, 1080)], ids=["portrait", "landscape"])
async def test_title_and_first_caption_never_overlap_on_screen(tmp_path: Path, width: int, height: int) -> None:
    plan, layout, speech = prepare(tmp_path, width, height)
    await render(plan)
    video = Path(plan.output_path)
    assert layout.title is not None
    # The title card is alone on screen until the crossfade into the second slide starts.
    alone_until = speech.segments[0].end - CROSSFADE / 2
    samples = [0.15, alone_until / 2, alone_until - 0.15]  # the last one is zoomed in the furthest
    tallest = 0
    for t in samples:
        img = frame_at(video, t, (width, height))
        title, caption = title_pixels(img), caption_pixels(img)
        assert title is not None, f"no title pixels at {t}s"
        assert caption is not None, f"no caption pixels at {t}s"
        assert not title.overlaps(caption), (t, title, caption)
        # Where they are is where the layout said they would be.
        assert layout.title.box.contains(title), (t, layout.title.box, title)
        assert layout.captions.box.contains(caption), (t, layout.captions.box, caption)
        if height > width:
            assert caption.bottom <= height * (1 - BOTTOM_BAND), (t, caption)
            assert caption.right <= width * (1 - RIGHT_COLUMN), (t, caption)
        tallest = max(tallest, caption.height)
    # The long first caption needed both of its lines.
    assert tallest > 1.5 * layout.captions.font_size
