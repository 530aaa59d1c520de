"""How stored values read to a person, in their language.

Rows keep stable values (the provider's model ids, the engine's English "made by" label, style
codes); pages show them through here, so a Chinese page never shows `watercolor` or
"Offline engine (procedural)". Values we do not know are shown as they are: they are names.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import forms, media

# The parameters whose values are choices of the job forms: the value as the form names it.
_CHOICES: dict[str, dict[str, Any]] = {
    "version": dict(forms.VERSION_CHOICES),
    "style": dict(forms.ANIME_STYLE_CHOICES),
    "sr_model": dict(forms.SR_MODEL_NAMES),
}

# The offline engine's labels (engine/protocol.py writes them into the callback) and the
# provider's name, as they read in the page's language.
_MADE_BY = {
    "Offline engine": gettext_lazy("Offline engine"),
    "Offline engine (procedural)": gettext_lazy("Offline engine (procedural stand-in, not AI)"),
    "Offline engine (image-to-image, palette transfer)": gettext_lazy(
        "Offline engine (image to image: palette transfer)"
    ),
    "APISpace AI 绘画": gettext_lazy("APISpace “AI 绘画”"),
}
_ANIME_LABEL = re.compile(r"^Offline engine \(anime stylisation: (?P<style>[\w-]+)\)$")


def parameter_value(name: str, value: Any) -> Any:
    """A job parameter's value as the form called it (`watercolor` → "Soft watercolour")."""
    label = _CHOICES.get(name, {}).get(value)
    return str(label) if label is not None else value


def made_by(label: str) -> str:
    """Who made the pixels, in the page's language."""
    if label in _MADE_BY:
        return str(_MADE_BY[label])
    match = _ANIME_LABEL.match(label or "")
    if match:
        return _("Offline engine (anime stylisation: %(style)s)") % {"style": parameter_value("style", match["style"])}
    return label


# --- the picture card of the gallery grids (templates/gallery/_image_card.html) ---
#
# cProfile and pyinstrument of one GET /gallery/ (bench/gallery_page.py's set-up, SQLite, 48 cards,
# URLs reused) showed the card loop as most of the request: 44 of 77 ms under cProfile, in 1,653
# template variable lookups, 346 {% translate %} tags, 96 get_kind_display calls (each rebuilding
# the field's choices: `prompt|default:image.get_kind_display` resolves its argument even when
# there is a prompt), 96 truncatechars walks and 96 {% include %}s. What does not change from one
# card to the next (the texts, the AI mark, the image page's URL around the id) is now made once
# per page, and each card's own values once per card.

_CARD_TEXT = {
    "select_text": gettext_lazy("Select"),
    "offline_title": gettext_lazy("Offline engine — procedural picture, not AI"),
    "offline_text": gettext_lazy("offline"),
    "public_title": gettext_lazy("Public"),
    "public_text": gettext_lazy("public"),
    "favourite_title": gettext_lazy("Favourite"),
}
_NO_ID = uuid.UUID(int=0)


@dataclass(frozen=True)
class CardKit:
    """What every card of one page shares, in the page's language."""

    text: dict[str, str]
    url_head: str
    url_tail: str

    @classmethod
    def for_page(cls) -> CardKit:
        url_head, _, url_tail = reverse("image_detail", args=[_NO_ID]).partition(str(_NO_ID))
        text = {name: str(value) for name, value in _CARD_TEXT.items()}
        text["aigc_mark"] = render_to_string("gallery/_aigc_mark.html")
        return cls(text=text, url_head=url_head, url_tail=url_tail)


def shortened(text: str, length: int) -> str:
    """The truncatechars filter's result (Truncator.chars), without its walk over every character
    when the text fits: after NFC, a text of at most `length` code points is never cut."""
    normalized = unicodedata.normalize("NFC", text)
    return normalized if len(normalized) <= length else Truncator(normalized).chars(length)


def image_card(
    image: Any, kit: CardKit, *, selectable: bool = False, show_state: bool = False, show_owner: bool = False
) -> dict[str, Any]:
    """The context of one picture card: its link, thumbnail URL, texts and badges."""
    image_id = str(image.id)
    label = image.prompt or image.get_kind_display()
    return {
        **kit.text,
        "id": image_id,
        "url": f"{kit.url_head}{image_id}{kit.url_tail}",
        "thumb_url": media.url(image.thumb_key or image.original_key),
        "width": image.width,
        "height": image.height,
        "alt": shortened(label, 80),
        "caption": shortened(label, 48),
        "is_procedural": image.is_procedural,
        "is_public": image.is_public,
        "is_favourite": image.is_favourite,
        "derived_count": getattr(image, "derived_count", 0),
        "owner": image.owner.get_username() if show_owner else "",
        "selectable": selectable,
        "show_state": show_state,
    }
