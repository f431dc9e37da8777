"""How a channel's burned-in captions look: one validated model, set by YTEMPIRE_CAPTION_STYLE and per channel."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

CaptionPosition = Literal["bottom", "middle", "top"]
_HEX_COLOUR = r"^#[0-9A-Fa-f]{6}$"


class CaptionStyle(BaseModel):
    """The caption look. Pixel sizes are for a frame whose shorter side is 1080 px and scale with the frame."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    font: str = Field("DejaVu Sans", pattern=r"^[^,]+$", description="font family, as fontconfig (fc-list) names it")
    bold: bool = Field(True, description="the family's bold face")
    size: int = Field(67, ge=24, le=160, description="font size in px on a 1080 px shorter side")
    text_colour: str = Field("#FFFFFF", pattern=_HEX_COLOUR, description="#RRGGBB of the text")
    outline_colour: str = Field("#000000", pattern=_HEX_COLOUR, description="#RRGGBB of the outline")
    highlight_colour: str = Field("#FFD700", pattern=_HEX_COLOUR, description="#RRGGBB of the word being spoken")
    outline: int = Field(5, ge=0, le=20, description="outline width in px on a 1080 px shorter side")
    position: CaptionPosition = Field(
        "bottom",
        description="where captions sit within the safe area: bottom, top, or middle (as near the centre as the "
        "title card allows)",
    )
    words_per_line: int = Field(4, ge=1, le=12, description="most words on one caption line")
    lines: int = Field(1, ge=1, le=3, description="caption lines shown at once")
    highlight: bool | None = Field(
        None,
        description="the word being spoken in highlight_colour; unset: on for complex and premium videos, off for "
        "simple ones",
    )

    def highlights(self, complexity: str) -> bool:
        """Whether this video's captions colour the word being spoken."""
        return self.highlight if self.highlight is not None else complexity != "simple"


def merged_style(base: CaptionStyle, changes: dict[str, Any], where: str) -> CaptionStyle:
    """`base` with `changes` applied; an invalid change raises ValueError naming `where` and the field."""
    try:
        return CaptionStyle.model_validate({**base.model_dump(), **changes})
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in err.errors())
        raise ValueError(f"{where}: {problems}") from None
