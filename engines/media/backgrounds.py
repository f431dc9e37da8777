"""Generated still backgrounds: a title card, then gradients, soft blobs and patterns, all seeded."""

from __future__ import annotations

import colorsys
import logging
import os
import random
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageOps

from core import writing_systems
from core.caption_style import CaptionStyle
from core.languages import DEFAULT_LANGUAGE
from engines.render.layout import TitleText, frame_layout, title_font

log = logging.getLogger(__name__)

RGB = tuple[int, int, int]
DEFAULT_CAPTION_STYLE = CaptionStyle()

# Every pixel is a blend of palette colours, and luma is linear in RGB, so a floor on each palette colour's
# luma is a floor on the whole image: far above blackdetect's pix_th=0.10.
MIN_LUMA = 0.35
# The title card sits darker (but still above the floor) so white text stays readable.
TITLE_LUMA = (0.35, 0.5)
# Smooth layers are built this many times smaller and upscaled: same look, a fraction of the work.
_SMOOTH_SCALE = 4


def _luma(c: RGB) -> float:
    return (0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]) / 255


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return round(r * 255), round(g * 255), round(b * 255)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _with_luma(c: RGB, low: float, high: float = 1.0) -> RGB:
    """Lighten towards white or darken towards black until the luma is within [low, high]."""
    for _ in range(40):
        y = _luma(c)
        if y < low:
            c = _mix(c, (255, 255, 255), 0.08)
        elif y > high:
            c = _mix(c, (0, 0, 0), 0.08)
        else:
            break
    return c


def _palette(rng: random.Random, base_hue: float, luma: tuple[float, float] = (MIN_LUMA, 0.85)) -> list[RGB]:
    """Three saturated analogous colours around ``base_hue`` then a complementary accent.

    Gradients take only the analogous ones (a complementary pair turns grey halfway); shapes use all four.
    """
    hues = [base_hue - 0.1, base_hue, base_hue + 0.1, base_hue + 0.5]
    colours = [_hsv(h + rng.uniform(-0.04, 0.04), rng.uniform(0.6, 0.9), rng.uniform(0.75, 0.97)) for h in hues]
    return [_with_luma(c, *luma) for c in colours]


def _gradient(size: tuple[int, int], colours: list[RGB], horizontal_mix: float) -> Image.Image:
    """A linear gradient through two or three colours along a direction between vertical and horizontal."""
    vertical = Image.linear_gradient("L")
    ramp = Image.blend(vertical, vertical.transpose(Image.Transpose.ROTATE_90), horizontal_mix)
    ramp = ImageOps.autocontrast(ramp)
    mid = colours[2] if len(colours) > 2 else None
    rgb = ImageOps.colorize(ramp, black=colours[0], white=colours[1], mid=mid)
    return rgb.resize(size, Image.Resampling.BILINEAR)


def _linear(rng: random.Random, pal: list[RGB], size: tuple[int, int]) -> Image.Image:
    return _gradient(size, rng.sample(pal[:3], 3), rng.choice([0.0, 0.0, 1.0]))


def _diagonal(rng: random.Random, pal: list[RGB], size: tuple[int, int]) -> Image.Image:
    img = _gradient(size, rng.sample(pal[:3], 3), rng.uniform(0.3, 0.7))
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else img


