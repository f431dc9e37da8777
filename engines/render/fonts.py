"""Which installed font draws a text: the one asked for when it has every letter, else the Noto family of the
text's script (installed by `make`: fonts-noto-core, fonts-noto-cjk).

libass (the captions) and Pillow (the title card, and every width the layout measures) must draw with the same
face, so both take what `face_for` decides: libass by family name, Pillow by file and collection index.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont, TTLibError

from core.writing_systems import script_of, scripts_in

log = logging.getLogger(__name__)

DEFAULT_FAMILY = "DejaVu Sans"
DEFAULT_FILE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
NOTO_FAMILIES = {
    "Hans": "Noto Sans CJK SC",
    "Hant": "Noto Sans CJK TC",
    "Jpan": "Noto Sans CJK JP",
    "Kore": "Noto Sans CJK KR",
    "Arab": "Noto Sans Arabic",
    "Hebr": "Noto Sans Hebrew",
    "Deva": "Noto Sans Devanagari",
}
# Letters every caption of a script is made of, to choose a font for captions before their text is known.
SCRIPT_SAMPLES = {
    "Hans": "的一是不了人我在有他这为之大来以个中上们",
    "Hant": "的一是不了人我在有他這為之大來以個中上們",
    "Jpan": "のにはをたがでてとしれさあいうえおかきくけこアイウエオ日本",
    "Kore": "이그저것수나사람하다있는가한국",
    "Arab": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "Hebr": "אבגדהוזחטיכלמנסעפצקרשת",
    "Deva": "अआइईउऊएऐओऔकखगघचछजझटठडढणतथदधनपफबभमयरलवशषसह",
}


@dataclass(frozen=True)
class FontFace:
    """An installed face: its family (what an ASS style names), file and index in a collection (.ttc)."""

    family: str
    file: str | None  # None: no font file found at all (Pillow then draws with its own)
    index: int = 0


def face_for(text: str, language: str, family: str = DEFAULT_FAMILY, bold: bool = True) -> FontFace:
    """The face that draws `text` (in a video of `language`): the Noto family of the language's script or of the
    scripts in `text` when `family` is the default, else `family` when it has all of `text`'s letters; failing
    that, whichever has them all (the one with most of them when none has)."""
    asked = match(family, bold)
    letters = {c for c in text if not c.isspace()}
    scripts = dict.fromkeys([script_of(language), *scripts_in(text)])
    noto = [match(NOTO_FAMILIES[s], bold) for s in scripts if s in NOTO_FAMILIES]
    # The default family has Arabic and Hebrew letters too, but Noto draws them as their readers expect; a family
    # a channel chose is kept whenever it has the letters.
    candidates = [*noto, asked] if family == DEFAULT_FAMILY else [asked, *noto]
    for face in candidates:
        if covers(face, letters) == len(letters):
            return face
    best = max(candidates, key=lambda face: covers(face, letters))
    if covers(best, letters) < len(letters):
        missing = "".join(sorted(c for c in letters if not has_glyph(best, c)))[:20]
        log.warning("no installed font has every letter of %r (missing %r); install fonts-noto", text[:40], missing)
    return best


def caption_face(language: str, family: str, bold: bool) -> FontFace:
    """The face captions in `language` are drawn with: `family`, or the Noto family of the language's script when
    `family` lacks its letters."""
    return face_for(SCRIPT_SAMPLES.get(script_of(language), ""), language, family, bold)


def covers(face: FontFace, letters: set[str] | str) -> int:
    """How many of `letters` the face has a glyph for."""
    return sum(has_glyph(face, c) for c in set(letters))


def has_glyph(face: FontFace, char: str) -> bool:
    return ord(char) in _code_points(face.file, face.index)


@lru_cache(maxsize=32)
def _code_points(file: str | None, index: int) -> frozenset[int]:
    if file is None:
        return frozenset()
    try:
        with TTFont(file, fontNumber=index, lazy=True) as font:
            return frozenset(font.getBestCmap() or {})
    except (OSError, TTLibError) as err:
        log.warning("cannot read the character map of %s: %s", file, err)
        return frozenset()


@lru_cache(maxsize=64)
def match(family: str, bold: bool) -> FontFace:
    """fontconfig's best match for `family` (its fallback when the family is missing), as libass finds it."""
    fc_match = shutil.which("fc-match")
    if fc_match is not None:
        pattern = f"{family}:weight={'bold' if bold else 'regular'}"
        try:
            found = subprocess.run(
                [fc_match, "--format=%{file}\n%{index}\n%{family[0]}", pattern],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.split("\n")
        except (OSError, subprocess.SubprocessError):
            found = []
        if len(found) == 3 and Path(found[0]).is_file():
            return FontFace(found[2] or family, found[0], int(found[1] or 0))
    return FontFace(family, str(DEFAULT_FILE) if DEFAULT_FILE.is_file() else None)
