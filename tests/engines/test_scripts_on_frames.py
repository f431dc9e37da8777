"""Captions and titles in Chinese, Japanese, Korean, Arabic, Hebrew and Hindi, checked on rendered frames.

Each caption line is rendered by libass through ffmpeg (as the render stage does) and each title by the title card,
then looked for in the frame: every word (or, in scripts written without spaces, the whole line) drawn alone by
Pillow with HarfBuzz shaping in the same face must be found there almost pixel for pixel. A missing-glyph box, a
wrong font, unshaped Arabic or Devanagari, or letters in the wrong order do not match; right-to-left words must be
found from right to left.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from core import writing_systems as ws
from core.caption_style import CaptionStyle
from engines.captions import caption_chunks, render_ass, write_ass
from engines.media.backgrounds import generate_backgrounds
from engines.render.fonts import FontFace, has_glyph
from engines.render.graph import burn_captions
from engines.render.layout import fit_caption, frame_layout
from engines.speech.timeline import SegmentTiming, SpeechTimeline, WordTiming

SAMPLES = {
    "zh": ("章鱼的三颗心脏", "章鱼有三颗心脏，两颗负责把血液送到鳃里，第三颗把血液送往全身。"),
    "ja": ("タコの三つの心臓", "タコには心臓が三つあり、二つはえらに血液を送ります。"),
    "ko": ("문어의 세 심장", "문어는 심장이 세 개 있고, 두 개는 아가미로 피를 보냅니다."),
    "ar": ("قلوب الأخطبوط الثلاثة", "للأخطبوط ثلاثة قلوب، اثنان منها يضخان الدم إلى الخياشيم."),
    "he": ("שלושת הלבבות של התמנון", "לתמנון יש שלושה לבבות, שניים מהם שולחים דם לזימים."),
    "hi": ("ऑक्टोपस के तीन दिल", "ऑक्टोपस के तीन दिल होते हैं, जिनमें से दो गलफड़ों तक खून भेजते हैं।"),
}
FAMILIES = {
    "zh": "Noto Sans CJK SC",
    "ja": "Noto Sans CJK JP",
    "ko": "Noto Sans CJK KR",
    "ar": "Noto Sans Arabic",
    "he": "Noto Sans Hebrew",
    "hi": "Noto Sans Devanagari",
}
MATCH = 0.8  # Dice overlap where found: 0.86-0.99 measured; boxes for missing glyphs 0.47, unshaped Devanagari 0.68
WORD_STEP = 0.4  # seconds per word in the test timelines


def timeline(text: str) -> SpeechTimeline:
    words = ws.words(text)
    timed = [WordTiming(w, i * WORD_STEP, (i + 1) * WORD_STEP, 0) for i, w in enumerate(words)]
    return SpeechTimeline(timed, [SegmentTiming(0, text, 0.0, len(words) * WORD_STEP)], len(words) * WORD_STEP)


@dataclass(frozen=True)
class Found:
    score: float
    x: int  # left edge of the match in the searched region


def ink(face: FontFace, pixel_size: int, text: str) -> np.ndarray:
    """`text` drawn alone by Pillow (HarfBuzz shaping, the text's own direction) in `face`, cropped to its ink."""
    font = ImageFont.truetype(face.file or "", pixel_size, index=face.index)
    left, top, right, bottom = font.getbbox(text, direction=ws.direction(text))
    img = Image.new("L", (right - left + 8, bottom - top + 8))
    ImageDraw.Draw(img).text((4 - left, 4 - top), text, font=font, fill=255, direction=ws.direction(text))
    mask = np.asarray(img) > 128
    ys, xs = np.nonzero(mask)
    return mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def find(region: np.ndarray, template: np.ndarray) -> Found:
    """Where `template` overlaps `region` best (both boolean masks), by Dice coefficient."""
    big_h, big_w = region.shape
    h, w = template.shape
    if h > big_h or w > big_w:
        return Found(0.0, -1)
    shape = (big_h + h, big_w + w)
    full = np.fft.irfft2(
        np.fft.rfft2(region.astype(float), shape) * np.fft.rfft2(template[::-1, ::-1].astype(float), shape), shape
    )
    overlap = full[h - 1 : big_h, w - 1 : big_w]
    integral = np.pad(region.astype(float).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    window = integral[h:, w:] - integral[:-h, w:] - integral[h:, :-w] + integral[:-h, :-w]
    dice = 2 * overlap / (window + template.sum() + 1e-9)
    y, x = np.unravel_index(int(np.argmax(dice)), dice.shape)
    return Found(float(dice[y, x]), int(x))


def pixel_size(face: FontFace, line_height: int) -> int:
    """The Pillow size whose ascender plus descender is `line_height` px (how libass sizes an ASS Fontsize)."""
    ascent, descent = ImageFont.truetype(face.file or "", 1000, index=face.index).getmetrics()
    return round(line_height * 1000 / (ascent + descent))


def drawable(face: FontFace, word: str) -> str:
    """The word less what the face has no glyph for (punctuation libass takes from a fallback font)."""
    return "".join(c for c in word if has_glyph(face, c)).strip()


def check_line(region: np.ndarray, face: FontFace, size: int, words: list[str]) -> None:
    """Every word of a line is in `region`, in reading order (a whole line at once where there are no spaces)."""
    if any(ws.is_unspaced(c) for c in "".join(words)):
        text = drawable(face, ws.join(words))
        found = find(region, ink(face, size, text))
        assert found.score >= MATCH, (text, found)
        return
    spots = []
    for word in words:
        text = drawable(face, word)
        found = find(region, ink(face, size, text))
        assert found.score >= MATCH, (text, found)
        if len(text) >= 3:  # a two-letter word can also match inside a longer one
            spots.append(found.x)
    rtl = ws.direction(ws.join(words)) == "rtl"
    assert spots == sorted(spots, reverse=rtl), (words, spots)


def rendered_frame(ass: Path, at: float, out: Path, size: tuple[int, int]) -> np.ndarray:
    """The frame at `at` seconds of a plain background with the captions burned in as the render burns them."""
    width, height = size
    background = ffmpeg.input(f"color=c=0x2a4a6a:s={width}x{height}:d=30", f="lavfi")
    argv = ffmpeg.output(burn_captions(background, str(ass)), str(out), ss=f"{at:.2f}", vframes=1)
    subprocess.run(argv.global_args("-v", "error", "-y").compile(), check=True, timeout=60)
    with Image.open(out) as img:
        return np.asarray(img.convert("L"))


@pytest.mark.parametrize("language", list(SAMPLES))
@pytest.mark.parametrize("size", [(1080, 1920), (1920, 1080)], ids=["portrait", "landscape"])
def test_captions_render_in_the_scripts_font_and_reading_order(
    language: str, size: tuple[int, int], tmp_path: Path
) -> None:
    _, narration = SAMPLES[language]
    speech = timeline(narration)
    style = CaptionStyle(lines=2)
    layout = frame_layout(*size, None, style, language)
    area = layout.captions
    assert area.font.family == FAMILIES[language]
    ass = write_ass(speech, tmp_path / "captions.ass", layout, highlight=False)
    chunks = caption_chunks(speech, words_per_line=style.words_per_line, lines=style.lines, fits=area.fits)
    for n, chunk in enumerate(chunks[:3]):
        fit = fit_caption(area, [[w.text for w in line] for line in chunk.lines])
        frame = rendered_frame(ass, (chunk.start + chunk.end) / 2, tmp_path / f"{n}.png", size)
        white = frame > 200  # the text's fill; its outline is black
        line_px = fit.font_size
        pixels = pixel_size(area.font, line_px)
        for k, line in enumerate(fit.lines):
            top = fit.box.top + area.outline + k * line_px
            region = white[max(top - line_px // 2, 0) : top + line_px + line_px // 2, :]
            check_line(region, area.font, pixels, [piece for _, piece in line])
        outside = white.copy()
        outside[fit.box.top : fit.box.bottom, fit.box.left : fit.box.right] = False
        assert not outside.any(), "caption pixels outside the box the layout gave them"


@pytest.mark.parametrize("language", list(SAMPLES))
def test_titles_render_in_the_scripts_font_and_reading_order(language: str, tmp_path: Path) -> None:
    title, _ = SAMPLES[language]
    layout = frame_layout(1080, 1920, title, CaptionStyle(), language)
    assert layout.title is not None and layout.title.font.family == FAMILIES[language]
    (card,) = generate_backgrounds(tmp_path, count=1, width=1080, height=1920, seed="s", title=title, language=language)
    with Image.open(card) as img:
        white = np.asarray(img.convert("L")) > 200
    placed = layout.title
    for k, line in enumerate(placed.lines):
        middle = placed.first_centre_y + k * placed.line_height
        region = white[middle - placed.line_height : middle + placed.line_height, :]
        check_line(region, placed.font, placed.font_size, ws.words(line))


def test_the_check_fails_on_a_missing_glyph_box_and_on_a_reversed_line(tmp_path: Path) -> None:
    """The matcher is not lenient: a box drawn for a missing glyph, or the words of a line in the wrong order,
    are not taken for the text."""
    _, narration = SAMPLES["he"]
    layout = frame_layout(1080, 1920, None, CaptionStyle(), "he")
    area = layout.captions
    speech = timeline(narration)
    chunk = caption_chunks(speech, fits=area.fits)[0]
    fit = fit_caption(area, [[w.text for w in line] for line in chunk.lines])
    ass = write_ass(speech, tmp_path / "c.ass", layout, highlight=False)
    frame = rendered_frame(ass, chunk.end - 0.1, tmp_path / "f.png", (1080, 1920))
    top = fit.box.top + area.outline
    region = (frame > 200)[top - fit.font_size // 2 : top + fit.font_size * 3 // 2, :]
    words = [piece for _, piece in fit.lines[0]]
    pixels = pixel_size(area.font, fit.font_size)
    check_line(region, area.font, pixels, words)
    with pytest.raises(AssertionError):
        check_line(region, area.font, pixels, list(reversed(words)))
    latin_only = FontFace("DejaVu Sans", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
    boxes = ink(latin_only, pixels, "\u4e2d\u6587")  # DejaVu has no Chinese: Pillow draws its missing-glyph boxes
    assert find(region, boxes).score < MATCH


def test_chinese_captions_break_between_characters_and_never_start_with_closing_punctuation() -> None:
    _, narration = SAMPLES["zh"]
    layout = frame_layout(1080, 1920, None, CaptionStyle(lines=2), "zh")
    chunks = caption_chunks(timeline(narration), words_per_line=4, lines=2, fits=layout.captions.fits)
    lines = [ws.join([w.text for w in line]) for chunk in chunks for line in chunk.lines]
    assert "".join(lines) == narration
    assert all(1 < len(line) <= 4 * ws.CHARACTERS_PER_WORD + 1 for line in lines), lines
    assert not any(line[0] in "，。、！？" for line in lines)
    assert not any(" " in line for line in lines)
    ass = render_ass(timeline(narration), layout, highlight=True)
    assert "Style: Caption,Noto Sans CJK SC," in ass
    assert ass.split("Style: Caption,")[1].splitlines()[0].endswith(",-1")  # libass finds each line's direction


def test_a_long_chinese_title_wraps_between_characters_instead_of_shrinking() -> None:
    title = "为什么章鱼有三颗心脏而且血液是蓝色的"
    layout = frame_layout(1080, 1920, title, CaptionStyle(), "zh")
    assert layout.title is not None
    assert len(layout.title.lines) >= 2 and "".join(layout.title.lines) == title
    latin = frame_layout(1080, 1920, "Why octopuses have three hearts and blue blood", CaptionStyle())
    assert latin.title is not None and layout.title.font_size >= latin.title.font_size * 0.8
