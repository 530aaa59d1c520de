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
from html import escape
from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

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


# --- the picture card of the gallery grids ---
#
# cProfile and pyinstrument of one GET /gallery/ (bench/gallery_page.py's set-up, SQLite, 48 cards,
# URLs reused) showed the card loop as most of the request: 44 of 77 ms under cProfile, in 1,653
# template variable lookups, 346 {% translate %} tags, 96 get_kind_display calls, 96 truncatechars
# walks and 96 {% include %}s. Made once per page since (CardKit), the 48 cards still cost 511 of
# the request's 1,657 ms under cProfile (bench/search.py's set-up, 20 requests): 25,000 template
# nodes rendered. So a card is written here, in Python, where every other page of the site is a
# template: we chose otherwise than "templates per page" (the developers' guide) for this one
# fragment, repeated 48 times a page on the pages people open most. Every value a person or the
# database supplies goes through escape(): the standard library's, which django.utils.html.escape
# wraps (the same output, without its lazy-string wrapper on every call); the texts are
# translated and escaped once per page.

_CARD_TEXT = {
    "select": gettext_lazy("Select"),
    "offline_title": gettext_lazy("Offline engine — procedural picture, not AI"),
    "offline": gettext_lazy("offline"),
    "public_title": gettext_lazy("Public"),
    "public": gettext_lazy("public"),
    "favourite_title": gettext_lazy("Favourite"),
}
_NO_ID = uuid.UUID(int=0)


@dataclass(frozen=True)
class CardKit:
    """What every card of one page shares, in the page's language, escaped for HTML."""

    text: dict[str, str]
    aigc_mark: str
    url_head: str
    url_tail: str

    @classmethod
    def for_page(cls) -> CardKit:
        url_head, _, url_tail = reverse("image_detail", args=[_NO_ID]).partition(str(_NO_ID))
        return cls(
            text={name: escape(str(value)) for name, value in _CARD_TEXT.items()},
            aigc_mark=render_to_string("gallery/_aigc_mark.html"),
            url_head=escape(url_head),
            url_tail=escape(url_tail),
        )


def shortened(text: str, length: int) -> str:
    """The truncatechars filter's result (Truncator.chars), without its walk over every character
    when the text fits: after NFC, a text of at most `length` code points is never cut."""
    normalized = unicodedata.normalize("NFC", text)
    return normalized if len(normalized) <= length else Truncator(normalized).chars(length)


def image_card(
    image: Any, kit: CardKit, *, selectable: bool = False, show_state: bool = False, show_owner: bool = False
) -> SafeString:
    """One picture card of a grid: its link, thumbnail, caption and badges, as HTML."""
    text = kit.text
    image_id = str(image.id)  # a UUID: nothing in it to escape
    url = f"{kit.url_head}{image_id}{kit.url_tail}"
    label = image.prompt or image.get_kind_display()
    parts = [
        f'<figure class="image-card{" selectable" if selectable else ""}" data-testid="image-card" '
        f'data-image-id="{image_id}">'
    ]
    if selectable:
        parts.append(
            f'<label class="select-box" title="{text["select"]}"><input type="checkbox" name="image" '
            f'value="{image_id}" form="bulk-form" data-testid="select-image"><span class="visually-hidden">'
            f"{text['select']}</span></label>"
        )
    parts.append(
        f'<a href="{url}" class="thumb-link"><img src="{escape(media.url(image.thumb_key or image.original_key))}" '
        f'loading="lazy" decoding="async" width="{int(image.width)}" height="{int(image.height)}" '
        f'alt="{escape(shortened(label, 80))}">{kit.aigc_mark}</a>'
        f'<figcaption><span class="caption-text">{escape(shortened(label, 48))}</span><span class="card-badges">'
    )
    if image.is_procedural:
        parts.append(f'<span class="badge offline small" title="{text["offline_title"]}">{text["offline"]}</span>')
    if show_state and image.is_public:
        parts.append(f'<span class="badge small public" title="{text["public_title"]}">{text["public"]}</span>')
    if show_state and image.is_favourite:
        parts.append(f'<span class="fav-mark" title="{text["favourite_title"]}" data-testid="favourite-mark">★</span>')
    derived = int(getattr(image, "derived_count", 0))
    if derived:
        badge = ngettext("+%(n)s derived", "+%(n)s derived", derived) % {"n": derived}
        parts.append(
            f'<a class="badge small derived" href="{url}#derived" data-testid="derived-badge">{escape(badge)}</a>'
        )
    if show_owner:
        parts.append(f'<span class="owner">{escape(image.owner.get_username())}</span>')
    parts.append("</span></figcaption></figure>")
    return mark_safe("".join(parts))  # noqa: S308 - every part above is escaped or a constant
