"""The frame layout as a pure function: over every orientation, title and caption length, the title and the captions
never overlap, and captions stay inside the frame's safe area (the Shorts overlay's bands in portrait)."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.caption_style import CaptionStyle
from engines.render.layout import Box, FrameLayout, fit_caption, frame_layout

# The Shorts overlay as the issue states it: the bottom ~20 % (title, channel, subscribe) and the right ~12 % (the
# like/comment/share column) of a portrait frame.
BOTTOM_BAND, RIGHT_COLUMN = 0.20, 0.12
ORIENTATIONS = {"portrait": (1080, 1920), "landscape": (1920, 1080), "square": (1080, 1080)}
TITLES = {
    "none": None,
    "short": "Octopuses",
    "long": "Why octopuses have three hearts and blue blood, and what that means for how they hunt at night",
    "very long": " ".join(["Bioluminescence"] * 40),
    "one huge word": "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3,
}
CAPTIONS = {
    "short": "Hi",
    "long": "Deep beneath the ocean lies a hidden world",
    "very long": "Supercalifragilisticexpialidocious bioluminescent extraordinarily magnificent creatures " * 6,
    "one huge word": "x" * 400,
}

even = st.integers(min_value=120, max_value=1920).map(lambda v: v * 2)
frames = st.one_of(
    st.sampled_from(list(ORIENTATIONS.values())),
    st.tuples(even, even).filter(lambda wh: 0.4 <= wh[0] / wh[1] <= 2.5),
)
styles = st.builds(
    CaptionStyle,
    size=st.integers(24, 160),
    outline=st.integers(0, 20),
    position=st.sampled_from(["bottom", "middle", "top"]),
    words_per_line=st.integers(1, 12),
    lines=st.integers(1, 3),
    font=st.sampled_from(["DejaVu Sans", "DejaVu Serif", "DejaVu Sans Mono", "No Such Font"]),
    bold=st.booleans(),
)
word = st.text(alphabet=string.ascii_letters + string.digits + "'-,.!?é", min_size=1, max_size=50)
texts = st.one_of(st.sampled_from(list(CAPTIONS.values())), st.lists(word, min_size=1, max_size=40).map(" ".join))
titles = st.one_of(st.sampled_from(list(TITLES.values())), texts)


def check_layout(layout: FrameLayout) -> None:
    w, h = layout.width, layout.height
    frame = Box(0, 0, w, h)
    area = layout.captions.box
    assert frame.contains(layout.safe)
    assert layout.safe.contains(area), (layout.safe, area)
    if h > w:
        assert layout.safe.bottom <= round(h * (1 - BOTTOM_BAND)) and layout.safe.right <= round(w * (1 - RIGHT_COLUMN))
    if layout.title is not None:
        title = layout.title
        assert frame.contains(title.box) and frame.contains(title.drawn)
        assert title.box.contains(title.drawn)  # zoomed in, the title only grows
        assert not title.box.overlaps(area), (title.box, area)
        assert title.lines and all(line.strip() for line in title.lines)


def check_caption(layout: FrameLayout, text: str) -> None:
    area = layout.captions
    words = text.split()
    fit = fit_caption(area, [words])
    assert area.box.contains(fit.box), (area.box, fit.box)
    assert 1 <= len(fit.lines) <= area.lines
    assert fit.font_size <= area.font_size
    for line in fit.text_lines():
        assert area.text_width(line, fit.font_size) <= area.inner.width
    assert all(len({i for i, _ in line}) <= area.words_per_line for line in fit.lines)
    if layout.title is not None:
        assert not layout.title.box.overlaps(fit.box)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames, title=titles, style=styles, caption=texts)
def test_title_and_captions_never_overlap_and_captions_stay_safe(
    frame: tuple[int, int], title: str | None, style: CaptionStyle, caption: str
) -> None:
    layout = frame_layout(*frame, title, style)
    check_layout(layout)
    check_caption(layout, caption)


@pytest.mark.parametrize("orientation", list(ORIENTATIONS))
@pytest.mark.parametrize("title", list(TITLES))
@pytest.mark.parametrize("position", ["bottom", "middle", "top"])
def test_every_orientation_title_and_caption_length(orientation: str, title: str, position: str) -> None:
    layout = frame_layout(*ORIENTATIONS[orientation], TITLES[title], CaptionStyle(position=position, lines=2))
    check_layout(layout)
    for caption in CAPTIONS.values():
        check_caption(layout, caption)
    if title != "none":
        assert layout.title is not None, "every frame size here has room for a title"


def test_a_long_caption_wraps_and_a_longer_one_shrinks_before_anything_is_cut() -> None:
    layout = frame_layout(1080, 1920, "A title", CaptionStyle(lines=2, words_per_line=6))
    area = layout.captions
    long = fit_caption(area, [CAPTIONS["long"].split()])
    assert len(long.lines) == 2 and long.font_size == area.font_size
    assert " ".join(long.text_lines()) == CAPTIONS["long"]
    longer = "Supercalifragilisticexpialidocious bioluminescent extraordinarily magnificent creatures"
    shrunk = fit_caption(area, [longer.split()])
    assert len(shrunk.lines) == 2 and shrunk.font_size < area.font_size
    assert " ".join(shrunk.text_lines()) == longer
    cut = fit_caption(area, [CAPTIONS["very long"].split()])
    assert cut.text_lines()[-1].endswith("…") and area.box.contains(cut.box)


def test_a_word_wider_than_the_frame_is_split_at_the_smallest_size() -> None:
    layout = frame_layout(1080, 1920, None, CaptionStyle(lines=3))
    fit = fit_caption(layout.captions, [["Pneumonoultramicroscopicsilicovolcanoconiosis" * 2]])
    assert len(fit.lines) > 1 and {i for line in fit.lines for i, _ in line} == {0}
    assert "".join(fit.text_lines()) == "Pneumonoultramicroscopicsilicovolcanoconiosis" * 2


def test_shorts_default_captions_sit_below_the_title_above_the_overlay() -> None:
    layout = frame_layout(1080, 1920, TITLES["long"], CaptionStyle())
    assert layout.title is not None
    area = layout.captions.box
    assert layout.title.box.bottom < area.top and area.bottom <= 1920 * (1 - BOTTOM_BAND)
    assert area.right <= 1080 * (1 - RIGHT_COLUMN)
    # The title stays in the centre 16:9 band the thumbnail crops, whatever Ken Burns does to it.
    band_top, band_bottom = (1920 - 1080 * 9 / 16) / 2, (1920 + 1080 * 9 / 16) / 2
    assert band_top <= layout.title.box.top and layout.title.box.bottom <= band_bottom
    assert " ".join(layout.title.lines) == TITLES["long"]


def test_middle_captions_give_the_portrait_centre_to_the_title() -> None:
    bottom = frame_layout(1080, 1920, TITLES["long"], CaptionStyle(position="bottom"))
    middle = frame_layout(1080, 1920, TITLES["long"], CaptionStyle(position="middle"))
    top = frame_layout(1080, 1920, TITLES["long"], CaptionStyle(position="top"))
    assert top.captions.box.bottom < middle.captions.box.top < bottom.captions.box.top
    assert middle.title == bottom.title  # the title keeps its place; the captions move below it
    assert middle.title is not None and middle.title.box.bottom < middle.captions.box.top


def test_landscape_title_makes_room_for_the_captions() -> None:
    style = CaptionStyle(lines=3)
    without = frame_layout(1920, 1080, TITLES["long"], CaptionStyle(position="top", size=24))
    with_captions = frame_layout(1920, 1080, TITLES["long"], style)
    assert without.title is not None and with_captions.title is not None
    assert with_captions.title.box.bottom < with_captions.captions.box.top
    assert with_captions.title.box.height < without.title.box.height


def test_the_layout_is_a_function_of_its_inputs() -> None:
    a = frame_layout(1080, 1920, TITLES["long"], CaptionStyle(position="middle"))
    b = frame_layout(1080, 1920, TITLES["long"], CaptionStyle(position="middle"))
    assert a == b
