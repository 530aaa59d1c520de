"""Two pictures side by side: which two (through the one visibility rule), and what differs
between how they were made."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from . import display
from .models import Image

# (label, how to read it from a picture), in the order the page lists them. A parameter a
# picture does not have reads as "" (shown as a dash).
_PARAMS: list[tuple[Any, str]] = [
    (_("Prompt"), "text"),
    (_("Negative prompt"), "negative_prompt"),
    (_("Seed"), "seed"),
    (_("Steps"), "num_steps"),
    (_("Guidance scale"), "guidance_scale"),
    (_("Sampler"), "sampler"),
    (_("Model"), "version"),
    (_("Super-resolution model"), "sr_model"),
    (_("Strength"), "strength"),
    (_("Style"), "style"),
]


@dataclass(frozen=True)
class Row:
    label: str
    first: str
    second: str

    @property
    def differs(self) -> bool:
        return self.first != self.second


def pair(viewer: AbstractBaseUser, first: UUID, second: UUID) -> tuple[Image, Image] | None:
    """The two pictures in the order asked, if the viewer may see both (else None)."""
    found = {
        image.id: image
        for image in Image.objects.visible_to(viewer).select_related("owner").filter(id__in=[first, second])
    }
    if first not in found or second not in found:
        return None
    return found[first], found[second]


def _param(image: Image, key: str) -> str:
    value = (image.params or {}).get(key)
    if value is None or value == "":
        return ""
    return str(display.parameter_value(key, value))


def _facts(image: Image) -> list[tuple[Any, str]]:
    made = date_format(timezone.localtime(image.created_at), "Y-m-d H:i")
    return [
        (_("Kind"), str(image.get_kind_display())),
        *((label, _param(image, key)) for label, key in _PARAMS),
        (_("Picture size"), f"{image.width}×{image.height}"),
        (_("File size"), str(filesizeformat(image.size_bytes)) if image.size_bytes else ""),
        (_("Made by"), display.made_by(image.made_by)),
        (_("Created"), made),
    ]


def differences(first: Image, second: Image) -> list[Row]:
    """Every fact of the two pictures, row by row; a row neither picture has is left out."""
    rows = []
    for (label, one), (_label, two) in zip(_facts(first), _facts(second), strict=True):
        if one or two:
            rows.append(Row(label=str(label), first=one, second=two))
    return rows
