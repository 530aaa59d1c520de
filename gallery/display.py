"""How stored values read to a person, in their language.

Rows keep stable values (the provider's model ids, the engine's English "made by" label, style
codes); pages show them through here, so a Chinese page never shows `watercolor` or
"Offline engine (procedural)". Values we do not know are shown as they are: they are names.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import forms

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
