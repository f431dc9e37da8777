"""Caption chunking and ASS output; one test burns the file into a clip with ffmpeg's subtitles filter."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from engines.captions import caption_chunks, caption_layout, escape_ass_text, render_ass, write_ass
from engines.speech.timeline import SegmentTiming, SpeechTimeline, WordTiming

DIALOGUE = re.compile(r"^Dialogue: 0,(\d+):(\d\d):(\d\d)\.(\d\d),(\d+):(\d\d):(\d\d)\.(\d\d),Caption,,0,0,0,,(.*)$")


def make_timeline(segments: list[str], word_seconds: float = 0.3, gap: float = 0.5) -> SpeechTimeline:
    """Evenly timed words; each segment ends with `gap` seconds of silence."""
    words: list[WordTiming] = []
    timings: list[SegmentTiming] = []
    t = 0.0
    for index, text in enumerate(segments):
        start = t
        for token in text.split():
            words.append(WordTiming(text=token, start=round(t, 4), end=round(t + word_seconds, 4), segment=index))
            t += word_seconds
        t += gap
        timings.append(SegmentTiming(index=index, text=text, start=round(start, 4), end=round(t, 4)))
    return SpeechTimeline(words=words, segments=timings, duration=round(t, 4))


def dialogues(ass: str) -> list[tuple[float, float, str]]:
    found = []
    for line in ass.splitlines():
        if line.startswith("Dialogue:"):
            m = DIALOGUE.match(line)
            assert m, line
            g = [int(x) for x in m.groups()[:8]]
            start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 100
            end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 100
            found.append((start, end, m.group(9)))
    return found


TIMELINE = make_timeline(
    [
        "Deep beneath the ocean lies a hidden world, full of strange creatures that glow.",
        "Supercalifragilisticexpialidocious light is efficient.",
        "A glowing lure hangs above its mouth.",
    ]
)


def test_chunks_respect_word_and_char_limits() -> None:
    chunks = caption_chunks(TIMELINE, max_words=4, max_chars=22)
    for chunk in chunks:
        assert len(chunk.words) <= 4
        assert len(chunk.text) <= 22 or len(chunk.words) == 1
        assert chunk.text == " ".join(w.text for w in chunk.words)
    assert [w for c in chunks for w in c.words] == TIMELINE.words
    assert any(c.text == "Supercalifragilisticexpialidocious" for c in chunks), "an over-long word stands alone"


def test_chunks_never_cross_segments_and_break_after_clauses() -> None:
    chunks = caption_chunks(TIMELINE)
    for chunk in chunks:
        assert {w.segment for w in chunk.words} == {chunk.segment}
        assert not any(w.text.endswith((".", ",")) for w in chunk.words[:-1])
    assert [c.text for c in chunks if c.segment == 0][:3] == [
        "Deep beneath the ocean",
        "lies a hidden world,",
        "full of strange",
    ]


def test_chunks_span_their_words_without_overlap() -> None:
    chunks = caption_chunks(TIMELINE)
    for chunk in chunks:
        assert chunk.start == chunk.words[0].start
        assert chunk.end == chunk.words[-1].end
        assert chunk.start < chunk.end
    for prev, chunk in zip(chunks, chunks[1:], strict=False):
        assert prev.end <= chunk.start


def test_header_sets_play_res_and_style() -> None:
    ass = render_ass(TIMELINE, width=1080, height=1920)
    assert "PlayResX: 1080\n" in ass and "PlayResY: 1920\n" in ass
    style = next(line for line in ass.splitlines() if line.startswith("Style: Caption,"))
    fields = style.removeprefix("Style: ").split(",")
    assert fields[1] == "DejaVu Sans"
    assert fields[3] == "&H00FFFFFF" and fields[5] == "&H00000000"  # white text, black outline
    assert fields[7] == "-1"  # bold
    assert fields[18] == "2"  # bottom-centre, lifted by MarginV
    assert int(fields[21]) == caption_layout(1080, 1920).margin_v


def test_layout_scales_with_resolution() -> None:
    portrait, small, landscape = caption_layout(1080, 1920), caption_layout(320, 568), caption_layout(1920, 1080)
    assert small.font_size < portrait.font_size
    assert 55 <= portrait.font_size <= 90
    # Portrait captions sit in the lower-middle (bottom edge ~66% down), landscape ones near the bottom.
    assert 0.55 <= 1 - portrait.margin_v / 1920 <= 0.7
    assert 1 - landscape.margin_v / 1080 >= 0.85


def test_basic_events_match_chunks_without_overlap() -> None:
    events = dialogues(render_ass(TIMELINE, width=1080, height=1920))
    chunks = caption_chunks(TIMELINE)
    assert [e[2] for e in events] == [c.text for c in chunks]
    for (start, end, _), chunk in zip(events, chunks, strict=True):
        assert abs(start - chunk.start) <= 0.005 and abs(end - chunk.end) <= 0.005
    for prev, event in zip(events, events[1:], strict=False):
        assert prev[1] <= event[0]


def test_styled_highlights_each_word_in_turn() -> None:
    events = dialogues(render_ass(TIMELINE, width=1080, height=1920, style="styled"))
    assert len(events) == len(TIMELINE.words)
    for (start, _, text), word in zip(events, TIMELINE.words, strict=True):
        assert abs(start - word.start) <= 0.005
        assert f"{{\\1c&H0000D7FF&}}{escape_ass_text(word.text)}{{\\r}}" in text
    for prev, event in zip(events, events[1:], strict=False):
        assert prev[1] <= event[0]


def test_text_is_escaped() -> None:
    assert escape_ass_text("a{b}c") == "a\\{b\\}c"
    assert escape_ass_text("x\\Ny") == "x\\\u2060Ny"
    timeline = make_timeline(["Use {\\b1} tags \\N here"])
    for style in ("basic", "styled"):
        for _, _, text in dialogues(render_ass(timeline, width=320, height=568, style=style)):
            plain = re.sub(r"\{\\1c&H0000D7FF&\}|\{\\r\}", "", text)
            assert not re.search(r"(?<!\\)[{}]", plain)
            assert "\\N" not in plain and "\\b1" not in plain


def test_unknown_style_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="styled"):
        write_ass(TIMELINE, tmp_path / "c.ass", width=320, height=568, style="fancy")  # type: ignore[arg-type]


@pytest.mark.parametrize("style", ["basic", "styled"])
def test_ass_burns_into_a_clip(tmp_path: Path, style: str) -> None:
    timeline = make_timeline(["Glowing fish {swim} here.", "Second part"], word_seconds=0.25, gap=0.2)
    path = write_ass(timeline, tmp_path / "captions.ass", width=320, height=568, style=style)
    assert path == tmp_path / "captions.ass"
    result = subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=320x568:r=25:d=2",
            "-vf",
            "subtitles=captions.ass",
            "-pix_fmt",
            "gray",
            "-f",
            "rawvideo",
            "-",
        ],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    frame_size = 320 * 568
    assert len(result.stdout) == 50 * frame_size
    frame = result.stdout[12 * frame_size : 13 * frame_size]  # t = 0.48 s: first chunk is on screen
    bright_rows = [y for y in range(568) if max(frame[y * 320 : (y + 1) * 320]) > 200]
    assert bright_rows, "caption text should be drawn"
    assert 0.5 * 568 < min(bright_rows) and max(bright_rows) < 0.75 * 568
