"""Caption chunking and ASS output; one test burns the file into a clip as the render does."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import ffmpeg
import pytest

from core.caption_style import CaptionStyle
from engines.captions import caption_chunks, escape_ass_text, render_ass, write_ass
from engines.render.graph import burn_captions
from engines.render.layout import caption_margins, frame_layout
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


PORTRAIT = frame_layout(1080, 1920, "Deep sea lights", CaptionStyle())
EVENT_TAG = re.compile(r"\{\\[^}]*\}")


def short(text: str) -> bool:
    return len(text) <= 22


def test_chunks_respect_word_and_width_limits() -> None:
    chunks = caption_chunks(TIMELINE, words_per_line=4, fits=short)
    for chunk in chunks:
        assert len(chunk.words) <= 4 and len(chunk.lines) == 1
        assert len(chunk.text) <= 22 or len(chunk.words) == 1
        assert chunk.text == " ".join(w.text for w in chunk.words)
    assert [w for c in chunks for w in c.words] == TIMELINE.words
    assert any(c.text == "Supercalifragilisticexpialidocious" for c in chunks), "an over-long word stands alone"


def test_chunks_fill_several_lines_of_words_per_line() -> None:
    timeline = make_timeline(["one two three four five six seven eight nine ten eleven twelve thirteen"])
    chunks = caption_chunks(timeline, words_per_line=3, lines=2)
    assert [[" ".join(w.text for w in line) for line in c.lines] for c in chunks] == [
        ["one two three", "four five six"],
        ["seven eight nine", "ten eleven"],
        ["twelve thirteen"],  # lines and chunks shared evenly: no lone last word
    ]
    assert all(c.words == tuple(w for line in c.lines for w in line) for c in chunks)


def test_chunks_never_cross_segments_and_break_after_clauses() -> None:
    chunks = caption_chunks(TIMELINE, fits=short, lines=2)
    for chunk in chunks:
        assert {w.segment for w in chunk.words} == {chunk.segment}
        assert not any(w.text.endswith((".", ",")) for w in chunk.words[:-1])
    assert [c.text for c in caption_chunks(TIMELINE, fits=short) if c.segment == 0][:3] == [
        "Deep beneath the ocean",
        "lies a hidden world,",
        "full of strange",
    ]


def lines_of(segments: list[str], **options: int) -> list[str]:
    return [
        " ".join(w.text for w in line) for c in caption_chunks(make_timeline(segments), **options) for line in c.lines
    ]


def test_a_clause_is_shared_evenly_and_no_line_ends_on_a_word_that_leads_into_the_next() -> None:
    assert lines_of(["Zoom out for a second."]) == ["Zoom out", "for a second."]
    assert lines_of(["Once you notice octopus hearts, you start to see it everywhere you look."]) == [
        "Once you notice",
        "octopus hearts,",
        "you start to see",
        "it everywhere you look.",
    ]
    assert lines_of(
        ["Most explanations of octopus hearts skip the one step that makes everything else make sense."]
    ) == [
        "Most explanations of octopus",
        "hearts skip the one",
        "step that makes everything",
        "else make sense.",
    ]
    for line in lines_of(
        ["Deep beneath the ocean lies a hidden world full of strange creatures that glow in the dark."]
    ):
        assert line.split()[-1] not in {"the", "a", "of", "in"} and len(line.split()) >= 2


def test_chunks_span_their_words_without_overlap() -> None:
    chunks = caption_chunks(TIMELINE)
    for chunk in chunks:
        assert chunk.start == chunk.words[0].start
        assert chunk.end == chunk.words[-1].end
        assert chunk.start < chunk.end
    for prev, chunk in zip(chunks, chunks[1:], strict=False):
        assert prev.end <= chunk.start


def style_fields(ass: str) -> list[str]:
    style = next(line for line in ass.splitlines() if line.startswith("Style: Caption,"))
    return style.removeprefix("Style: ").split(",")


def test_header_sets_play_res_and_the_default_look() -> None:
    ass = render_ass(TIMELINE, PORTRAIT, highlight=False)
    assert "PlayResX: 1080\n" in ass and "PlayResY: 1920\n" in ass
    assert "WrapStyle: 2\n" in ass  # the layout breaks the lines, libass does not rewrap them
    fields = style_fields(ass)
    assert fields[1] == "DejaVu Sans" and fields[2] == "67"
    assert fields[3] == "&H00FFFFFF" and fields[5] == "&H00000000"  # white text, black outline
    assert fields[7] == "-1"  # bold
    assert (fields[16], fields[17]) == ("5", "2")  # outline, shadow
    assert fields[18] == "2"  # bottom-centre: anchored at the caption area's bottom
    assert tuple(int(f) for f in fields[19:22]) == caption_margins(PORTRAIT)
    inner = PORTRAIT.captions.inner
    assert (int(fields[19]), 1080 - int(fields[20]), 1920 - int(fields[21])) == (inner.left, inner.right, inner.bottom)


def test_the_ass_file_reflects_the_channel_style() -> None:
    style = CaptionStyle(
        font="DejaVu Serif",
        bold=False,
        size=90,
        text_colour="#112233",
        outline_colour="#A0B0C0",
        highlight_colour="#00FF7F",
        outline=8,
        position="top",
    )
    layout = frame_layout(1920, 1080, "A title", style)
    ass = render_ass(TIMELINE, layout, highlight=True)
    fields = style_fields(ass)
    assert fields[1] == "DejaVu Serif" and fields[7] == "0"
    assert fields[2] == "90"  # sizes are for a 1080 px shorter side: landscape 1920x1080 keeps them
    assert fields[3] == "&H00332211" and fields[5] == "&H00C0B0A0"
    assert fields[16] == "8"
    assert fields[18] == "8"  # top-centre, MarginV from the top
    assert int(fields[21]) == layout.captions.inner.top == layout.safe.top + 8
    texts = [text for _, _, text in dialogues(ass)]
    assert all("{\\1c&H007FFF00&}" in text and "{\\1c&H00332211&}" in text for text in texts)


def test_basic_events_match_chunks_without_overlap() -> None:
    events = dialogues(render_ass(TIMELINE, PORTRAIT, highlight=False))
    chunks = caption_chunks(TIMELINE, fits=PORTRAIT.captions.fits)
    assert [EVENT_TAG.sub("", e[2]) for e in events] == [c.text for c in chunks]
    for (start, end, _), chunk in zip(events, chunks, strict=True):
        assert abs(start - chunk.start) <= 0.005 and abs(end - chunk.end) <= 0.005
    for prev, event in zip(events, events[1:], strict=False):
        assert prev[1] <= event[0]


def test_highlight_off_has_no_per_word_tags() -> None:
    for complexity in ("simple", "premium"):
        style = CaptionStyle(highlight=False)
        assert not style.highlights(complexity)
        events = dialogues(render_ass(TIMELINE, frame_layout(1080, 1920, None, style), highlight=False))
        assert len(events) < len(TIMELINE.words)  # one event per chunk, not per word
        for _, _, text in events:
            # Colour changes (\1c, \c), karaoke (\k, \kf, \ko, \K) and style resets (\r) would be per word.
            assert not re.search(r"\\(1c|c&|k|K|r)", text), text
    assert CaptionStyle().highlights("premium") and not CaptionStyle().highlights("simple")


def test_highlight_on_colours_each_word_in_turn() -> None:
    events = dialogues(render_ass(TIMELINE, PORTRAIT, highlight=True))
    assert len(events) == len(TIMELINE.words)
    for (start, _, text), word in zip(events, TIMELINE.words, strict=True):
        assert abs(start - word.start) <= 0.005
        assert f"{{\\1c&H0000D7FF&}}{escape_ass_text(word.text)}{{\\1c&H00FFFFFF&}}" in text
        assert text.count("\\1c&H0000D7FF&") == 1
    for prev, event in zip(events, events[1:], strict=False):
        assert prev[1] <= event[0]


@pytest.mark.parametrize(("words_per_line", "lines"), [(1, 1), (2, 3), (3, 2), (6, 1)])
def test_words_per_line_and_lines_are_respected(words_per_line: int, lines: int) -> None:
    layout = frame_layout(1080, 1920, "Title", CaptionStyle(words_per_line=words_per_line, lines=lines))
    events = dialogues(render_ass(TIMELINE, layout, highlight=False))
    rows = [EVENT_TAG.sub("", text).split("\\N") for _, _, text in events]
    assert all(1 <= len(r) <= lines for r in rows)
    shown = [row for r in rows for row in r]
    assert all(len(row.split()) <= words_per_line for row in shown)
    assert all(layout.captions.fits(row) or len(row.split()) == 1 for row in shown)
    if words_per_line <= 3:  # short enough to fit the width: some line is full
        assert any(len(row.split()) == words_per_line for row in shown)
    if lines > 1:
        assert any(len(r) > 1 for r in rows)
    assert " ".join(shown).split() == [w.text for w in TIMELINE.words]


def test_an_over_long_word_is_drawn_smaller() -> None:
    timeline = make_timeline(["Pneumonoultramicroscopicsilicovolcanoconiosis strikes."])
    layout = frame_layout(1080, 1920, None, CaptionStyle(size=120))
    (first, second) = dialogues(render_ass(timeline, layout, highlight=False))
    size = re.match(r"\{\\fs(\d+)\}", first[2])
    assert size and int(size.group(1)) < layout.captions.font_size  # shrunk to fit the width
    assert not second[2].startswith("{")  # the next caption is back at the style's size


def test_text_is_escaped() -> None:
    assert escape_ass_text("a{b}c") == "a\\{b\\}c"
    assert escape_ass_text("x\\Ny") == "x\\\u2060Ny"
    timeline = make_timeline(["Use {\\b1} tags \\N here"])
    layout = frame_layout(320, 568, None, CaptionStyle())
    for highlight in (False, True):
        for _, _, text in dialogues(render_ass(timeline, layout, highlight=highlight)):
            plain = re.sub(r"\{\\(1c&H[0-9A-F]{8}&|fs\d+)\}", "", text)
            assert not re.search(r"(?<!\\)[{}]", plain)
            assert "\\N" not in plain and "\\b1" not in plain


@pytest.mark.parametrize("highlight", [False, True])
def test_ass_burns_into_a_clip_inside_its_caption_area(tmp_path: Path, highlight: bool) -> None:
    timeline = make_timeline(["Glowing fish {swim} here.", "Second part"], word_seconds=0.25, gap=0.2)
    layout = frame_layout(320, 568, None, CaptionStyle())
    path = write_ass(timeline, tmp_path / "captions.ass", layout, highlight=highlight)
    assert path == tmp_path / "captions.ass"
    burned = burn_captions(ffmpeg.input("color=c=black:s=320x568:r=25:d=2", f="lavfi"), "captions.ass")
    argv = ffmpeg.output(burned, "pipe:", format="rawvideo", pix_fmt="gray").global_args(
        "-hide_banner", "-nostdin", "-loglevel", "error"
    )
    result = subprocess.run(
        argv.compile(),
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    frame_size = 320 * 568
    assert len(result.stdout) == 50 * frame_size
    frame = result.stdout[12 * frame_size : 13 * frame_size]  # t = 0.48 s: first chunk is on screen
    lit = [(x, y) for y in range(568) for x in range(320) if frame[y * 320 + x] > 40]
    assert lit, "caption text should be drawn"
    box = layout.captions.box
    assert box.top <= min(y for _, y in lit) and max(y for _, y in lit) < box.bottom
    assert box.left <= min(x for x, _ in lit) and max(x for x, _ in lit) < box.right
