"""Where the title card's text and the captions sit in the frame: one pure function decides both, once per video.

`frame_layout` puts the caption region inside the safe area and fits the title into what the captions leave of
the thumbnail band; `fit_caption` fits one caption into the caption region. The title card (engines/media) draws the
title where the layout says, and the caption file (engines/captions.py) anchors every caption in the region, so the
two cannot meet unless this module is wrong (tests/engines/test_layout.py checks every orientation and length).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from PIL import ImageFont

from core import writing_systems
from core.caption_style import CaptionStyle
from core.languages import DEFAULT_LANGUAGE
from engines.render.fonts import FontFace, caption_face, face_for
from engines.render.graph import MOTION_ZOOM

log = logging.getLogger(__name__)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

# YouTube publishes no pixel map of the Shorts player's overlay; these are the creator guides' measurements of it on
# a 1080x1920 frame (e.g. shortsfire.com's "Shorts Safe Zones" and webbannerexperts.com's 1080x1920 guide): the
# title, channel name and subscribe button cover about the bottom 20 % (384 px), the like/dislike/comment/share
# column about the right 12 % (130 px), the search and menu buttons about the top 15 % (288 px).
SHORTS_BOTTOM_BAND = 0.20
SHORTS_RIGHT_COLUMN = 0.12
SHORTS_TOP_BAND = 0.15
# A landscape (or square) video plays without an overlay: captions keep the margins they always had.
SIDE_MARGIN = 0.06
EDGE_MARGIN = 0.07
# The title stays inside the frame's centre 16:9 band, which is what the upload thumbnail crops
# (engines/media/thumbnail.py), inset from the band's edges and from the sides (from the buttons in portrait).
TITLE_BAND_INSET = 0.06
TITLE_SIDE_MARGIN = 0.08
# Ken Burns zooms the title card about the frame's centre by up to this (engines/render/graph.py); the title is
# fitted so that even fully zoomed it stays in its box, whatever the video's tier.
TITLE_ZOOM = 1 + MOTION_ZOOM
TITLE_LINE_SPACING = 1.15
# A caption too wide for its lines at the style's size shrinks down to this share of it before a word is split.
MIN_CAPTION_SCALE = 0.5
# Middle captions move off the title's band when they would leave the title less than this share of it.
MIN_TITLE_SHARE = 0.5
# PIL's advance widths, scaled to libass's size, come out at or a little over the width libass draws (measured with
# DejaVu Sans Bold); the spare covers hinting and rounding in other fonts.
_WIDTH_SLACK = 1.02
_REFERENCE_SIZE = 1000
_ELLIPSIS = "…"


@dataclass(frozen=True)
class Box:
    """A pixel rectangle: left and top inclusive, right and bottom exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def contains(self, other: Box) -> bool:
        return (
            self.left <= other.left
            and self.top <= other.top
            and other.right <= self.right
            and other.bottom <= self.bottom
        )

    def overlaps(self, other: Box) -> bool:
        return (
            self.left < other.right and other.left < self.right and self.top < other.bottom and other.top < self.bottom
        )


@dataclass(frozen=True)
class TitleText:
    """The title as the card draws it: `lines` in `font` at `font_size`, centred on `centre_x`, the first line's
    middle at `first_centre_y`, each next one `line_height` lower. `drawn` bounds its pixels (shadow included) on
    the card; `box` bounds them on screen at any Ken Burns zoom."""

    lines: tuple[str, ...]
    font: FontFace
    font_size: int
    line_height: int
    centre_x: int
    first_centre_y: int
    shadow_offset: int
    shadow_blur: int
    drawn: Box
    box: Box


@dataclass(frozen=True)
class CaptionArea:
    """The region every caption stays in, and the ASS style that anchors it there."""

    box: Box
    font: FontFace  # what libass draws with: the style's font, or the Noto family of the language's script
    font_size: int  # the ASS Fontsize: libass makes one line exactly this many pixels tall
    outline: int
    shadow: int
    lines: int
    words_per_line: int
    anchor: Literal["bottom", "top"]

    @property
    def inner(self) -> Box:
        """Where the glyphs' advance boxes go: the region less the outline around them and the shadow below right."""
        o, s = self.outline, self.shadow
        return Box(self.box.left + o, self.box.top + o, self.box.right - o - s, self.box.bottom - o - s)

    def text_width(self, text: str, size: int) -> float:
        """How wide libass draws `text` at ASS Fontsize `size` (a little over, never under)."""
        return _advance_per_size(self.font.file, self.font.index, text) * size * _WIDTH_SLACK + 1

    def fits(self, text: str, size: int | None = None) -> bool:
        return self.text_width(text, size or self.font_size) <= self.inner.width


