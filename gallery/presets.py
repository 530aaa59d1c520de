"""Presets of the creation form: aspect ratios as ready sizes, styles and keywords as words for
the prompt.

Sizes stay within the API's limits (sides of 256..768 in steps of 64, the form's choices), the
long side at 768. Style words are added to the prompt where the user sees them (the browser
appends them to the text box; without JavaScript the chips are not shown).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .forms import SIZE_CHOICES


@dataclass(frozen=True)
class Aspect:
    label: str
    width: int
    height: int


ASPECTS = [
    Aspect("1:1", 512, 512),
    Aspect("3:4", 576, 768),
    Aspect("4:3", 768, 576),
    Aspect("9:16", 448, 768),
    Aspect("16:9", 768, 448),
    Aspect("2:3", 512, 768),
    Aspect("3:2", 768, 512),
]
_SIDES = {value for value, _label in SIZE_CHOICES}
assert all(a.width in _SIDES and a.height in _SIDES for a in ASPECTS), "aspect sizes must be form choices"


@dataclass(frozen=True)
class Style:
    name: object  # lazily translated
    words: object  # what is added to the prompt, in the page's language


STYLES = [
    Style(_("Photo"), _("photorealistic photo, natural light, sharp focus")),
    Style(_("Anime"), _("anime style, clean line art, vivid colours")),
    Style(_("Watercolour"), _("watercolour painting, soft washes, paper texture")),
    Style(_("Oil painting"), _("oil painting, visible brush strokes, rich colours")),
    Style(_("3D render"), _("3D render, soft global illumination, detailed materials")),
    Style(_("Pixel art"), _("pixel art, 16-bit, crisp pixels")),
]


@dataclass(frozen=True)
class KeywordGroup:
    name: object  # lazily translated
    words: list  # lazily translated words, each added to the prompt on its own


# Words the curated prompts of the API document use (the inspiration gallery shows them), in
# their Chinese and English wording, grouped as people reach for them.
KEYWORDS = [
    KeywordGroup(
        _("Quality"),
        [_("highly detailed"), _("ultra detailed"), _("sharp focus"), _("8k HD"), _("award-winning masterpiece")],
    ),
    KeywordGroup(
        _("Lighting"),
        [
            _("cinematic lighting"),
            _("volumetric lighting"),
            _("rim light"),
            _("soft indoor light"),
            _("lighting effects"),
        ],
    ),
    KeywordGroup(
        _("Composition"),
        [_("low angle"), _("symmetrical"), _("portrait"), _("50mm prime lens"), _("wallpaper")],
    ),
]


def separator() -> str:
    """How words are joined in a prompt of the page's language: "，" in Chinese, ", " otherwise."""
    return "，" if (get_language() or "").startswith("zh") else ", "