def _blobs(rng: random.Random, pal: list[RGB], size: tuple[int, int]) -> Image.Image:
    w, h = size[0] // _SMOOTH_SCALE, size[1] // _SMOOTH_SCALE
    canvas = _gradient((w, h), rng.sample(pal[:3], 2), rng.random())
    # radial_gradient is 0 at the centre, 181 at the middle of each edge and 255 in the corners: mapped to
    # an opaque core that fades to 0 before the edge, a soft disc with no square outline.
    disc = Image.radial_gradient("L").point(lambda r: int(255 * min(1.0, 1.8 * max(0.0, 1 - r / 178)) ** 2))
    for _ in range(rng.randint(4, 7)):
        d = int(min(w, h) * rng.uniform(0.7, 1.4))
        mask = disc.resize((d, d), Image.Resampling.BILINEAR).point(lambda v, a=rng.uniform(0.75, 1.0): int(v * a))
        blob = Image.new("RGB", (d, d), rng.choice(pal))
        canvas.paste(blob, (rng.randint(-d // 3, w - 2 * d // 3), rng.randint(-d // 3, h - 2 * d // 3)), mask)
    return canvas.filter(ImageFilter.GaussianBlur(3)).resize(size, Image.Resampling.BICUBIC)


def _stripes(rng: random.Random, pal: list[RGB], size: tuple[int, int]) -> Image.Image:
    w, h = size
    img = _gradient(size, rng.sample(pal[:3], 2), rng.choice([0.0, 1.0]))
    draw = ImageDraw.Draw(img, "RGBA")
    band = int(w * rng.uniform(0.06, 0.14))
    slant = int(w * rng.uniform(0.3, 0.9)) * rng.choice([-1, 1])
    colours = rng.sample(pal, 2)
    for i, x in enumerate(range(-abs(slant) - band, w + abs(slant) + band, band * 2)):
        r, g, b = colours[i % 2]
        draw.polygon([(x, 0), (x + band, 0), (x + band + slant, h), (x + slant, h)], fill=(r, g, b, 70))
    return img


def _geometric(rng: random.Random, pal: list[RGB], size: tuple[int, int]) -> Image.Image:
    w, h = size
    img = _gradient(size, rng.sample(pal[:3], 2), rng.random())
    draw = ImageDraw.Draw(img, "RGBA")
    for _ in range(rng.randint(10, 18)):
        r, g, b = rng.choice(pal)
        fill = (r, g, b, rng.randint(60, 130))
        cx, cy, s = rng.uniform(0, w), rng.uniform(0, h), w * rng.uniform(0.08, 0.3)
        if rng.random() < 0.5:
            draw.ellipse([cx - s, cy - s, cx + s, cy + s], fill=fill)
        else:
            draw.regular_polygon((cx, cy, s), rng.choice([3, 4, 6]), rotation=rng.uniform(0, 360), fill=fill)
    return img


_KINDS: dict[str, Callable[[random.Random, list[RGB], tuple[int, int]], Image.Image]] = {
    "linear": _linear,
    "blobs": _blobs,
    "stripes": _stripes,
    "diagonal": _diagonal,
    "geometric": _geometric,
}


def _title_card(rng: random.Random, base_hue: float, size: tuple[int, int], title: TitleText | None) -> Image.Image:
    """A dark diagonal gradient with the title, white with a soft drop shadow, where the frame layout put it."""
    img = _diagonal(rng, _palette(rng, base_hue, luma=TITLE_LUMA), size)
    if title is None:
        return img
    w = size[0]
    font = title_font(title.font, title.font_size)
    band = title.drawn
    text_mask = Image.new("L", (w, band.height))
    draw = ImageDraw.Draw(text_mask)
    for i, line in enumerate(title.lines):
        y = title.first_centre_y - band.top + i * title.line_height
        if writing_systems.direction(line) == "rtl":  # Pillow lays a line out left to right unless told
            draw.text((title.centre_x, y), line, font=font, fill=255, anchor="mm", direction="rtl")
        else:
            draw.text((title.centre_x, y), line, font=font, fill=255, anchor="mm")
    offset = title.shadow_offset
    shadow = text_mask.filter(ImageFilter.GaussianBlur(title.shadow_blur)).point(lambda v: v * 3 // 4)
    img.paste((0, 0, 0), (offset, band.top + offset), shadow)
    img.paste((255, 255, 255), (0, band.top), text_mask)
    return img


def _save_png(img: Image.Image, path: Path) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Level 1: these smooth images barely shrink at higher levels, and encoding is most of the time spent.
    img.save(tmp, format="PNG", compress_level=1)
    os.replace(tmp, path)
    return path


def generate_backgrounds(
    out_dir: Path,
    *,
    count: int,
    width: int,
    height: int,
    seed: str,
    title: str | None,
    caption_style: CaptionStyle = DEFAULT_CAPTION_STYLE,
    language: str = DEFAULT_LANGUAGE,
) -> list[Path]:
    """Write ``count`` PNG backgrounds to ``out_dir``: a title card first, then varied kinds. The title goes where
    the frame layout for ``caption_style`` puts it, clear of the captions.

    Output depends only on the arguments (same seed, same bytes); image ``i`` does not depend on ``count``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    set_rng = random.Random(f"{seed}/set")
    base_hue = set_rng.random()
    kinds = list(_KINDS)
    set_rng.shuffle(kinds)
    size = (width, height)
    paths: list[Path] = []
    for i in range(count):
        rng = random.Random(f"{seed}/{i}")
        if i == 0:
            layout = frame_layout(width, height, title, caption_style, language)
            img, kind = _title_card(rng, base_hue, size, layout.title), "title"
        else:
            kind = kinds[(i - 1) % len(kinds)]
            hue = base_hue + rng.uniform(-0.12, 0.12)
            img = _KINDS[kind](rng, _palette(rng, hue), size)
        paths.append(_save_png(img, out_dir / f"{i:02d}_{kind}.png"))
    log.debug("generated %d backgrounds in %s", count, out_dir)
    return paths