@dataclass(frozen=True)
class FrameLayout:
    """Where things go in one video's frame."""

    width: int
    height: int
    safe: Box  # where captions may go: the frame less the Shorts overlay (portrait) or less margins
    captions: CaptionArea
    title: TitleText | None  # None: no title, or no room for one
    style: CaptionStyle


@dataclass(frozen=True)
class CaptionFit:
    """One caption fitted to the caption area: its lines (each a run of (word index, text) pieces; a word wider than
    a whole line is split into pieces), the ASS font size they are drawn at, and the box their pixels stay in."""

    lines: tuple[tuple[tuple[int, str], ...], ...]
    font_size: int
    box: Box

    def text_lines(self) -> list[str]:
        return [_text(line) for line in self.lines]


def safe_area(width: int, height: int) -> Box:
    """Where captions may go: clear of the Shorts overlay in portrait, inside the margins otherwise."""
    if height > width:
        return Box(
            round(width * SIDE_MARGIN),
            round(height * SHORTS_TOP_BAND),
            round(width * (1 - SHORTS_RIGHT_COLUMN)),
            round(height * (1 - SHORTS_BOTTOM_BAND)),
        )
    return Box(
        round(width * SIDE_MARGIN),
        round(height * EDGE_MARGIN),
        round(width * (1 - SIDE_MARGIN)),
        round(height * (1 - EDGE_MARGIN)),
    )


def frame_layout(
    width: int, height: int, title: str | None, style: CaptionStyle, language: str = DEFAULT_LANGUAGE
) -> FrameLayout:
    """The caption region and the title's place for a `width` x `height` video in `language`; they never
    overlap."""
    safe = safe_area(width, height)
    area = _caption_area(width, height, safe, style, language)
    band = _title_band(width, height)
    gap = max(area.font_size // 3, 4)
    region = _title_region(band, area.box, gap)
    if style.position == "middle" and region.height < MIN_TITLE_SHARE * band.height:
        # The centre is the title's; the captions go just below the title's band, or just above it.
        h = area.box.height
        for top in (band.bottom + gap, band.top - gap - h):
            if safe.top <= top and top + h <= safe.bottom:
                area = _moved(area, top)
                region = _title_region(band, area.box, gap)
                break
    fitted = _fit_title(title.strip(), language, region, width, height) if title and title.strip() else None
    return FrameLayout(width, height, safe, area, fitted, style)


def fit_caption(area: CaptionArea, lines: Sequence[Sequence[str]]) -> CaptionFit:
    """Fit a caption (its words, already broken into lines) into `area`: as given when it fits; else rewrapped,
    shrunk down to MIN_CAPTION_SCALE of the size, then with over-wide words split and, past `area.lines` lines,
    cut short with an ellipsis. Whatever the text, the result's box lies inside `area.box`."""
    words = [w for line in lines for w in line]
    numbered: list[list[tuple[int, str]]] = []
    k = 0
    for line in lines:
        numbered.append([(k + i, w) for i, w in enumerate(line)])
        k += len(line)
    size = area.font_size
    if len(numbered) <= area.lines and all(
        _weight(line) <= area.words_per_line and area.fits(_text(line), size) for line in numbered
    ):
        return _fitted(area, numbered, size)
    smallest = max(int(area.font_size * MIN_CAPTION_SCALE), 1)
    while True:
        wrapped = _wrap_words(area, words, size, split=size <= smallest)
        if len(wrapped) <= area.lines and all(area.fits(_text(line), size) for line in wrapped):
            return _fitted(area, wrapped, size)
        if size <= smallest:
            return _fitted(area, _cut(area, wrapped, size), size)
        size = max(min(int(size * 0.95), size - 1), smallest)


def caption_margins(layout: FrameLayout) -> tuple[int, int, int]:
    """ASS MarginL, MarginR, MarginV that anchor captions in the layout's caption area."""
    area = layout.captions
    inner = area.inner
    margin_v = layout.height - inner.bottom if area.anchor == "bottom" else inner.top
    return inner.left, layout.width - inner.right, margin_v


def title_font(face: FontFace, size: int) -> Font:
    """`face` at `size` for Pillow (Pillow's own font when the face has no readable file)."""
    try:
        return ImageFont.truetype(face.file or "", size, index=face.index)
    except OSError:
        log.warning("title font %s not found; using Pillow's default font", face.file)
        return ImageFont.load_default(size=size)


# ---------- captions ----------


def _caption_area(width: int, height: int, safe: Box, style: CaptionStyle, language: str) -> CaptionArea:
    scale = min(width, height) / 1080
    size = max(12, round(style.size * scale))
    # A frame too small for the lines at this size gets smaller text: the region takes at most a third of the safe
    # area's height.
    while size > 6 and _area_height(size, style, scale) > safe.height // 3:
        size -= 1
    outline, shadow = _outline(style, scale, size), _shadow(size)
    h = _area_height(size, style, scale)
    if style.position == "top":
        top = safe.top
    elif style.position == "bottom":
        top = safe.bottom - h
    else:
        top = safe.top + (safe.height - h) // 2
    return CaptionArea(
        box=Box(safe.left, top, safe.right, top + h),
        font=caption_face(language, style.font, style.bold),
        font_size=size,
        outline=outline,
        shadow=shadow,
        lines=style.lines,
        words_per_line=style.words_per_line,
        anchor="top" if style.position == "top" else "bottom",
    )


def _outline(style: CaptionStyle, scale: float, size: int) -> int:
    return max(1, round(style.outline * scale)) if style.outline else 0


def _shadow(size: int) -> int:
    return max(1, round(size * 0.03))


def _area_height(size: int, style: CaptionStyle, scale: float) -> int:
    return style.lines * size + 2 * _outline(style, scale, size) + _shadow(size)


def _moved(area: CaptionArea, top: int) -> CaptionArea:
    return replace(area, box=Box(area.box.left, top, area.box.right, top + area.box.height))


@lru_cache(maxsize=8)
def _reference_font(font_file: str | None, index: int) -> tuple[Font, int]:
    """The font at a large size, and its ascender plus descender there (what libass scales to the Fontsize)."""
    font: Font
    try:
        font = ImageFont.truetype(font_file or "", _REFERENCE_SIZE, index=index)
    except OSError:
        font = ImageFont.load_default(size=_REFERENCE_SIZE)
    if isinstance(font, ImageFont.FreeTypeFont):
        ascent, descent = font.getmetrics()
        return font, ascent + descent
    return font, _REFERENCE_SIZE


@lru_cache(maxsize=4096)
def _advance_per_size(font_file: str | None, index: int, text: str) -> float:
    font, line_height = _reference_font(font_file, index)
    return float(font.getlength(text)) / line_height


def _text(line: Sequence[tuple[int, str]]) -> str:
    """A line's pieces as text: a word's pieces (a word split to fit) joined as they were, words as their script
    joins them."""
    out: list[str] = []
    last = None
    for index, piece in line:
        if out and index == last:
            out[-1] += piece
        else:
            out.append(piece)
        last = index
    return writing_systems.join(out)


def _weight(line: Sequence[tuple[int, str]]) -> float:
    """How many words the line holds (a character of a script written without spaces counts as a part of one)."""
    return sum(writing_systems.word_weight(piece) for piece in dict(line).values())


def _wrap_words(area: CaptionArea, words: Sequence[str], size: int, *, split: bool) -> list[list[tuple[int, str]]]:
    """Greedy lines of at most `area.words_per_line` words that fit the width; with `split`, a word wider than a
    line is cut into pieces that fit."""
    lines: list[list[tuple[int, str]]] = []

    def fits_line(piece: str) -> bool:
        return area.fits(piece, size)

    for index, word in enumerate(words):
        pieces = _pieces_that_fit(word, fits_line) if split and not fits_line(word) else [word]
        for piece in pieces:
            line = lines[-1] if lines else None
            if (
                line is not None
                and _weight([*line, (index, piece)]) <= area.words_per_line
                and line[-1][0] != index
                and area.fits(_text([*line, (index, piece)]), size)
            ):
                line.append((index, piece))
            else:
                lines.append([(index, piece)])
    return lines


def _pieces_that_fit(word: str, fits: Callable[[str], bool]) -> list[str]:
    """A word too long for a line, cut into the longest leading pieces that fit (at least a character each)."""
    pieces: list[str] = []
    rest = word
    while rest:
        n = len(rest)
        while n > 1 and not fits(rest[:n]):
            n -= 1
        pieces.append(rest[:n])
        rest = rest[n:]
    return pieces


def _cut(area: CaptionArea, lines: list[list[tuple[int, str]]], size: int) -> list[list[tuple[int, str]]]:
    """The first `area.lines` lines, the last ending in an ellipsis when something was left out."""
    if len(lines) <= area.lines:
        return lines
    kept = [list(line) for line in lines[: area.lines]]
    last = kept[-1]
    while True:
        index, piece = last[-1]
        candidate = [*last[:-1], (index, piece + _ELLIPSIS)]
        if area.fits(_text(candidate), size) or (len(last) == 1 and len(piece) <= 1):
            kept[-1] = candidate
            return kept
        if len(piece) > 1:
            last[-1] = (index, piece[:-1])
        else:
            last.pop()


def _fitted(area: CaptionArea, lines: Sequence[Sequence[tuple[int, str]]], size: int) -> CaptionFit:
    inner = area.inner
    widest = max((area.text_width(_text(line), size) for line in lines), default=0.0)
    centre = (inner.left + inner.right) / 2
    left = math.floor(centre - widest / 2) - area.outline
    right = math.ceil(centre + widest / 2) + area.outline + area.shadow
    block = len(lines) * size
    if area.anchor == "bottom":
        top, bottom = inner.bottom - block - area.outline, inner.bottom + area.outline + area.shadow
    else:
        top, bottom = inner.top - area.outline, inner.top + block + area.outline + area.shadow
    return CaptionFit(tuple(tuple(line) for line in lines), size, Box(left, top, right, bottom))


# ---------- title ----------


def _title_band(width: int, height: int) -> Box:
    band_h = min(height, width * 9 / 16)
    inset = band_h * TITLE_BAND_INSET
    side = max(TITLE_SIDE_MARGIN, SHORTS_RIGHT_COLUMN) if height > width else TITLE_SIDE_MARGIN
    return Box(
        math.ceil(width * side),
        math.ceil((height - band_h) / 2 + inset),
        math.floor(width * (1 - side)),
        math.floor((height + band_h) / 2 - inset),
    )


def _title_region(band: Box, captions: Box, gap: int) -> Box:
    """The part of the band the title may use: all of it, or the taller part above or below the captions."""
    if captions.bottom + gap <= band.top or band.bottom <= captions.top - gap:
        return band
    above = Box(band.left, band.top, band.right, max(band.top, captions.top - gap))
    below = Box(band.left, min(band.bottom, captions.bottom + gap), band.right, band.bottom)
    return above if above.height >= below.height else below


def _unzoomed(region: Box, width: int, height: int) -> Box:
    """The part of the card that Ken Burns, zoomed all the way in about the frame's centre, shows inside `region`."""
    cx, cy = width / 2, height / 2
    return Box(
        math.ceil(cx + (region.left - cx) / TITLE_ZOOM),
        math.ceil(cy + (region.top - cy) / TITLE_ZOOM),
        math.floor(cx + (region.right - cx) / TITLE_ZOOM),
        math.floor(cy + (region.bottom - cy) / TITLE_ZOOM),
    )


def _zoomed(box: Box, width: int, height: int) -> Box:
    """Where `box` of the card can be on screen: it grows from its size at zoom 1 to TITLE_ZOOM times it."""
    cx, cy = width / 2, height / 2
    return Box(
        min(box.left, math.floor(cx + (box.left - cx) * TITLE_ZOOM)),
        min(box.top, math.floor(cy + (box.top - cy) * TITLE_ZOOM)),
        max(box.right, math.ceil(cx + (box.right - cx) * TITLE_ZOOM)),
        max(box.bottom, math.ceil(cy + (box.bottom - cy) * TITLE_ZOOM)),
    )


def _fit_title(title: str, language: str, region: Box, width: int, height: int) -> TitleText | None:
    """The largest title, word-wrapped, whose pixels stay in `region` at every zoom; cut short at the smallest size."""
    inner = _unzoomed(region, width, height)
    if inner.width <= 0 or inner.height <= 0:
        return None
    face = face_for(title, language)
    size, smallest = max(inner.width // 7, 12), max(inner.width // 40, 12)
    while True:
        font = title_font(face, size)
        pad = _title_pad(size)
        # Words are split only as a last resort, once the font is as small as it may get.
        lines = _wrap_title(title, font, inner.width - 2 * pad, break_words=size <= smallest)
        placed = _place_title(lines, font, size, inner)
        if placed is not None:
            return _title_text(placed, face, width, height)
        if size <= smallest:
            return _cut_title(lines, font, face, size, inner, width, height)
        size = max(int(size * 0.92), smallest)


def _title_pad(size: int) -> int:
    line_h = int(size * TITLE_LINE_SPACING)
    offset, blur = max(line_h // 18, 2), max(line_h // 14, 2)
    # The drop shadow reaches `offset` plus about two blur radii past the glyphs (fainter beyond that); glyph ink
    # may pass the advance box by a pixel or two.
    return offset + 2 * blur + 2


def _wrap_title(title: str, font: Font, box_w: int, break_words: bool) -> list[str]:
    """`title`'s words (a character each in scripts written without spaces) in lines of at most `box_w` pixels,
    as even as they allow; with `break_words`, a word wider than a line is cut where it must."""
    words = writing_systems.words(title) or [""]
    if break_words:
        words = [piece for word in words for piece in _pieces_that_fit(word, lambda p: font.getlength(p) <= box_w)]

    def width(parts: Sequence[str]) -> float:
        return float(font.getlength(writing_systems.join(parts)))

    lines = _greedy_lines(words, lambda parts: width(parts) <= box_w)
    if len(lines) > 1:
        # The same number of lines, each as short as lets them all fit: no long line above a lone last word.
        low, high = 0.0, max(width(line) for line in lines)
        for _ in range(8):
            limit = (low + high) / 2
            trial = _greedy_lines(words, _within(width, limit))
            if len(trial) <= len(lines):
                lines, high = trial, limit
            else:
                low = limit
    return [writing_systems.join(line) for line in lines]


def _within(width: Callable[[Sequence[str]], float], limit: float) -> Callable[[Sequence[str]], bool]:
    return lambda parts: width(parts) <= limit


def _greedy_lines(words: Sequence[str], fits: Callable[[Sequence[str]], bool]) -> list[list[str]]:
    lines: list[list[str]] = []
    for word in words:
        if lines and fits([*lines[-1], word]):
            lines[-1].append(word)
        else:
            lines.append([word])
    return lines


@dataclass(frozen=True)
class _Placed:
    lines: tuple[str, ...]
    size: int
    line_h: int
    centre_x: int
    first_centre_y: int
    drawn: Box


def _place_title(lines: Sequence[str], font: Font, size: int, inner: Box) -> _Placed | None:
    """The lines centred in `inner`, or None when they do not fit it."""
    line_h = int(size * TITLE_LINE_SPACING)
    pad = _title_pad(size)
    ascent, descent = font.getmetrics() if isinstance(font, ImageFont.FreeTypeFont) else (size, 0)
    ink_h = (len(lines) - 1) * line_h + ascent + descent
    widest = max((font.getlength(line) for line in lines), default=0.0)
    block_w, block_h = math.ceil(widest) + 2 * pad, ink_h + 2 * pad
    if block_w > inner.width or block_h > inner.height:
        return None
    centre_x = (inner.left + inner.right) // 2
    top = inner.top + (inner.height - block_h) // 2
    # Anchor "mm" centres a line on `centre_x`, its middle halfway between its ascender and descender lines.
    first_centre_y = top + pad + (ascent + descent) // 2
    half = math.ceil(widest / 2) + pad
    drawn = Box(centre_x - half, top, centre_x + half, top + block_h)
    if not inner.contains(drawn):
        return None
    return _Placed(tuple(lines), size, line_h, centre_x, first_centre_y, drawn)


def _cut_title(
    lines: list[str], font: Font, face: FontFace, size: int, inner: Box, width: int, height: int
) -> TitleText | None:
    """As many lines as fit at the smallest size, the last ending in an ellipsis when text was left out."""
    for n in range(len(lines), 0, -1):
        head, last = lines[: n - 1], lines[n - 1]
        if n == len(lines) and (placed := _place_title(lines, font, size, inner)) is not None:
            return _title_text(placed, face, width, height)
        for end in range(len(last), -1, -1):
            placed = _place_title([*head, last[:end].rstrip() + _ELLIPSIS], font, size, inner)
            if placed is not None:
                return _title_text(placed, face, width, height)
    return None


def _title_text(placed: _Placed, face: FontFace, width: int, height: int) -> TitleText:
    offset, blur = max(placed.line_h // 18, 2), max(placed.line_h // 14, 2)
    return TitleText(
        lines=placed.lines,
        font=face,
        font_size=placed.size,
        line_height=placed.line_h,
        centre_x=placed.centre_x,
        first_centre_y=placed.first_centre_y,
        shadow_offset=offset,
        shadow_blur=blur,
        drawn=placed.drawn,
        box=_zoomed(placed.drawn, width, height),
    )
